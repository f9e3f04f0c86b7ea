"""The leader's channel: calls reach every follower; silence and dropped peers are found."""

from __future__ import annotations

import threading
import time

import pytest

from jaxserve.distributed.channel import FollowerChannel, LeaderChannel, PeerLost


def _connected(num_followers: int, timeout: float = 5.0):
    leader = LeaderChannel("127.0.0.1", num_followers, timeout=timeout)
    followers = [
        FollowerChannel(leader.address, p, timeout=timeout) for p in range(1, num_followers + 1)
    ]
    leader.wait_for_followers(5)
    return leader, followers


def _lost_event():
    messages: list[str] = []
    event = threading.Event()

    def on_lost(message: str) -> None:
        messages.append(message)
        event.set()

    return on_lost, event, messages


def test_every_follower_receives_each_call_in_order():
    leader, followers = _connected(2)
    try:
        for payload in (b"first", b"second" * 1000):
            leader.send(payload)
        for follower in followers:
            assert [follower.recv(), follower.recv()] == [b"first", b"second" * 1000]
    finally:
        for channel in (leader, *followers):
            channel.close()


def test_a_follower_that_never_connects_is_named():
    leader = LeaderChannel("127.0.0.1", 2, timeout=5)
    follower = FollowerChannel(leader.address, 1, timeout=5)
    try:
        with pytest.raises(PeerLost, match=r"follower process\(es\) \[2\] did not connect"):
            leader.wait_for_followers(0.5)
    finally:
        follower.close()
        leader.close()


def test_the_leader_names_a_follower_that_stops_beating():
    leader, (first, second) = _connected(2, timeout=0.5)
    on_lost, lost, messages = _lost_event()
    leader.watch(on_lost)
    first.beat(lambda message: None)
    second.beat(lambda message: None)
    time.sleep(1.0)  # several timeouts: beats keep both alive
    assert not lost.is_set()
    second.close()
    assert lost.wait(5)
    assert messages == [
        "lost follower process 2: no heartbeat for 0.5 s "
        "(it exited, was killed, or its host is unreachable)"
    ]
    with pytest.raises(PeerLost, match="lost follower process 2"):
        leader.send(b"step")  # the engine's next step fails instead of waiting
    first.close()
    leader.close()


def test_a_follower_finds_the_leader_gone():
    leader, (follower,) = _connected(1, timeout=0.5)
    leader.watch(lambda message: None)
    on_lost, lost, messages = _lost_event()
    follower.beat(on_lost)
    time.sleep(1.0)
    assert not lost.is_set()
    leader.close()
    assert lost.wait(5)
    assert messages[0].startswith("lost the leader (process 0): no heartbeat for 0.5 s")
    follower.close()


def test_sending_to_a_follower_whose_connection_dropped_fails():
    leader, (follower,) = _connected(1)
    follower.close()
    deadline = time.monotonic() + 5
    with pytest.raises(PeerLost, match="follower process 1 dropped its connection"):
        while time.monotonic() < deadline:  # the drop reaches the leader's socket shortly
            leader.send(b"step")
            time.sleep(0.05)
    leader.close()
