"""Replicas as Ray actors: each runs a whole jaxserve server on its own loopback port.

`ReplicaServer` is the actor's body: it builds the `LLM`, starts the usual Starlette app on
uvicorn in a thread of the actor's process, and answers `address()` with its URL. Ray restarts
an actor whose process dies (`max_restarts=-1`) by running its constructor again, so a restarted
replica comes back on a new port; `ReplicaSet.recover` asks the actor again, and that call waits
(`max_task_retries=-1`) until the constructor has finished. Ray is imported only here, lazily.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import threading
import time
from types import ModuleType
from typing import Any

from jaxserve.errors import JaxserveError
from jaxserve.server.config import ServerConfig

logger = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'jaxserve[ray]'"
STARTUP_TIMEOUT_S = 600.0  # loading and compiling a large model on a cold cache


class ReplicasUnavailable(JaxserveError):
    """Replicas were asked for where Ray is not installed, or they could not start."""


def require_ray() -> ModuleType:
    """The `ray` module, or an error that says how to install the extra (Ray, and httpx for
    the front)."""
    try:
        import httpx  # noqa: F401 -- the front's client comes with the same extra
        import ray
    except ImportError as e:
        raise ReplicasUnavailable(
            f"replicas > 1 runs its replicas on Ray, and {e.name} is not installed: {INSTALL_HINT}"
        ) from None
    return ray


class ReplicaServer:
    """One replica: a jaxserve server on 127.0.0.1 and a free port, in this (actor) process.

    Args:
        config: the served config; host, port, replicas and webui are overridden (a replica
            is reached through the front only, and serves the API alone).
        llm_options: keyword arguments of `jaxserve.LLM` beside the config's (tests pass
            `warmup=False` or `num_pages`).
    """

    def __init__(self, config: ServerConfig, llm_options: dict[str, Any] | None = None):
        from jaxserve import LLM
        from jaxserve.server.app import create_app, uvicorn_server

        config = dataclasses.replace(config, host="127.0.0.1", port=0, webui=False, replicas=1)
        # The front logs every client request; here each line would be its health poll.
        logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
        llm = LLM(config.model, **{**config.llm_kwargs(), **(llm_options or {})})
        self._server = uvicorn_server(create_app(llm, config), config)
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the replica's server did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self._url = f"http://127.0.0.1:{port}"

    def address(self) -> str:
        """The replica's base URL, e.g. http://127.0.0.1:43121."""
        return self._url

    def pid(self) -> int:
        """The actor's process id (tests kill it)."""
        return os.getpid()


class ReplicaSet:
    """`num_replicas` replica actors on the current Ray cluster, and their URLs.

    Call `ray.init()` first (or let `serve_replicas` do it); `shutdown` kills the actors.

    Args:
        config: what every replica serves.
        llm_options: extra `jaxserve.LLM` keyword arguments for every replica.
        num_cpus: CPUs Ray reserves for each replica.
        num_gpus: GPUs Ray reserves for each replica.
    """

    def __init__(
        self,
        config: ServerConfig,
        *,
        llm_options: dict[str, Any] | None = None,
        num_cpus: float = 1,
        num_gpus: float = 0,
    ):
        self._ray = require_ray()
        actor_class = self._ray.remote(
            num_cpus=num_cpus, num_gpus=num_gpus, max_restarts=-1, max_task_retries=-1
        )(ReplicaServer)
        self.actors = [actor_class.remote(config, llm_options) for _ in range(config.replicas)]
        logger.info("starting %d replicas of %r on Ray", config.replicas, config.model_name)
        try:
            refs = [actor.address.remote() for actor in self.actors]
            self.urls: list[str] = self._ray.get(refs, timeout=STARTUP_TIMEOUT_S)
        except Exception as e:
            self.shutdown()
            raise ReplicasUnavailable(f"the replicas did not start: {e}") from e
        logger.info("replicas up at %s", ", ".join(self.urls))

    async def recover(self, index: int) -> str:
        """The URL of replica `index` once it serves again (waits out a restart by Ray)."""
        ref = self.actors[index].address.remote()
        url = await asyncio.to_thread(self._ray.get, ref, timeout=STARTUP_TIMEOUT_S)
        self.urls[index] = url
        return url

    def pid(self, index: int) -> int:
        """The process id of replica `index`."""
        return self._ray.get(self.actors[index].pid.remote(), timeout=STARTUP_TIMEOUT_S)

    def restart(self, index: int) -> None:
        """Kills replica `index`'s process as a crash would; Ray starts a new one."""
        self._ray.kill(self.actors[index], no_restart=False)

    def shutdown(self) -> None:
        """Kills every replica for good."""
        for actor in self.actors:
            self._ray.kill(actor, no_restart=True)
