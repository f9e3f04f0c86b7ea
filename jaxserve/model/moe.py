"""Mixture-of-Experts MLP: a router picks `top_k` experts per token, tokens are grouped by
expert, and one grouped matmul runs every expert over its tokens.

Shapes: T tokens, E hidden, X experts, k experts per token, Fe an expert's hidden size.

    layers: "router": [L, E, X], "we_gate", "we_up": [L, X, E, Fe], "we_down": [L, X, Fe, E]
            and, for Qwen2-MoE's shared expert, the dense "w_gate", "w_up", "w_down" and
            "shared_gate": [L, E, 1]

`grouped_matmul(lhs[M, K], rhs[X, K, N], group_sizes[X]) -> [M, N]` multiplies rows
`sum(group_sizes[:x]) : sum(group_sizes[:x + 1])` of `lhs` by `rhs[x]`: `jax.lax.ragged_dot`'s
contract, which the Pallas kernel in `pallas_kernels/grouped_matmul` keeps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp

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

    def __post_init__(self) -> None:
        if not 1 <= self.top_k <= self.num_experts:
            raise ValueError(
                f"num_experts_per_tok must be in [1, {self.num_experts}], got {self.top_k}"
            )


def route(logits: jax.Array, moe: MoEConfig) -> tuple[jax.Array, jax.Array]:
    """(weights f32[T, k], experts i32[T, k]) from router logits f32[T, X]."""
    probs = jax.nn.softmax(logits.astype(jnp.float32), axis=-1)
    weights, experts = jax.lax.top_k(probs, moe.top_k)
    if moe.renormalize:
        weights = weights / jnp.sum(weights, axis=-1, keepdims=True)
    return weights, experts.astype(jnp.int32)


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
    weights, experts = route(logits, moe)  # [T, k] each
    flat = experts.reshape(-1)  # [T*k]: token t's j-th expert at t*k + j
    order = jnp.argsort(flat, stable=True)  # [T*k]: grouped by expert
    rows = h[order // moe.top_k]  # [T*k, E]: each (token, expert) pair, grouped
    group_sizes = jnp.bincount(flat, length=moe.num_experts).astype(jnp.int32)  # [X]
    gate = grouped_matmul(rows, lp["we_gate"], group_sizes)  # [T*k, Fe]
    up = grouped_matmul(rows, lp["we_up"], group_sizes)  # [T*k, Fe]
    out = grouped_matmul(activation(gate) * up, lp["we_down"], group_sizes)  # [T*k, E]
    out = out.astype(jnp.float32) * weights.reshape(-1)[order][:, None]
    unsorted = jnp.zeros_like(out).at[order].set(out)  # [T*k, E] back in (token, j) order
    return unsorted.reshape(num_tokens, moe.top_k, -1).sum(axis=1).astype(h.dtype)  # [T, E]
