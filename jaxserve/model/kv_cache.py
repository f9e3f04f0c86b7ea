"""The paged KV cache: one page pool per layer, stacked so the layer loop can scan over it.

The pools hold the compute dtype, or int8 or fp8 codes of K/V divided by per-channel scales
(`quantize_kv`; the scales and how attention folds them: `jaxserve.model.kv_quant`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jaxserve.model.config import ModelConfig

# kv_cache_dtype -> the dtype the pages are stored in.
QUANTIZED_KV_DTYPES = {
    "int8": jnp.dtype(jnp.int8),
    "fp8": jnp.dtype(jnp.float8_e4m3fn),
    "fp8_e4m3": jnp.dtype(jnp.float8_e4m3fn),
}
# The largest code of each stored dtype.
CODE_MAX = {jnp.dtype(jnp.int8): 127.0, jnp.dtype(jnp.float8_e4m3fn): 448.0}


def quantize_kv(x: jax.Array, scale: jax.Array, dtype: jnp.dtype) -> jax.Array:
    """`x` [T, K, D] divided by `scale` [K, D] and stored as `dtype`, saturating."""
    top = CODE_MAX[jnp.dtype(dtype)]
    scaled = jnp.clip(x.astype(jnp.float32) / scale, -top, top)
    if jnp.dtype(dtype) == jnp.int8:
        scaled = jnp.round(scaled)
    return scaled.astype(dtype)


@struct.dataclass
class KVCache:
    k: jax.Array  # [L, P, page_size, K, D]
    v: jax.Array  # [L, P, page_size, K, D]

    @property
    def num_pages(self) -> int:
        return self.k.shape[1]

    @property
    def page_size(self) -> int:
        return self.k.shape[2]


def kv_cache_shape(cfg: ModelConfig, num_pages: int, page_size: int) -> tuple[int, ...]:
    return (cfg.num_layers, num_pages, page_size, cfg.num_kv_heads, cfg.head_dim)


def kv_cache_bytes_per_page(cfg: ModelConfig, page_size: int, dtype: jnp.dtype) -> int:
    """Bytes one page costs across all layers, K and V together."""
    per_token = 2 * cfg.num_layers * cfg.num_kv_heads * cfg.head_dim * jnp.dtype(dtype).itemsize
    return per_token * page_size


def allocate_kv_cache(
    cfg: ModelConfig,
    num_pages: int,
    page_size: int,
    dtype: jnp.dtype,
    sharding: jax.sharding.Sharding | None = None,
) -> KVCache:
    """A zeroed cache; page 0 is reserved for padding writes and never read."""
    shape = kv_cache_shape(cfg, num_pages, page_size)
    zeros = jax.jit(lambda: jnp.zeros(shape, dtype), out_shardings=sharding)
    return KVCache(k=zeros(), v=zeros())
