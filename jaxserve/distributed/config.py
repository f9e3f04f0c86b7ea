"""`DistributedConfig`: the `distributed:` section of a server config (one model, many processes).

Every process runs `jaxserve run` with the same config. Process 0, the leader, serves HTTP and
schedules; the others follow. Keys left out (or null) are read as `jax.distributed.initialize`
reads them: `JAX_COORDINATOR_ADDRESS`, then the cluster's own environment (SLURM, Open MPI,
Kubernetes, Cloud TPU pods).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from jaxserve.errors import JaxserveError


class DistributedConfigError(JaxserveError, ValueError):
    """A `distributed:` section that cannot start: names the key and what it accepts."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class DistributedConfig:
    """How the processes that serve one model find each other.

    Attributes:
        coordinator_address: "host:port" of JAX's coordination service, run by process 0.
        num_processes: processes in the job.
        process_id: this process's rank (0: the leader); `jaxserve run --process-id` sets it
            per process when all share one config file.
        heartbeat_timeout: seconds without a heartbeat after which a process counts as lost:
            the leader reports unhealthy and exits, a follower exits.
        initialization_timeout: seconds to wait for every process to join.
    """

    coordinator_address: str | None = None
    num_processes: int | None = None
    process_id: int | None = None
    heartbeat_timeout: float = 10.0
    initialization_timeout: int = 300

    def __post_init__(self) -> None:
        address = self.coordinator_address
        if address is not None:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise DistributedConfigError(
                    f"distributed.coordinator_address must be 'host:port', got {address!r}"
                )
        if self.num_processes is not None and self.num_processes < 1:
            raise DistributedConfigError(
                f"distributed.num_processes must be at least 1, got {self.num_processes}"
            )
        if self.process_id is not None:
            if self.process_id < 0:
                raise DistributedConfigError(
                    f"distributed.process_id must not be negative, got {self.process_id}"
                )
            if self.num_processes is not None and self.process_id >= self.num_processes:
                raise DistributedConfigError(
                    f"distributed.process_id must be below num_processes={self.num_processes}, "
                    f"got {self.process_id}"
                )
        if self.heartbeat_timeout <= 0:
            raise DistributedConfigError(
                f"distributed.heartbeat_timeout must be positive, got {self.heartbeat_timeout}"
            )
        if self.initialization_timeout < 1:
            raise DistributedConfigError(
                "distributed.initialization_timeout must be at least 1, "
                f"got {self.initialization_timeout}"
            )

    @classmethod
    def from_mapping(cls, data: Any) -> DistributedConfig:
        """Validates the parsed YAML mapping of the section, key by key."""
        if not isinstance(data, dict):
            raise DistributedConfigError(
                f"distributed must be a mapping of keys to values, got {data!r}"
            )
        types = {
            "coordinator_address": (str,),
            "num_processes": (int,),
            "process_id": (int,),
            "heartbeat_timeout": (int, float),
            "initialization_timeout": (int,),
        }
        unknown = sorted(str(k) for k in data if k not in types)
        if unknown:
            raise DistributedConfigError(
                f"unknown distributed key(s) {unknown}; valid keys are {list(types)}"
            )
        for key, value in data.items():
            if value is None and key not in ("heartbeat_timeout", "initialization_timeout"):
                continue
            if isinstance(value, bool) or not isinstance(value, types[key]):
                names = " or ".join("a number" if t is float else t.__name__ for t in types[key])
                raise DistributedConfigError(
                    f"distributed.{key} must be {names}, got {value!r} ({type(value).__name__})"
                )
        return cls(**data)

    def with_process_id(self, process_id: int | None) -> DistributedConfig:
        """This config with `process_id` (from the command line) if given."""
        if process_id is None:
            return self
        return dataclasses.replace(self, process_id=process_id)
