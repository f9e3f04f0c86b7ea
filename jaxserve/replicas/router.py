"""`Router`: which replica serves a request, by shared prefix (or round-robin) under a load bound.

Prefix-aware routing keys a request by chained hashes of its prompt text in fixed-size blocks
(`prefix_hashes`), the text counterpart of the engine's chained page hashes. The router
remembers which replica each block chain was last sent to; a new request goes to the replica
that holds its longest known prefix, so requests sharing a prefix meet the pages that prefix
left in one replica's cache. A request with no known prefix goes, among the replicas within
the load bound, to the one that is home to the fewest blocks, so new prefixes spread evenly
over the replicas' caches whatever the timing of the requests.

The load bound follows consistent hashing with bounded loads: the preferred replica takes a
request while its in-flight count stays within `load_factor` times the average, or within
`batch_size` (a replica batches that many requests at about the cost of one, so imbalance
below it costs little while a spill costs the other replica's cached pages); past both the
least-loaded replica takes it if it has a batch slot free, and the prefix keeps its home (one
burst does not move it). When every replica's batch is full the request waits at its home,
where its pages are: a spill would start it no sooner and would evict another prefix.

Pure Python, no I/O: the front app (`jaxserve.replicas.app`) calls `pick`, then `release`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

ROUTING_POLICIES = ("prefix", "round_robin")
BLOCK_CHARS = 64  # text per prefix block: a few KV pages of a typical BPE tokenizer
MAX_REMEMBERED_BLOCKS = 1 << 16


class NoReplicaError(RuntimeError):
    """Every replica is down (restarting): nothing can take the request now."""


def prompt_text(body: Any) -> str:
    """The text a request's prefix is read from: its prompt, or its messages in order.

    Completions take `prompt` (a string, token ids, or a list of them: the first one); chats
    take `messages` (role and content of each, as JSON so images' URLs count too). Anything
    else keys as empty text, which routes by load alone.
    """
    if not isinstance(body, dict):
        return ""
    if "messages" in body:
        messages = body["messages"]
        if not isinstance(messages, list):
            return ""
        return "".join(
            json.dumps([m.get("role"), m.get("content")], separators=(",", ":"))
            for m in messages
            if isinstance(m, dict)
        )
    prompt = body.get("prompt")
    if isinstance(prompt, list) and prompt and not isinstance(prompt[0], int):
        prompt = prompt[0]  # a batch of prompts: the first one picks the replica
    if isinstance(prompt, list):
        return ",".join(str(t) for t in prompt)
    return prompt if isinstance(prompt, str) else ""


def prefix_hashes(text: str, *, block_chars: int = BLOCK_CHARS) -> list[bytes]:
    """Chained hashes of `text`'s whole blocks: entry i covers text[: (i + 1) * block_chars]."""
    hashes: list[bytes] = []
    previous = b""
    for start in range(0, len(text) - block_chars + 1, block_chars):
        block = text[start : start + block_chars].encode()
        previous = hashlib.blake2b(previous + block, digest_size=16).digest()
        hashes.append(previous)
    return hashes


class Router:
    """Picks a replica index for each request and counts what each has in flight.

    Args:
        num_replicas: replicas, indexed 0..num_replicas-1.
        policy: "prefix" (longest known prefix, else least loaded) or "round_robin".
        load_factor: the most in-flight requests a preferred replica may hold, as a multiple
            of the average (counting the new request); at least 1.
        batch_size: in-flight requests a preferred replica may always hold (the replicas'
            `max_num_seqs`).
    """

    def __init__(
        self,
        num_replicas: int,
        policy: str = "prefix",
        *,
        load_factor: float = 1.5,
        batch_size: int = 1,
    ):
        if num_replicas < 1:
            raise ValueError(f"num_replicas must be at least 1, got {num_replicas}")
        if policy not in ROUTING_POLICIES:
            raise ValueError(f"policy must be one of {list(ROUTING_POLICIES)}, got {policy!r}")
        if load_factor < 1:
            raise ValueError(f"load_factor must be at least 1, got {load_factor}")
        self.policy = policy
        self.load_factor = load_factor
        self.batch_size = max(1, batch_size)
        self.in_flight = [0] * num_replicas
        self.up = [True] * num_replicas
        self._turns = itertools.cycle(range(num_replicas))
        self._homes: OrderedDict[bytes, int] = OrderedDict()  # block chain -> replica (LRU)
        self.blocks_held = [0] * num_replicas  # blocks whose home each replica is

    @property
    def num_replicas(self) -> int:
        return len(self.in_flight)

    def set_up(self, replica: int, up: bool) -> None:
        """Marks a replica as serving (True) or down and restarting (False)."""
        self.up[replica] = up

    def pick(self, hashes: Sequence[bytes] = (), *, exclude: Sequence[int] = ()) -> int:
        """The replica for a request with these prefix hashes; counts it as in flight there.

        Raises:
            NoReplicaError: no replica is up outside `exclude`.
        """
        candidates = [i for i in range(self.num_replicas) if self.up[i] and i not in exclude]
        if not candidates:
            raise NoReplicaError("no replica is up")
        if self.policy == "round_robin":
            choice = self._next_turn(candidates)
        else:
            choice = self._by_prefix(hashes, candidates)
        self.in_flight[choice] += 1
        return choice

    def release(self, replica: int) -> None:
        """A request picked for `replica` has finished (or failed) there."""
        self.in_flight[replica] = max(0, self.in_flight[replica] - 1)

    def _next_turn(self, candidates: list[int]) -> int:
        for _ in range(self.num_replicas):
            turn = next(self._turns)
            if turn in candidates:
                return turn
        return candidates[0]  # unreachable: candidates is a non-empty subset of the turns

    def _by_prefix(self, hashes: Sequence[bytes], candidates: list[int]) -> int:
        cap = self._load_cap(candidates)
        home = self._longest_home(hashes, candidates)
        if home is not None and self.in_flight[home] + 1 <= cap:
            self._remember(hashes, home)
            return home
        if home is not None:
            # Over the bound: spill where a batch slot is free, and the prefix keeps its home;
            # with every batch full the request waits at home, where its pages are.
            least = min(candidates, key=lambda i: (self.in_flight[i], i))
            if self.in_flight[least] < self.batch_size:
                return least
            self._remember(hashes, home)
            return home
        within = [i for i in candidates if self.in_flight[i] + 1 <= cap]
        emptiest = min(within, key=lambda i: (self.blocks_held[i], self.in_flight[i], i))
        self._remember(hashes, emptiest)
        return emptiest

    def _longest_home(self, hashes: Sequence[bytes], candidates: list[int]) -> int | None:
        for block in reversed(hashes):
            home = self._homes.get(block)
            if home is not None and home in candidates:
                return home
        return None

    def _load_cap(self, candidates: list[int]) -> int:
        total = sum(self.in_flight[i] for i in candidates) + 1
        return max(self.batch_size, math.ceil(self.load_factor * total / len(candidates)))

    def _remember(self, hashes: Sequence[bytes], replica: int) -> None:
        for block in hashes:
            previous = self._homes.get(block)
            if previous is not None:
                self.blocks_held[previous] -= 1
            self._homes[block] = replica
            self._homes.move_to_end(block)
            self.blocks_held[replica] += 1
        while len(self._homes) > MAX_REMEMBERED_BLOCKS:
            _, evicted = self._homes.popitem(last=False)
            self.blocks_held[evicted] -= 1
