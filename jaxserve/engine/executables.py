"""Compiled step programs, kept in memory and on disk: a second start neither compiles nor traces.

JAX's persistent compilation cache skips XLA's compile but still traces and lowers every
program to find its key (a few hundred ms per shape bucket for a 30-layer model). This store
keeps the compiled executables themselves, serialized, under a key made of everything that
shapes the program: the jax and jaxlib versions, the devices and mesh, the model config, the
parameter and cache layouts, a digest of jaxserve's own source, and the step's static
arguments and input shapes. A changed anything is a different file, never a wrong program.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import tempfile
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

import jax
from jax.experimental import serialize_executable

logger = logging.getLogger(__name__)

_SOURCE_PACKAGES = ("jaxserve", "pallas_kernels", "platforms")


@functools.cache
def source_digest() -> str:
    """sha256 over the Python source of the packages that build step programs."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for package in _SOURCE_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def layout_fingerprint(*trees) -> str:
    """Shapes, dtypes and shardings of pytrees of arrays, as a stable string."""
    parts = []
    for tree in trees:
        for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
            sharding = getattr(leaf, "sharding", None)
            spec = getattr(sharding, "spec", None)
            parts.append(f"{jax.tree_util.keystr(path)}:{leaf.shape}:{leaf.dtype}:{spec}")
    return ";".join(parts)


def callable_fingerprint(fn, depth: int = 4) -> str:
    """A name for a function that is stable across processes: partials and closures unwrapped."""
    if depth == 0:
        return "..."
    if isinstance(fn, functools.partial):
        keywords = sorted((k, callable_fingerprint(v, depth - 1)) for k, v in fn.keywords.items())
        args = [callable_fingerprint(a, depth - 1) for a in fn.args]
        return f"partial({callable_fingerprint(fn.func, depth - 1)}, {args}, {keywords})"
    if callable(fn) and hasattr(fn, "__qualname__"):
        closure = getattr(fn, "__closure__", None) or ()
        cells = [callable_fingerprint(c.cell_contents, depth - 1) for c in closure]
        return f"{fn.__module__}.{fn.__qualname__}{cells if cells else ''}"
    return repr(fn)


class ExecutableStore:
    """Compiled programs by key: in memory, backed by a directory (or not, with None)."""

    def __init__(
        self,
        directory: str | os.PathLike[str] | None,
        fingerprint: str,
        devices: Sequence[jax.Device] | None = None,
    ):
        """`devices`: where loaded programs run (default: every device of the backend)."""
        self.directory = Path(directory) if directory is not None else None
        self.devices = list(devices) if devices is not None else None
        self._fingerprint = "|".join(
            [fingerprint, jax.__version__, jax.lib.__version__, source_digest()]
        )
        self._memory: dict[Hashable, Callable] = {}
        self.loaded = self.compiled = 0

    def _path(self, key: Hashable) -> Path:
        assert self.directory is not None
        name = hashlib.sha256(f"{self._fingerprint}|{key!r}".encode()).hexdigest()
        return self.directory / f"{name}.jaxexe"

    def get(self, key: Hashable, lower: Callable[[], jax.stages.Lowered]) -> Callable:
        """The executable for `key`: from memory, else from disk, else `lower().compile()`."""
        executable = self._memory.get(key)
        if executable is None:
            executable = self._load(key)
            if executable is None:
                compiled = lower().compile()
                self.compiled += 1
                self._save(key, compiled)
                executable = compiled
            else:
                self.loaded += 1
            self._memory[key] = executable
        return executable

    def _load(self, key: Hashable) -> Callable | None:
        if self.directory is None:
            return None
        path = self._path(key)
        try:
            blob, in_tree, out_tree = pickle.loads(path.read_bytes())
            return serialize_executable.deserialize_and_load(
                blob,
                in_tree,
                out_tree,
                backend=self.devices[0].client if self.devices else None,
                execution_devices=self.devices,
            )
        except FileNotFoundError:
            return None
        except Exception as e:  # a stale or damaged entry: compile afresh and overwrite it
            logger.warning("ignoring unreadable compiled program %s: %s", path.name, e)
            return None

    def _save(self, key: Hashable, compiled: jax.stages.Compiled) -> None:
        if self.directory is None:
            return
        try:
            data = pickle.dumps(serialize_executable.serialize(compiled))
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.directory, delete=False) as f:
                f.write(data)
            os.replace(f.name, self._path(key))  # atomic: readers see all of it or nothing
        except Exception as e:  # the program still runs; only the next start pays again
            logger.warning("could not store a compiled program: %s", e)
