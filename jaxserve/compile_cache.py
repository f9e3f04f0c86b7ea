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


def executable_dir(cache_dir: str | os.PathLike[str] | None) -> Path | None:
    """Where serialized step executables live beside the XLA cache (None: nowhere)."""
    return None if cache_dir is None else Path(cache_dir) / "executables"


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
