"""Writing new K/V rows into a page pool in place on CPU: a native kernel behind XLA's FFI.

XLA's CPU backend scatters into bfloat16 (and float8) by widening the whole array to float32
and back: for a pool of a few GiB that is over a second per layer. `kv_write_cpu_kernel.cc`
writes just the rows, into the pool's own buffer (aliased to the result). Importing this module
compiles the kernel on first use (`pallas_kernels.native`).
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp

from pallas_kernels import native

SOURCE = Path(__file__).with_name("kv_write_cpu_kernel.cc")
TARGET = "jaxserve_write_kv_pages_cpu"
CODE_DTYPES = (jnp.dtype(jnp.int8), jnp.dtype(jnp.float8_e4m3fn))  # a quantized cache's codes
PAGE_DTYPES = (jnp.dtype(jnp.float32), jnp.dtype(jnp.bfloat16), *CODE_DTYPES)

native.register(SOURCE, {"JaxserveWriteKvPages": TARGET})


def write_rows_cpu(
    pages: jax.Array,  # [..., page_size, K, D]
    new: jax.Array,  # [T, K, D]
    slot_mapping: jax.Array,  # i32[T]
) -> jax.Array:
    """`pages` with flat slot `slot_mapping[t]` (page * page_size + offset, counting pages
    over all leading axes) set to `new[t]`.

    float32 or bfloat16 pages, new rows float32 or the pages' dtype (rounded to it); or int8 /
    float8_e4m3fn pages (a quantized cache), new rows already codes of that dtype. A slot
    outside [0, P * page_size) is skipped, as XLA's scatter drops it. The pool is written in
    place: its buffer is the result's (donate it).
    """
    if pages.dtype not in PAGE_DTYPES:
        names = ", ".join(d.name for d in PAGE_DTYPES)
        raise ValueError(f"pages must be one of {names}, got {pages.dtype}")
    allowed = (
        (pages.dtype,) if pages.dtype in CODE_DTYPES else (jnp.dtype(jnp.float32), pages.dtype)
    )
    if new.dtype not in allowed:
        names = " or ".join(d.name for d in allowed)
        raise ValueError(f"new rows must be {names}, got {new.dtype}")
    if pages.ndim < 3 or new.ndim != 3 or pages.shape[-2:] != new.shape[1:]:
        raise ValueError(
            f"expected pages[..., K, D] and new[T, K, D], got {pages.shape}, {new.shape}"
        )
    if slot_mapping.shape != new.shape[:1]:
        raise ValueError(f"slot_mapping must be [{new.shape[0]}], got {slot_mapping.shape}")
    call = jax.ffi.ffi_call(
        TARGET, jax.ShapeDtypeStruct(pages.shape, pages.dtype), input_output_aliases={0: 0}
    )
    return call(pages, new, slot_mapping.astype(jnp.int32))
