"""Writing a step's new K/V into the page pool (a native kernel on CPU, an XLA scatter
elsewhere; in place when donated)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import jax
import jax.numpy as jnp

logger = logging.getLogger(__name__)

# Pool dtypes that the native writer takes on CPU: XLA's scatter widens some and copies the
# pool for others (see `_scatter`).
NATIVE_CPU_DTYPES = tuple(
    jnp.dtype(d) for d in (jnp.float32, jnp.bfloat16, jnp.int8, jnp.float8_e4m3fn)
)


def write_kv_pages(
    k_pages: jax.Array,  # [..., P, page_size, K, D]
    v_pages: jax.Array,  # [..., P, page_size, K, D]
    k: jax.Array,  # [T, K, D]
    v: jax.Array,  # [T, K, D]
    slot_mapping: jax.Array,  # i32[T]: page * page_size + offset of each token
) -> tuple[jax.Array, jax.Array]:
    """Stores token `t`'s K/V at flat slot `slot_mapping[t]`; returns the updated pools.

    Slots count over all leading axes (a pool of several layers' pages is one pool).
    Padding tokens should point at a slot of a reserved page that no sequence reads.
    """
    return _scatter(k_pages, k, slot_mapping), _scatter(v_pages, v, slot_mapping)


def _scatter(pages: jax.Array, new: jax.Array, slot_mapping: jax.Array) -> jax.Array:
    """pages [..., page_size, K, D] with rows `slot_mapping` of the flat pool set to `new`.

    A bfloat16 pool on CPU goes through a native kernel (`kv_write_cpu`): XLA's CPU backend
    scatters into bfloat16 by widening the whole pool to float32 and back, over a second per
    layer for a few GiB. So do one-byte pools (a quantized cache): one token into a float8
    [30, 8193, 16, 3, 64] pool took 1.1-1.6 s, into int8 0.13-0.6 ms against the native
    kernel's 0.02. And so do float32 pools: with one token (a single sequence decoding) XLA
    turns the scatter into a dynamic-update-slice whose result both the attention and the
    layer loop read, and copies the whole pool for each, every layer: a decode step of the
    default model took 161 ms against 1.6 ms. Other platforms scatter with XLA, in place when
    donated.
    """
    native = _native_cpu_write() if pages.dtype in NATIVE_CPU_DTYPES and _on_cpu() else None
    if native is not None:
        if pages.dtype.itemsize == 1:  # the codes XLA's scatter would store
            new = new.astype(pages.dtype)
        return native(pages, new, slot_mapping)
    flat = pages.reshape(-1, *pages.shape[-2:])  # [slots, K, D]
    return flat.at[slot_mapping].set(new.astype(flat.dtype)).reshape(pages.shape)


def _on_cpu() -> bool:
    """Whether this trace lowers for the CPU (JAX's default backend: where jit places it)."""
    return jax.default_backend() == "cpu"


@functools.cache
def _native_cpu_write() -> Callable[..., jax.Array] | None:
    """The native CPU row writer, or None (said once) where it cannot be built."""
    try:
        from pallas_kernels.ragged_paged_attention.kv_write_cpu import write_rows_cpu
    except Exception as e:  # no compiler: XLA's scatter, slow for bfloat16 but correct
        logger.warning("KV write: the native CPU kernel is unavailable (%s); using XLA", e)
        return None
    return write_rows_cpu
