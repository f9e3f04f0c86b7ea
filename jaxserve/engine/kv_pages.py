"""Whole KV pages in and out of the paged cache, for handing a prompt's cache to another engine.

`read_pages` gathers some pages of every layer into host arrays; `write_pages` scatters host
pages into other page ids of another cache, which is donated so it updates in place. Both
pad the page count to a power of two (padding reads page 0 and writes to it, the page every
cache reserves for padding), so a few programs serve every request length.

The pages hold what the cache stores: compute-dtype K/V, or int8/fp8 codes of K/V divided by
per-channel scales (`jaxserve.model.kv_quant`). Codes move as codes; the receiving engine
must have the same scales, which it does when it loads the same checkpoint with the same
kv_cache_dtype (the scales are calibrated on a fixed text). A cache sharded over KV heads
gathers to the host whole, and the written pages are placed with the cache's own sharding.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxserve.engine.packing import bucket
from jaxserve.model.kv_cache import KVCache
from pallas_kernels.ragged_paged_attention import write_kv_pages

MIN_PAGE_BUCKET = 4


@jax.jit
def _gather(cache: KVCache, page_ids: jax.Array) -> tuple[jax.Array, jax.Array]:
    # cache.k, cache.v: [L, P, page_size, K, D]; page_ids: i32[n] -> [L, n, page_size, K, D]
    return jnp.take(cache.k, page_ids, axis=1), jnp.take(cache.v, page_ids, axis=1)


def _write(k_pages: jax.Array, v_pages: jax.Array, page_ids, k, v):
    # k_pages, v_pages: [L, P, page_size, K, D] (or one shard's K); k, v: [L, n, page_size,
    # K, D] land at page_ids i32[n] of every layer, as rows of the pool's flat slots.
    layers, num_pages, page_size = k_pages.shape[:3]
    slots = (
        (jnp.arange(layers)[:, None, None] * num_pages + page_ids[None, :, None]) * page_size
        + jnp.arange(page_size)[None, None, :]
    ).reshape(-1)  # i32[L * n * page_size]

    def rows(x):  # [L, n, page_size, K, D] -> [L * n * page_size, K, D]
        return x.reshape(-1, *x.shape[-2:])

    return write_kv_pages(k_pages, v_pages, rows(k), rows(v), slots)


@functools.partial(jax.jit, donate_argnums=0, static_argnames="sharding")
def _scatter(
    cache: KVCache, page_ids: jax.Array, k: jax.Array, v: jax.Array, *, sharding
) -> KVCache:
    # The pool's own row writer: in place (XLA's CPU scatter copied the whole cache, 130 ms
    # for 64 pages of a 1,024-page SmolLM2-135M cache). A cache sharded over KV heads
    # writes each shard's heads where they live.
    write = _write
    if isinstance(sharding, NamedSharding) and sharding.mesh.size > 1:
        spec = sharding.spec
        write = jax.shard_map(
            _write,
            mesh=sharding.mesh,
            in_specs=(spec, spec, P(), spec, spec),
            out_specs=(spec, spec),
        )
    k_pages, v_pages = write(cache.k, cache.v, page_ids, k, v)
    return KVCache(k=k_pages, v=v_pages)


def _padded_ids(page_ids: Sequence[int]) -> np.ndarray:
    ids = np.zeros(bucket(len(page_ids), MIN_PAGE_BUCKET), np.int32)
    ids[: len(page_ids)] = page_ids
    return ids


def read_pages(cache: KVCache, page_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """K and V of `page_ids`, in that order, each [L, n, page_size, K, D] on the host.

    Args:
        cache: the paged cache, k and v [L, P, page_size, K, D].
        page_ids: n page ids (block ids of the engine's `BlockManager`).
    """
    k, v = _gather(cache, _padded_ids(page_ids))
    n = len(page_ids)
    return np.asarray(k)[:, :n], np.asarray(v)[:, :n]


def write_pages(cache: KVCache, page_ids: Sequence[int], k: np.ndarray, v: np.ndarray) -> KVCache:
    """`cache` (donated) with host pages `k`, `v` [L, n, page_size, K, D] at `page_ids`.

    Raises:
        ValueError: the pages' shape or dtype differs from the cache's (another model, page
            size or kv_cache_dtype).
    """
    n = len(page_ids)
    expected = (cache.k.shape[0], n, *cache.k.shape[2:])
    for name, pages in (("k", k), ("v", v)):
        if pages.shape != expected or pages.dtype != cache.k.dtype:
            raise ValueError(
                f"handed-off {name} pages are {pages.dtype}{list(pages.shape)}, but this cache "
                f"takes {cache.k.dtype}{list(expected)}: the two engines must serve the same "
                "model with the same page size and kv_cache_dtype"
            )
    ids = _padded_ids(page_ids)
    padded = (expected[0], len(ids), *expected[2:])
    sharding = cache.k.sharding
    put = []
    for pages in (k, v):
        full = np.zeros(padded, pages.dtype)
        full[:, :n] = pages
        put.append(jax.device_put(full, sharding))
    return _scatter(cache, jax.device_put(ids), *put, sharding=sharding)
