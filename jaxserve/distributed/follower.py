"""A follower: holds its shards of the model and runs each step the leader sends.

It builds the same `LLM` as the leader (the same config), so its params, KV cache and compiled
programs match; then it runs `follow`: every call that arrives on the channel goes to its own
`ModelRunner`, whose collectives meet the leader's. It serves nothing itself. It returns when
the leader says stop, and exits (status `EXIT_PEER_LOST`) when the leader goes silent.
"""

from __future__ import annotations

import logging
import os

from jaxserve.distributed.channel import FollowerChannel
from jaxserve.distributed.codec import StopCall, decode_call
from jaxserve.distributed.leader import EXIT_PEER_LOST
from jaxserve.distributed.runtime import Cluster, share_address
from jaxserve.llm import LLM

logger = logging.getLogger(__name__)


def follow(llm: LLM, cluster: Cluster) -> None:
    """Runs the leader's steps on `llm`'s runner until the leader stops."""
    address = share_address(None)
    channel = FollowerChannel(address, cluster.process_id, timeout=cluster.heartbeat_timeout)
    channel.beat(_exit_lost)
    logger.info("process %d follows the leader at %s", cluster.process_id, address)
    runner = llm.runner
    steps = 0
    while not isinstance(call := decode_call(channel.recv()), StopCall):
        try:
            runner.execute(call.chunks, call.sampling, call.mode)
        except Exception:  # the leader's copy of the step failed too; go on if the cache did
            logger.exception("step %d failed on process %d", steps, cluster.process_id)
            if not runner.usable():
                _exit_lost(f"process {cluster.process_id} lost its KV cache in a failed step")
        steps += 1
    logger.info("the leader stopped after %d steps; process %d returns", steps, cluster.process_id)
    channel.close()


def _exit_lost(message: str) -> None:
    logger.critical("%s; exiting with status %d", message, EXIT_PEER_LOST)
    logging.shutdown()
    os._exit(EXIT_PEER_LOST)  # skips JAX's shutdown barrier, which would wait for the lost one
