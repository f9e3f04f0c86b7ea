"""The leader: serves HTTP and schedules; sends every step to the followers before running it.

`lead` shares the channel's address with the followers (a JAX collective), waits for each to
connect, and puts a `LeaderRunner` under the engine. From then on every `execute` the engine
thread makes goes out on the channel first, so the followers enter the same jitted step with
the same inputs while the leader does; the step's collectives join them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence

import numpy as np

from jaxserve.distributed.channel import LeaderChannel, PeerLost
from jaxserve.distributed.codec import encode_execute, encode_stop
from jaxserve.distributed.runtime import Cluster, leader_host, share_address
from jaxserve.engine.packing import SequenceChunk
from jaxserve.engine.runner import ModelRunner
from jaxserve.engine.sampling_rows import SampledTokens
from jaxserve.llm import LLM
from jaxserve.model.sampling_mode import SamplingMode

logger = logging.getLogger(__name__)

EXIT_PEER_LOST = 3


class LeaderRunner:
    """The engine's runner on the leader: each step goes to every follower, then runs here."""

    def __init__(self, runner: ModelRunner, channel: LeaderChannel):
        self.runner = runner
        self.channel = channel
        self.num_pages = runner.num_pages
        self.page_size = runner.page_size

    def execute(
        self,
        chunks: Sequence[SequenceChunk],
        sampling: dict[str, np.ndarray],
        mode: SamplingMode,
    ) -> SampledTokens:
        self.channel.send(encode_execute(chunks, sampling, mode))
        return self.runner.execute(chunks, sampling, mode)

    def usable(self) -> bool:
        return self.channel.lost is None and self.runner.usable()


class Leader:
    """The leader's side of the job once its followers are connected."""

    def __init__(self, channel: LeaderChannel):
        self.channel = channel

    def watch(self, fail: Callable[[str], None], *, grace: float = 2.0) -> None:
        """On a lost follower: logs it, calls `fail(message)` (the server turns unhealthy and
        ends its streams), and exits the process `grace` seconds later with status
        `EXIT_PEER_LOST`. A collective may hold the engine thread, so no orderly shutdown
        can be counted on."""

        def lost(message: str) -> None:
            logger.critical("%s; the server stops", message)
            fail(message)
            threading.Timer(grace, _exit, args=(message,)).start()

        self.channel.watch(lost)

    def stop(self) -> None:
        """Tells the followers to return, then closes the channel."""
        try:
            self.channel.send(encode_stop())
        except PeerLost as e:
            logger.warning("could not stop every follower: %s", e)
        self.channel.close()


def lead(llm: LLM, cluster: Cluster) -> Leader:
    """Connects the followers (each calls `follow`) and routes `llm`'s steps through them."""
    channel = LeaderChannel(
        leader_host(cluster), cluster.num_processes - 1, timeout=cluster.heartbeat_timeout
    )
    share_address(channel.address)
    channel.wait_for_followers(cluster.initialization_timeout)
    logger.info("leading %d follower(s) over %s", cluster.num_processes - 1, channel.address)
    llm.engine.runner = LeaderRunner(llm.runner, channel)
    return Leader(channel)


def _exit(message: str) -> None:
    logger.critical("%s; exiting with status %d", message, EXIT_PEER_LOST)
    logging.shutdown()
    os._exit(EXIT_PEER_LOST)  # skips JAX's shutdown barrier, which would wait for the lost one
