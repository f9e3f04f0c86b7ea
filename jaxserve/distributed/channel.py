"""ZeroMQ sockets between the leader and its followers: each step's call, and heartbeats.

The leader binds two ROUTER sockets; each follower connects a DEALER to each, named by its
process id, and says hello on both before the leader serves.

- Steps: the leader's engine thread sends every runner call to every follower just before
  running it itself, so all processes enter the same jitted step with the same inputs. The
  socket refuses to route to a follower whose connection dropped (`ROUTER_MANDATORY`), so a
  step for a dead follower fails at once instead of waiting in a collective.
- Heartbeats: a thread in each follower sends a beat every `timeout / 5` seconds and the
  leader's monitor thread answers each. A side that hears nothing for `timeout` seconds calls
  its `on_lost` with a message naming the silent process. Beats run beside the steps, so a
  long compile or a stuck collective does not stop them.

Each socket is used by one thread at a time: the steps socket by the thread that set it up
and then the engine thread (a follower: its main loop), the beats socket by its thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

import zmq

logger = logging.getLogger(__name__)

HELLO = b"hello"
BEAT = b"beat"


class PeerLost(RuntimeError):
    """A process of the job stopped answering or dropped its connection."""


class _Channel:
    """What both ends share: the ZeroMQ context, the timeout and the heartbeat thread."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._context = zmq.Context()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def _start(
        self, target: Callable[[Callable[[str], None]], None], on_lost: Callable[[str], None]
    ) -> None:
        self._thread = threading.Thread(
            target=target, args=(on_lost,), name="jaxserve-heartbeats", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stops the heartbeat thread (within a fifth of the timeout) and closes the sockets."""
        self._stopped.set()
        if self._thread not in (None, threading.current_thread()):
            self._thread.join()
        self._context.destroy(linger=0)


class LeaderChannel(_Channel):
    """The leader's end: binds both sockets on `host` (any free ports)."""

    def __init__(self, host: str, num_followers: int, *, timeout: float):
        super().__init__(timeout)
        self.num_followers = num_followers
        self._steps = self._router()
        self._beats = self._router()
        bind = "*" if host in ("0.0.0.0", "") else host
        step_port = self._steps.bind_to_random_port(f"tcp://{bind}")
        beat_port = self._beats.bind_to_random_port(f"tcp://{bind}")
        self.address = f"{host}:{step_port}:{beat_port}"
        self.lost: str | None = None
        self._followers: list[bytes] = []

    def _router(self) -> zmq.Socket:
        socket = self._context.socket(zmq.ROUTER)
        socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
        socket.setsockopt(zmq.LINGER, 0)
        return socket

    def wait_for_followers(self, wait: float) -> None:
        """Returns once every follower said hello on both sockets; PeerLost after `wait` s."""
        for socket, name in ((self._steps, "steps"), (self._beats, "heartbeats")):
            seen: set[bytes] = set()
            deadline = time.monotonic() + wait
            while len(seen) < self.num_followers:
                left = deadline - time.monotonic()
                if left <= 0 or not socket.poll(left * 1000):
                    missing = sorted(set(range(1, self.num_followers + 1)) - {int(p) for p in seen})
                    raise PeerLost(
                        f"follower process(es) {missing} did not connect to the leader's "
                        f"{name} socket within {wait:.0f} s"
                    )
                identity, message = socket.recv_multipart()
                if message == HELLO:
                    seen.add(identity)
        self._followers = sorted(seen, key=int)

    def send(self, payload: bytes) -> None:
        """Sends `payload` to every follower; PeerLost if one is gone."""
        if self.lost is not None:
            raise PeerLost(self.lost)
        for identity in self._followers:
            try:
                self._steps.send_multipart([identity, payload])
            except zmq.ZMQError as e:
                raise PeerLost(
                    f"follower process {int(identity)} dropped its connection ({e})"
                ) from e

    def watch(self, on_lost: Callable[[str], None]) -> None:
        """Starts the monitor thread: answers beats, calls `on_lost(message)` once on a loss."""
        self._start(self._monitor, on_lost)

    def _monitor(self, on_lost: Callable[[str], None]) -> None:
        last = {identity: time.monotonic() for identity in self._followers}
        while not self._stopped.is_set():
            if self._beats.poll(self.timeout * 200):  # ms: a fifth of the timeout
                identity, message = self._beats.recv_multipart()
                if identity in last and message == BEAT:
                    last[identity] = time.monotonic()
                    with contextlib.suppress(zmq.ZMQError):  # it just dropped: silence tells
                        self._beats.send_multipart([identity, BEAT])
            silent = [i for i, t in last.items() if time.monotonic() - t > self.timeout]
            if silent:
                processes = ", ".join(str(int(i)) for i in silent)
                self.lost = (
                    f"lost follower process {processes}: no heartbeat for {self.timeout:g} s "
                    "(it exited, was killed, or its host is unreachable)"
                )
                on_lost(self.lost)
                return


class FollowerChannel(_Channel):
    """A follower's end: connects to the leader's `address` ("host:step_port:beat_port")."""

    def __init__(self, address: str, process_id: int, *, timeout: float):
        super().__init__(timeout)
        host, step_port, beat_port = address.rsplit(":", 2)
        self.process_id = process_id
        identity = str(process_id).encode()
        self._steps = self._dealer(identity, f"tcp://{host}:{step_port}")
        self._beats = self._dealer(identity, f"tcp://{host}:{beat_port}")
        self._steps.send(HELLO)
        self._beats.send(HELLO)

    def _dealer(self, identity: bytes, endpoint: str) -> zmq.Socket:
        socket = self._context.socket(zmq.DEALER)
        socket.setsockopt(zmq.IDENTITY, identity)
        socket.setsockopt(zmq.LINGER, 0)
        socket.connect(endpoint)
        return socket

    def recv(self) -> bytes:
        """The next call from the leader (blocks until one comes)."""
        return self._steps.recv()

    def beat(self, on_lost: Callable[[str], None]) -> None:
        """Starts the heartbeat thread; it calls `on_lost(message)` once if the leader goes
        silent."""
        self._start(self._beat, on_lost)

    def _beat(self, on_lost: Callable[[str], None]) -> None:
        interval = self.timeout / 5
        heard = time.monotonic()
        while not self._stopped.is_set():
            self._beats.send(BEAT)
            deadline = time.monotonic() + interval
            while (left := deadline - time.monotonic()) > 0:
                if self._beats.poll(left * 1000) and self._beats.recv() == BEAT:
                    heard = time.monotonic()
            if time.monotonic() - heard > self.timeout and not self._stopped.is_set():
                on_lost(
                    f"lost the leader (process 0): no heartbeat for {self.timeout:g} s "
                    "(it exited, was killed, or its host is unreachable)"
                )
                return
