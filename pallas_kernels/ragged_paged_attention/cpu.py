"""Ragged paged attention on CPU: a native kernel (`cpu_kernel.cc`) called through XLA's FFI.

Under XLA on CPU the jnp reference gathers pages into contiguous copies and runs many tiny
batched dots; at 64 decoding sequences with ~500 tokens each that measured 3-4x slower than
this kernel, which walks every sequence's pages in place (scores, online softmax and V rows
in L1, vector exp) and spreads (sequence, query block) units over XLA's intra-op threads.

The source ships with the package and is compiled on first use with the system C++ compiler
for this machine's CPU (`-march=native`), into a cache keyed by the source, the compiler,
jaxlib and the CPU (`$JAXSERVE_KERNEL_CACHE`, else ~/.cache/jaxserve/kernels). Importing this
module does that, so a machine without a compiler finds the kernel unavailable, with the
reason, and the platform falls back to the reference (`platforms.attention`).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import jaxlib
import numpy as np

from pallas_kernels.ragged_paged_attention.reference import DEFAULT_MASK_VALUE

SOURCE = Path(__file__).with_name("cpu_kernel.cc")
TARGET = "jaxserve_ragged_paged_attention_cpu"
SYMBOL = "JaxserveRaggedPagedAttention"
CACHE_ENV_VAR = "JAXSERVE_KERNEL_CACHE"
CXX_ENV_VAR = "CXX"
FLAGS = ("-O3", "-march=native", "-fopenmp-simd", "-std=c++17", "-shared", "-fPIC")
SUPPORTED_DTYPES = (jnp.dtype(jnp.float32), jnp.dtype(jnp.bfloat16))


class KernelBuildError(RuntimeError):
    """The native kernel could not be compiled or loaded on this machine."""


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


def _library_path(cxx: str) -> Path:
    key = hashlib.sha256()
    for part in (SOURCE.read_bytes(), cxx.encode(), " ".join(FLAGS).encode()):
        key.update(part)
    key.update(jaxlib.__version__.encode())
    key.update(_cpu_fingerprint().encode())
    key.update(platform.machine().encode())
    return cache_dir() / f"ragged_paged_attention_{key.hexdigest()[:16]}.so"


def build() -> Path:
    """Compiles the kernel if this machine's cache lacks it; returns the library's path."""
    cxx = _compiler()
    out = _library_path(cxx)
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=out.parent)
    os.close(fd)
    cmd = [cxx, *FLAGS, "-isystem", jax.ffi.include_dir(), str(SOURCE), "-o", tmp]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise KernelBuildError(
                f"compiling {SOURCE.name} failed ({' '.join(cmd)}):\n{result.stderr[-2000:]}"
            )
        os.replace(tmp, out)  # atomic: concurrent first starts never load a partial file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _register() -> None:
    try:
        library = ctypes.cdll.LoadLibrary(str(build()))
    except OSError as e:
        raise KernelBuildError(f"loading the compiled kernel failed: {e}") from e
    handler = jax.ffi.pycapsule(getattr(library, SYMBOL))
    jax.ffi.register_ffi_target(TARGET, handler, platform="cpu")


_register()


def ragged_paged_attention_cpu(
    q: jax.Array,  # [T, H, D]
    k_pages: jax.Array,  # [P, page_size, K, D]
    v_pages: jax.Array,  # [P, page_size, K, D]
    kv_lens: jax.Array,  # i32[S]
    page_indices: jax.Array,  # i32[S, pages_per_seq]
    cu_q_lens: jax.Array,  # i32[S + 1]
    num_seqs: jax.Array,  # i32[1]
    *,
    sm_scale: float = 1.0,
    sliding_window: int | None = None,
    mask_value: float = DEFAULT_MASK_VALUE,
    block_q: int = 1,
) -> jax.Array:  # [T, H, D]
    """The reference's contract (see `reference.py`), computed by the native kernel.

    `mask_value` and `block_q` are accepted for the common signature; the kernel never
    scores masked positions and picks its own query blocks. float32 and bfloat16 only.
    """
    del mask_value, block_q
    num_heads, head_dim = q.shape[1:]
    if k_pages.ndim != 4 or k_pages.shape != v_pages.shape or k_pages.shape[3] != head_dim:
        raise ValueError(
            f"k_pages and v_pages must both be [P, page_size, K, {head_dim}], got "
            f"{k_pages.shape} and {v_pages.shape}"
        )
    if num_heads % k_pages.shape[2]:
        raise ValueError(f"{num_heads} query heads are not a multiple of {k_pages.shape[2]}")
    for name, x in (("q", q), ("k_pages", k_pages), ("v_pages", v_pages)):
        if x.dtype not in SUPPORTED_DTYPES:
            raise ValueError(f"{name} must be float32 or bfloat16, got {x.dtype}")
    if k_pages.dtype != v_pages.dtype:
        raise ValueError(f"k_pages is {k_pages.dtype} but v_pages is {v_pages.dtype}")
    if q.dtype == jnp.bfloat16 and k_pages.dtype == jnp.float32:
        raise ValueError("bfloat16 queries need bfloat16 pages (float32 pages: float32 queries)")
    if sliding_window is not None and sliding_window < 1:
        raise ValueError(f"sliding_window must be positive, got {sliding_window}")
    call = jax.ffi.ffi_call(TARGET, jax.ShapeDtypeStruct(q.shape, q.dtype))
    return call(
        q,
        k_pages,
        v_pages,
        kv_lens.astype(jnp.int32),
        page_indices.astype(jnp.int32),
        cu_q_lens.astype(jnp.int32),
        num_seqs.astype(jnp.int32),
        sm_scale=np.float32(sm_scale),
        sliding_window=np.int64(sliding_window or 0),
    )
