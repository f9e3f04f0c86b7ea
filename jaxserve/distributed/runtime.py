"""Joining the job: `jax.distributed` for the mesh, and the leader's channel address for all.

`join` must run before anything touches a JAX backend: it picks gloo for CPU collectives and
starts JAX's coordination service (process 0) or connects to it. Afterwards `jax.devices()`
lists every process's devices, so the mesh `LLM` builds spans them all.
"""

from __future__ import annotations

import dataclasses
import logging
import socket

import jax
import numpy as np
from jax.experimental import multihost_utils

from jaxserve.distributed.config import DistributedConfig, DistributedConfigError

logger = logging.getLogger(__name__)

_ADDRESS_BYTES = 256


@dataclasses.dataclass(frozen=True)
class Cluster:
    """This process's place in the job."""

    process_id: int
    num_processes: int
    coordinator_host: str | None  # None: JAX found the coordinator in the cluster's environment
    heartbeat_timeout: float
    initialization_timeout: int

    @property
    def is_leader(self) -> bool:
        return self.process_id == 0


def join(config: DistributedConfig) -> Cluster:
    """Initializes `jax.distributed` as `config` says (missing keys: from the environment).

    Raises:
        DistributedConfigError: JAX could not place this process in a job.
    """
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        jax.distributed.initialize(
            coordinator_address=config.coordinator_address,
            num_processes=config.num_processes,
            process_id=config.process_id,
            initialization_timeout=config.initialization_timeout,
            # A lost process is found by our heartbeats; the shutdown barrier then has no
            # reason to wait long for it.
            shutdown_timeout_seconds=10,
        )
    except (ValueError, RuntimeError, TypeError) as e:
        raise DistributedConfigError(f"could not join the distributed job: {e}") from e
    cluster = Cluster(
        process_id=jax.process_index(),
        num_processes=jax.process_count(),
        coordinator_host=(
            config.coordinator_address.rpartition(":")[0] if config.coordinator_address else None
        ),
        heartbeat_timeout=config.heartbeat_timeout,
        initialization_timeout=config.initialization_timeout,
    )
    logger.info(
        "process %d of %d joined; %d devices in all, %d here",
        cluster.process_id,
        cluster.num_processes,
        jax.device_count(),
        jax.local_device_count(),
    )
    return cluster


def leader_host(cluster: Cluster) -> str:
    """Where followers reach the leader: the coordinator's host, or this host's address."""
    if cluster.coordinator_host:
        return cluster.coordinator_host.strip("[]")
    return socket.gethostbyname(socket.gethostname())


def share_address(address: str | None) -> str:
    """The leader's `address` on every process (a collective: all processes call it)."""
    raw = np.zeros(_ADDRESS_BYTES, np.uint8)
    if address is not None:
        encoded = address.encode()
        if len(encoded) > _ADDRESS_BYTES:
            raise ValueError(f"address too long to share: {address!r}")
        raw[: len(encoded)] = np.frombuffer(encoded, np.uint8)
    shared = np.asarray(multihost_utils.broadcast_one_to_all(raw))
    return bytes(shared).rstrip(b"\0").decode()
