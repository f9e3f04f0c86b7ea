"""JAX's persistent compilation cache, so a second start skips compiling the step."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import jax

logger = logging.getLogger(__name__)

ENV_VAR = "JAXSERVE_COMPILATION_CACHE"


def default_cache_dir() -> str | None:
    """`$JAXSERVE_COMPILATION_CACHE` ("" turns the cache off), else ~/.cache/jaxserve/xla."""
    if ENV_VAR in os.environ:
        return os.environ[ENV_VAR] or None
    return str(Path.home() / ".cache" / "jaxserve" / "xla")


EXECUTABLES_ENV_VAR = "JAXSERVE_EXECUTABLE_STORE"


def executable_dir() -> Path | None:
    """`$JAXSERVE_EXECUTABLE_STORE`: a directory for serialized step executables, or None.

    Opt-in: with jax 0.10.2 on CPU some deserialized programs failed at run time ("Function
    ... not found"), so by default a second start relies on JAX's persistent cache alone.
    """
    path = os.environ.get(EXECUTABLES_ENV_VAR)
    return Path(path) if path else None


def enable_compilation_cache(path: str | os.PathLike[str] | None) -> None:
    """Points JAX's persistent cache at `path` (None leaves the current setting alone)."""
    if path is None:
        return
    path = os.fspath(path)
    if getattr(jax.config, "jax_compilation_cache_dir", None) == path:
        return
    Path(path).mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    # Every step program is worth keeping: the bar is a fast second start.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    logger.info("compilation cache: %s", path)
