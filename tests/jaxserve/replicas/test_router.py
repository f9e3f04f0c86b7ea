"""The routing policy: prefix affinity, the load bound, round-robin, down replicas."""

from __future__ import annotations

import random

import pytest

from jaxserve.replicas.router import (
    BLOCK_CHARS,
    ROUTING_POLICIES,
    NoReplicaError,
    Router,
    prefix_hashes,
    prompt_text,
)
from jaxserve.server.config import CHOICES


def hashes(text: str) -> list[bytes]:
    return prefix_hashes(text, block_chars=8)


def test_prefix_hashes_chain_whole_blocks():
    a = prefix_hashes("x" * 20, block_chars=8)
    b = prefix_hashes("x" * 16 + "yyyy", block_chars=8)
    c = prefix_hashes("y" + "x" * 19, block_chars=8)
    assert len(a) == 2 and a == b  # the partial block is not hashed
    assert a[0] != a[1]  # chained: the second covers both blocks
    assert not set(a) & set(c)  # a different first block changes every hash
    assert prefix_hashes("short") == []
    assert len(prefix_hashes("z" * BLOCK_CHARS)) == 1


def test_prompt_text_reads_prompts_and_messages():
    assert prompt_text({"prompt": "hello"}) == "hello"
    assert prompt_text({"prompt": ["first", "second"]}) == "first"
    assert prompt_text({"prompt": [5, 6, 7]}) == "5,6,7"
    assert prompt_text({"prompt": [[5, 6], [7]]}) == "5,6"
    chat = prompt_text({"messages": [{"role": "system", "content": "be brief"}]})
    assert "system" in chat and "be brief" in chat
    longer = prompt_text(
        {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]}
    )
    assert longer.startswith(chat)  # a conversation's turns extend its prefix
    assert prompt_text(None) == prompt_text({"messages": 3}) == prompt_text({}) == ""


def test_shared_prefixes_stick_to_one_replica():
    router = Router(2)
    prefixes = [f"prefix {i} " * 4 for i in range(6)]
    homes = {}
    for i, prefix in enumerate(prefixes):
        homes[prefix] = router.pick(hashes(prefix + f"question {i}"))
        router.release(homes[prefix])
    assert sorted(homes.values()) == [0, 0, 0, 1, 1, 1]  # new prefixes balance the replicas
    rng = random.Random(0)
    for n in range(40):
        prefix = rng.choice(prefixes)
        replica = router.pick(hashes(prefix + f"another question {n}"))
        router.release(replica)
        assert replica == homes[prefix]


def test_new_prefixes_spread_evenly_whatever_the_timing():
    """A long request holds one replica while short ones come one at a time: least-loaded
    alone would send every new prefix to the other replica."""
    router = Router(2)
    long_one = router.pick(hashes("a long request's own prefix"))
    homes = [long_one]
    for i in range(7):
        homes.append(router.pick(hashes(f"{i}: a prefix of its own " * 2)))
        router.release(homes[-1])
    assert sorted(homes) == [0, 0, 0, 0, 1, 1, 1, 1]


def test_longest_known_prefix_wins():
    router = Router(2)
    first = router.pick(hashes("a" * 16 + "b" * 16))
    router.release(first)
    router.set_up(first, False)  # "a" * 16 + "c" * 16 moves the "a" blocks elsewhere
    second = router.pick(hashes("a" * 16 + "c" * 16))
    router.release(second)
    router.set_up(first, True)
    assert first != second
    assert router.pick(hashes("a" * 16 + "d" * 16)) == second  # "a" was last sent there
    router.release(second)
    assert router.pick(hashes("a" * 16 + "b" * 16 + "x" * 8)) == first  # "a" + "b" was not


def test_a_busy_home_spills_to_the_least_loaded_and_keeps_its_prefix():
    router = Router(2, load_factor=1.5)
    key = hashes("p" * 32)
    home = router.pick(key)
    picks = [router.pick(key) for _ in range(5)]  # none released: load piles up
    assert picks.count(home) < len(picks)  # the bound sent some elsewhere
    assert max(router.in_flight) <= 1.5 * sum(router.in_flight) / 2 + 1
    for replica, count in enumerate(list(router.in_flight)):
        for _ in range(count):
            router.release(replica)
    assert router.in_flight == [0, 0]
    assert router.pick(key) == home  # the spill did not move the prefix's home


def test_a_home_takes_a_whole_batch_before_it_spills():
    router = Router(2, load_factor=1.5, batch_size=4)
    key = hashes("b" * 32)
    picks = [router.pick(key) for _ in range(5)]  # none released
    home = picks[0]
    assert picks[:4] == [home] * 4  # 4 in flight against 0: still within one batch
    assert picks[4] == 1 - home  # past the batch and 1.5x the average (3.75): spill


def test_with_every_batch_full_a_request_waits_at_its_home():
    router = Router(2, load_factor=1.5, batch_size=2)
    a, b = hashes("a" * 32), hashes("b" * 32)
    home_a, home_b = router.pick(a), router.pick(b)
    router.pick(b)
    assert home_a != home_b and router.in_flight[home_b] == 2  # the other batch is full
    assert [router.pick(a) for _ in range(12)] == [home_a] * 12  # far past the load bound
    router.release(home_b)
    assert router.pick(a) == home_b  # a free slot there: now it spills


def test_round_robin_ignores_prefixes():
    router = Router(3, "round_robin")
    key = hashes("same prefix for everyone")
    picks = []
    for _ in range(6):
        picks.append(router.pick(key))
        router.release(picks[-1])
    assert picks == [0, 1, 2, 0, 1, 2]


@pytest.mark.parametrize("policy", ROUTING_POLICIES)
def test_down_replicas_get_nothing_until_back(policy):
    router = Router(2, policy)
    key = hashes("q" * 32)
    home = router.pick(key)
    router.release(home)
    router.set_up(home, False)
    for _ in range(4):
        replica = router.pick(key)
        router.release(replica)
        assert replica == 1 - home
    router.set_up(1 - home, False)
    with pytest.raises(NoReplicaError):
        router.pick(key)
    router.set_up(home, True)
    assert router.pick(key) == home


def test_release_never_goes_negative():
    router = Router(1)
    router.release(0)
    assert router.in_flight == [0]


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match="policy"):
        Router(2, "random")
    with pytest.raises(ValueError, match="num_replicas"):
        Router(0)
    with pytest.raises(ValueError, match="load_factor"):
        Router(2, load_factor=0.5)


def test_config_offers_the_router_policies():
    assert CHOICES["routing"] == ROUTING_POLICIES
