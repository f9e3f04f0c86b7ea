"""The Llama forward for training: dense causal attention over whole windows, pure JAX.

Shapes: B batch, T tokens, E hidden, H heads, K kv heads, D head dim, F MLP width, L layers,
V vocab. Layers are stacked on a leading L axis and run under `lax.scan`, so the program
compiles once per shape however deep the model is. The maths matches Hugging Face's
`LlamaForCausalLM` (RMSNorm in float32, rotate-half RoPE, SwiGLU, grouped-query attention,
tied embeddings), so the exported weights give the same logits there and in jaxserve.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True, kw_only=True)
class LlamaShape:
    """Hashable, so jitted functions take it as a static argument."""

    vocab_size: int = 8192  # V
    hidden_size: int = 256  # E
    intermediate_size: int = 704  # F
    num_layers: int = 4  # L
    num_heads: int = 8  # H
    num_kv_heads: int = 4  # K
    max_position_embeddings: int = 1024
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    init_std: float = 0.02

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads or self.num_heads % self.num_kv_heads:
            raise ValueError("hidden_size must divide by num_heads, num_heads by num_kv_heads")

    @property
    def head_dim(self) -> int:  # D
        return self.hidden_size // self.num_heads


def init_params(shape: LlamaShape, seed: int) -> dict[str, jax.Array]:
    """Normal(0, init_std) matrices, ones for norms; output projections scaled by 1/sqrt(2L).

    The scaling (GPT-2's) keeps the residual stream's variance flat with depth, which lets a
    short run use a high learning rate without the first steps blowing up.
    """
    e, f, h, k, d, n = (
        shape.hidden_size,
        shape.intermediate_size,
        shape.num_heads,
        shape.num_kv_heads,
        shape.head_dim,
        shape.num_layers,
    )
    keys = iter(jax.random.split(jax.random.key(seed), 8))
    std, out_std = shape.init_std, shape.init_std / np.sqrt(2 * n)

    def normal(dims: tuple[int, ...], scale: float) -> jax.Array:
        return scale * jax.random.normal(next(keys), dims, jnp.float32)

    return {
        "embed": normal((shape.vocab_size, e), std),  # [V, E], also the output head (tied)
        "final_norm": jnp.ones((e,), jnp.float32),
        "attn_norm": jnp.ones((n, e), jnp.float32),
        "mlp_norm": jnp.ones((n, e), jnp.float32),
        "wq": normal((n, e, h, d), std),
        "wk": normal((n, e, k, d), std),
        "wv": normal((n, e, k, d), std),
        "wo": normal((n, h, d, e), out_std),
        "w_gate": normal((n, e, f), std),
        "w_up": normal((n, e, f), std),
        "w_down": normal((n, f, e), out_std),
    }


def count_params(params: dict[str, jax.Array]) -> int:
    return sum(int(np.prod(p.shape)) for p in params.values())


def rms_norm(x: jax.Array, weight: jax.Array, eps: float) -> jax.Array:
    variance = jnp.mean(jnp.square(x), axis=-1, keepdims=True)
    return x * jax.lax.rsqrt(variance + eps) * weight


def rope(x: jax.Array, positions: jax.Array, theta: float) -> jax.Array:
    """Rotates x [B, T, N, D] by position; pairs are (i, i + D/2) as in HF's rotate_half."""
    d = x.shape[-1]
    inv_freq = 1.0 / (theta ** (jnp.arange(0, d, 2, dtype=jnp.float32) / d))  # [D/2]
    angles = positions.astype(jnp.float32)[:, None] * inv_freq[None, :]  # [T, D/2]
    cos, sin = jnp.cos(angles)[None, :, None, :], jnp.sin(angles)[None, :, None, :]
    x1, x2 = x[..., : d // 2], x[..., d // 2 :]
    return jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def _layer(shape: LlamaShape, x: jax.Array, layer: dict[str, jax.Array]) -> jax.Array:
    """One decoder block over x [B, T, E]."""
    b, t, _ = x.shape
    groups = shape.num_heads // shape.num_kv_heads
    positions = jnp.arange(t)
    h = rms_norm(x, layer["attn_norm"], shape.rms_norm_eps)
    q = rope(jnp.einsum("bte,ehd->bthd", h, layer["wq"]), positions, shape.rope_theta)
    k = rope(jnp.einsum("bte,ekd->btkd", h, layer["wk"]), positions, shape.rope_theta)
    v = jnp.einsum("bte,ekd->btkd", h, layer["wv"])  # [B, T, K, D]
    q = q.reshape(b, t, shape.num_kv_heads, groups, shape.head_dim)  # [B, T, K, G, D]
    scores = jnp.einsum("btkgd,bskd->bkgts", q, k) * shape.head_dim**-0.5  # [B, K, G, T, S]
    causal = jnp.tril(jnp.ones((t, t), bool))
    scores = jnp.where(causal, scores, jnp.finfo(jnp.float32).min)
    probs = jax.nn.softmax(scores, axis=-1)
    attn = jnp.einsum("bkgts,bskd->btkgd", probs, v).reshape(b, t, shape.num_heads, -1)
    x = x + jnp.einsum("bthd,hde->bte", attn, layer["wo"])
    h = rms_norm(x, layer["mlp_norm"], shape.rms_norm_eps)
    gate = jnp.einsum("bte,ef->btf", h, layer["w_gate"])
    up = jnp.einsum("bte,ef->btf", h, layer["w_up"])
    return x + jnp.einsum("btf,fe->bte", jax.nn.silu(gate) * up, layer["w_down"])


PER_LAYER = ("attn_norm", "mlp_norm", "wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down")


def forward(params: dict[str, jax.Array], tokens: jax.Array, *, shape: LlamaShape) -> jax.Array:
    """Logits f32[B, T, V] for token ids i32[B, T], each window starting at position 0."""
    x = params["embed"][tokens]  # [B, T, E]
    layers = {name: params[name] for name in PER_LAYER}

    def step(x: jax.Array, layer: dict[str, jax.Array]) -> tuple[jax.Array, None]:
        return _layer(shape, x, layer), None

    x, _ = jax.lax.scan(step, x, layers)
    x = rms_norm(x, params["final_norm"], shape.rms_norm_eps)
    return jnp.einsum("bte,ve->btv", x, params["embed"])


def token_nll(params: dict[str, jax.Array], tokens: jax.Array, *, shape: LlamaShape) -> jax.Array:
    """f32[B, T-1]: -log p(tokens[:, t+1] | tokens[:, :t+1]) in nats."""
    logits = forward(params, tokens[:, :-1], shape=shape)
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.take_along_axis(logp, tokens[:, 1:, None], axis=-1)[..., 0]


def loss_fn(params: dict[str, jax.Array], tokens: jax.Array, *, shape: LlamaShape) -> jax.Array:
    return jnp.mean(token_nll(params, tokens, shape=shape))
