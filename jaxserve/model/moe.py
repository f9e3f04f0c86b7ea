"""Mixture-of-Experts MLP: a router picks `top_k` experts per token, tokens are grouped by
expert, and one grouped matmul runs every expert over its tokens.

Shapes: T tokens, E hidden, X experts, k experts per token, Fe an expert's hidden size.

    layers: "router": [L, E, X], "we_gate", "we_up": [L, X, E, Fe], "we_down": [L, X, Fe, E]
            and, for Qwen2-MoE's shared expert, the dense "w_gate", "w_up", "w_down" and
            "shared_gate": [L, E, 1]; for gpt-oss, biases "router_bias": [L, X],
            "be_gate", "be_up": [L, X, Fe] and "be_down": [L, X, E]

Quantized experts (`quantization`) are `QuantizedMatrix`es: the grouped matmul multiplies by
their int8 / fp8 codes and each row's output columns are scaled by its expert's scales.

`grouped_matmul(lhs[M, K], rhs[X, K, N], group_sizes[X]) -> [M, N]` multiplies rows
`sum(group_sizes[:x]) : sum(group_sizes[:x + 1])` of `lhs` by `rhs[x]`: `jax.lax.ragged_dot`'s
contract, which the Pallas kernel in `pallas_kernels/grouped_matmul` keeps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp

from pallas_kernels.matmul import QuantizedMatrix

GroupedMatmul = Callable[[jax.Array, jax.Array, jax.Array], jax.Array]


@dataclasses.dataclass(frozen=True, kw_only=True)
class MoEConfig:
    """Hashable: part of the static `ModelConfig`."""

    num_experts: int  # X
    top_k: int  # k
    expert_size: int  # Fe
    # The k best of the softmax over all X experts are the token's weights, renormalized to
    # sum to 1 where `renormalize` (Mixtral always; Qwen-MoE as `norm_topk_prob` says).
    renormalize: bool = True
    shared_expert_size: int = 0  # Qwen2-MoE: a dense expert every token takes, gated
    # gpt-oss: the token's weights are the softmax over its k best router logits (not the k
    # best of a softmax over all), the router and every expert projection carry a bias, and
    # the experts gate with a clamped SwiGLU: (clip(up, ±limit) + 1) *
    # swish_alpha(min(gate, limit)). None: the model's own activation, times up.
    softmax_after_top_k: bool = False
    biases: bool = False
    swiglu_limit: float | None = None
    swiglu_alpha: float = 1.702

    def __post_init__(self) -> None:
        if not 1 <= self.top_k <= self.num_experts:
            raise ValueError(
                f"num_experts_per_tok must be in [1, {self.num_experts}], got {self.top_k}"
            )


def route(logits: jax.Array, moe: MoEConfig) -> tuple[jax.Array, jax.Array]:
    """(weights f32[T, k], experts i32[T, k]) from router logits f32[T, X]."""
    logits = logits.astype(jnp.float32)
    if moe.softmax_after_top_k:
        best, experts = jax.lax.top_k(logits, moe.top_k)
        return jax.nn.softmax(best, axis=-1), experts.astype(jnp.int32)
    probs = jax.nn.softmax(logits, axis=-1)
    weights, experts = jax.lax.top_k(probs, moe.top_k)
    if moe.renormalize:
        weights = weights / jnp.sum(weights, axis=-1, keepdims=True)
    return weights, experts.astype(jnp.int32)


def clamped_swiglu(gate: jax.Array, up: jax.Array, moe: MoEConfig) -> jax.Array:
    """gpt-oss's expert activation (see `MoEConfig`), in float32, cast back to `gate`'s dtype."""
    assert moe.swiglu_limit is not None
    limit = moe.swiglu_limit
    g = jnp.minimum(gate.astype(jnp.float32), limit)
    u = jnp.clip(up.astype(jnp.float32), -limit, limit)
    return ((u + 1) * g * jax.nn.sigmoid(g * moe.swiglu_alpha)).astype(gate.dtype)


def moe_mlp(
    h: jax.Array,
    lp: dict,
    moe: MoEConfig,
    activation: Callable[[jax.Array], jax.Array],
    grouped_matmul: GroupedMatmul = jax.lax.ragged_dot,
) -> jax.Array:
    """The experts' gated MLP of `h` [T, E], each token's outputs summed by its router weights."""
    num_tokens = h.shape[0]
    logits = jnp.dot(h, lp["router"], preferred_element_type=jnp.float32)  # [T, X]
    if moe.biases:
        logits = logits + lp["router_bias"]
    weights, experts = route(logits, moe)  # [T, k] each
    flat = experts.reshape(-1)  # [T*k]: token t's j-th expert at t*k + j
    order = jnp.argsort(flat, stable=True)  # [T*k]: grouped by expert
    rows = h[order // moe.top_k]  # [T*k, E]: each (token, expert) pair, grouped
    group_sizes = jnp.bincount(flat, length=moe.num_experts).astype(jnp.int32)  # [X]
    row_expert = flat[order]  # [T*k]: the expert of each grouped row

    def project(x: jax.Array, name: str) -> jax.Array:
        w = lp["we_" + name]
        if isinstance(w, QuantizedMatrix):  # codes in the product, each row's scales after
            y = grouped_matmul(x, w.q, group_sizes)
            y = (y.astype(jnp.float32) * w.scale[row_expert]).astype(y.dtype)
        else:
            y = grouped_matmul(x, w, group_sizes)
        return y + lp["be_" + name][row_expert].astype(y.dtype) if moe.biases else y

    gate, up = project(rows, "gate"), project(rows, "up")  # [T*k, Fe] each
    if moe.swiglu_limit is not None:
        hidden = clamped_swiglu(gate, up, moe)
    else:
        hidden = activation(gate) * up
    out = project(hidden, "down")  # [T*k, E]
    out = out.astype(jnp.float32) * weights.reshape(-1)[order][:, None]
    unsorted = jnp.zeros_like(out).at[order].set(out)  # [T*k, E] back in (token, j) order
    return unsorted.reshape(num_tokens, moe.top_k, -1).sum(axis=1).astype(h.dtype)  # [T, E]
