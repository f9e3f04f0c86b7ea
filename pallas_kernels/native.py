"""Builds and registers jaxserve's native CPU kernels: C++ sources behind XLA's FFI.

A kernel's source ships with the package and is compiled on first use with the system C++
compiler for this machine's CPU (`-march=native`), all missing kernels at once, into a cache
keyed by the sources, the compiler and its flags, jaxlib and the CPU (`$JAXSERVE_KERNEL_CACHE`, else
~/.cache/jaxserve/kernels). A kernel module calls `register()` at import, so a machine
without a compiler finds the kernel unavailable, with the reason, and the platform falls back
to XLA (`platforms.attention`, `platforms.matmul`).
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import jax
import jaxlib

CACHE_ENV_VAR = "JAXSERVE_KERNEL_CACHE"
CXX_ENV_VAR = "CXX"
INCLUDE_DIR = Path(__file__).parent  # for "xla_ffi_cpu.h", shared by the kernels
HEADERS = (INCLUDE_DIR / "xla_ffi_cpu.h",)
FLAGS = (
    "-O3",
    "-march=native",
    "-ffp-contract=fast",  # a * b + c as one fused multiply-add
    "-fopenmp-simd",
    "-std=c++17",
    "-shared",
    "-fPIC",
)


class KernelBuildError(RuntimeError):
    """A native kernel could not be compiled or loaded on this machine."""


def cache_dir() -> Path:
    path = os.environ.get(CACHE_ENV_VAR)
    return Path(path) if path else Path.home() / ".cache" / "jaxserve" / "kernels"


def _compiler() -> str:
    named = os.environ.get(CXX_ENV_VAR)
    cxx = shutil.which(named) if named else shutil.which("c++") or shutil.which("g++")
    if cxx is None:
        where = f"$CXX={named!r} does not exist" if named else "no c++ or g++ on PATH"
        raise KernelBuildError(f"no C++ compiler found ({where}; install g++ or set $CXX)")
    return cxx


def _cpu_fingerprint() -> str:
    """What -march=native depends on: a library built for one CPU may not run on another."""
    try:
        info = Path("/proc/cpuinfo").read_text()
        lines = [line for line in info.splitlines() if line.startswith(("flags", "model name"))]
        return "\n".join(sorted(set(lines)))
    except OSError:
        return platform.processor() or platform.machine()


def cpu_flags() -> frozenset[str]:
    """The feature flags /proc/cpuinfo lists for this machine's CPU (empty where there is none)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in info.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def library_path(source: Path, cxx: str) -> Path:
    key = hashlib.sha256()
    for part in (source.read_bytes(), *(h.read_bytes() for h in HEADERS)):
        key.update(part)
    for text in (cxx, " ".join(FLAGS), jaxlib.__version__, _cpu_fingerprint(), platform.machine()):
        key.update(text.encode())
    return cache_dir() / f"{source.parent.name}_{key.hexdigest()[:16]}.so"


# Every native kernel's source: a cold start compiles the missing ones side by side (a
# compile takes 2-4 s), so the second kernel is ready by the time it is imported.
SOURCES = (
    INCLUDE_DIR / "ragged_paged_attention" / "cpu_kernel.cc",
    INCLUDE_DIR / "matmul" / "cpu_kernel.cc",
    INCLUDE_DIR / "matmul" / "cpu_bf16_kernel.cc",
    INCLUDE_DIR / "matmul" / "cpu_int8_kernel.cc",
    INCLUDE_DIR / "ragged_paged_attention" / "kv_write_cpu_kernel.cc",
)

# Compiles started in this process and not yet waited for: library path -> (process, temp file).
_pending: dict[Path, tuple[subprocess.Popen[str], str, list[str]]] = {}


@atexit.register
def _abandon_pending() -> None:
    """A process that never imported a kernel it started compiling leaves no temp files."""
    for proc, tmp, _ in _pending.values():
        proc.kill()
        proc.wait()
        if os.path.exists(tmp):
            os.unlink(tmp)
    _pending.clear()


def _start(source: Path, cxx: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=out.parent)
    os.close(fd)
    cmd = [cxx, *FLAGS, "-isystem", jax.ffi.include_dir(), "-I", str(INCLUDE_DIR)]
    cmd += [str(source), "-o", tmp]
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except OSError:
        os.unlink(tmp)
        raise
    _pending[out] = (proc, tmp, cmd)


def build(source: Path) -> Path:
    """Compiles `source` if this machine's cache lacks it; returns the library's path.

    The other kernels in `SOURCES` that the cache lacks start compiling alongside.
    """
    cxx = _compiler()
    out = library_path(source, cxx)
    if out.exists() and out not in _pending:
        return out
    for other in (source, *SOURCES):
        path = library_path(other, cxx)
        if path not in _pending and not path.exists():
            _start(other, cxx, path)
    proc, tmp, cmd = _pending.pop(out)
    try:
        try:
            _, stderr = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise KernelBuildError(f"compiling {source.name} took over 300 s") from None
        if proc.returncode != 0:
            raise KernelBuildError(
                f"compiling {source.name} failed ({' '.join(cmd)}):\n{stderr[-2000:]}"
            )
        os.replace(tmp, out)  # atomic: concurrent first starts never load a partial file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def register(source: Path, targets: Mapping[str, str]) -> None:
    """Builds `source` and registers each handler symbol in `targets` as its CPU FFI target."""
    try:
        library = ctypes.cdll.LoadLibrary(str(build(source)))
    except OSError as e:
        raise KernelBuildError(f"loading the compiled kernel {source.name} failed: {e}") from e
    for symbol, target in targets.items():
        handler = jax.ffi.pycapsule(getattr(library, symbol))
        jax.ffi.register_ffi_target(target, handler, platform="cpu")
