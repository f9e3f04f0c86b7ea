"""The matmul contract in jnp: what every implementation computes."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def matmul_reference(
    x: jax.Array,
    w: jax.Array,
    layer: jax.Array | int | None = None,
    *,
    transposed: bool = False,
) -> jax.Array:
    """`x[..., K] . w[K, N]`, or `. w[layer]` for stacked `w[L, K, N]`, in x's dtype.

    `transposed`: w is [N, K]. Weights stored narrower than x (bfloat16 under float32
    compute) are widened exactly first; a `QuantizedMatrix`'s int8 values too, the product
    then scaled per output column.
    """
    if layer is not None:
        w = jax.tree.map(lambda a: jax.lax.dynamic_index_in_dim(a, layer, keepdims=False), w)
    if hasattr(w, "scale"):  # a QuantizedMatrix: int8 values widened exactly, then scaled
        if transposed:
            raise ValueError("a quantized matrix is stored [K, N]; it cannot be transposed")
        product = jnp.dot(x, w.q.astype(x.dtype), preferred_element_type=jnp.float32)
        return (product * w.scale).astype(x.dtype)
    w = w.astype(x.dtype)
    if transposed:
        return jnp.einsum("...k,nk->...n", x, w, preferred_element_type=x.dtype)
    return jnp.dot(x, w, preferred_element_type=x.dtype)
