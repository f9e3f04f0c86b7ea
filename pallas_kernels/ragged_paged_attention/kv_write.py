"""Writing a step's new K/V into the page pool (an XLA scatter; in place when donated)."""

from __future__ import annotations

import jax


def write_kv_pages(
    k_pages: jax.Array,  # [P, page_size, K, D]
    v_pages: jax.Array,  # [P, page_size, K, D]
    k: jax.Array,  # [T, K, D]
    v: jax.Array,  # [T, K, D]
    slot_mapping: jax.Array,  # i32[T]: page * page_size + offset of each token
) -> tuple[jax.Array, jax.Array]:
    """Stores token `t`'s K/V at flat slot `slot_mapping[t]`; returns the updated pools.

    Padding tokens should point at a slot of a reserved page that no sequence reads.
    """
    num_pages, page_size, num_kv_heads, head_dim = k_pages.shape
    flat = (num_pages * page_size, num_kv_heads, head_dim)
    k_pages = k_pages.reshape(flat).at[slot_mapping].set(k.astype(k_pages.dtype))
    v_pages = v_pages.reshape(flat).at[slot_mapping].set(v.astype(v_pages.dtype))
    return k_pages.reshape(num_pages, page_size, num_kv_heads, head_dim), v_pages.reshape(
        num_pages, page_size, num_kv_heads, head_dim
    )
