"""The Llama-family decoder (Llama 2/3, Mistral, Qwen2, Qwen3) as pure functions.

Params are nested dicts; per-layer weights are stacked on a leading L axis so the layer loop
is one `lax.scan` (one layer compiled, not L). Shapes: T tokens, E hidden, H heads, K kv
heads, D head dim, F MLP hidden, V vocab, L layers, P pages.

    params = {
        "embed": [V, E],
        "layers": {
            "attn_norm": [L, E], "wq": [L, E, H, D], "wk": [L, E, K, D], "wv": [L, E, K, D],
            "bq": [L, H, D], "bk": [L, K, D], "bv": [L, K, D],        # qkv_bias only
            "q_norm": [L, D], "k_norm": [L, D],                        # qk_norm only
            "wo": [L, H, D, E], "mlp_norm": [L, E],
            "w_gate": [L, E, F], "w_up": [L, E, F], "w_down": [L, F, E],
        },
        "final_norm": [E],
        "lm_head": [E, V],                                             # untied only
    }
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxserve.model.attention import AttentionOp
from jaxserve.model.batch import StepBatch
from jaxserve.model.config import ModelConfig
from jaxserve.model.kv_cache import KVCache
from jaxserve.model.rope import apply_rope, rope_tables
from pallas_kernels.matmul import XLA_MATMUL, MatmulKernel

Params = dict


def rms_norm(x: jax.Array, weight: jax.Array, eps: float) -> jax.Array:
    """Normalizes in float32, casts back, then scales (the reference's order of operations)."""
    xf = x.astype(jnp.float32)
    xf = xf * jax.lax.rsqrt(jnp.mean(xf * xf, axis=-1, keepdims=True) + eps)
    return weight * xf.astype(x.dtype)


# Per-layer weight matrices, each multiplied as [L, in, out] (heads folded into in or out).
MATRICES = ("wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down")
# Matrices that multiply the same input, side by side in one [L, E, sum of outs] matrix.
FUSED = {"w_qkv": ("wq", "wk", "wv"), "w_gate_up": ("w_gate", "w_up")}


def fuse_matrices(params: Params) -> Params:
    """`params` with each group of `FUSED` concatenated along its output axis.

    One multiplication instead of three (or two) per layer: for a kernel that reads the
    stacked weights in place, fewer calls and wider products. XLA fuses the separate dots
    itself (and tensor parallelism shards them by heads), so only kernels get this layout.
    """
    layers = dict(params["layers"])
    for fused, names in FUSED.items():
        parts = [layers.pop(name) for name in names]
        layers[fused] = jnp.concatenate([w.reshape(*w.shape[:2], -1) for w in parts], axis=-1)
    return {**params, "layers": layers}


def forward(
    params: Params,
    kv_cache: KVCache,
    batch: StepBatch,
    *,
    cfg: ModelConfig,
    attention: AttentionOp,
    matmul: MatmulKernel = XLA_MATMUL,
) -> tuple[jax.Array, KVCache]:
    """Runs the decoder over one step's tokens.

    `matmul` multiplies by one layer's weights: `matmul(x[T, in], w[in, out])` with the slice
    the layer loop takes or, for a kernel that `reads_stacked`, `matmul(x, w[L, in, out],
    layer)` with all layers' stacked weights and the index, to read them in place. The
    activations are in the kernel's `activation_dtype`, else the norms' (the compute dtype).

    Returns:
        The final hidden states [T, E] and the cache with this step's K/V written.
    """
    num_layers, num_pages, page_size = cfg.num_layers, kv_cache.num_pages, kv_cache.page_size
    num_tokens = batch.token_ids.shape[0]
    act_dtype = matmul.activation_dtype or params["final_norm"].dtype
    x = params["embed"][batch.token_ids].astype(act_dtype)  # [T, E]
    cos, sin = rope_tables(cfg.rope, batch.positions)  # [T, D/2] each
    layers = params["layers"]
    mats = {
        name: w.reshape(num_layers, -1, w.shape[-1])
        if name == "wo"
        else w.reshape(*w.shape[:2], -1)
        for name, w in layers.items()
        if name in MATRICES or name in FUSED
    }  # [L, in, out]; folding the trailing (or, for wo, leading) head axes is free
    # A kernel reads the stacked weights in place at the layer index; XLA's own dot gets
    # each layer's slice from the scan, which it fuses best.
    in_place = matmul.reads_stacked
    scanned = {name: w for name, w in layers.items() if name not in mats}
    if not in_place:
        scanned.update(mats)

    def layer(carry, inputs):
        x, k_all, v_all = carry  # k_all, v_all: [L, P, page_size, K, D]
        lp, i = inputs

        def dense(h: jax.Array, name: str) -> jax.Array:
            return matmul(h, mats[name], i) if in_place else matmul(h, lp[name])

        h = rms_norm(x, lp["attn_norm"], cfg.rms_norm_eps)
        if "w_qkv" in mats:
            q_size, kv_size = cfg.num_heads * cfg.head_dim, cfg.num_kv_heads * cfg.head_dim
            q, k, v = jnp.split(dense(h, "w_qkv"), [q_size, q_size + kv_size], axis=-1)
        else:
            q, k, v = dense(h, "wq"), dense(h, "wk"), dense(h, "wv")
        q = q.reshape(num_tokens, cfg.num_heads, cfg.head_dim)  # [T, H, D]
        k = k.reshape(num_tokens, cfg.num_kv_heads, cfg.head_dim)  # [T, K, D]
        v = v.reshape(num_tokens, cfg.num_kv_heads, cfg.head_dim)  # [T, K, D]
        if cfg.qkv_bias:
            q, k, v = q + lp["bq"], k + lp["bk"], v + lp["bv"]
        if cfg.qk_norm:
            q = rms_norm(q, lp["q_norm"], cfg.rms_norm_eps)
            k = rms_norm(k, lp["k_norm"], cfg.rms_norm_eps)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)

        # Layer i's pages are pages [i*P, (i+1)*P) of the flattened pool: no per-layer copy.
        out, k_all, v_all = attention(
            q,
            k,
            v,
            k_all,
            v_all,
            batch.slot_mapping + i * num_pages * page_size,
            batch.kv_lens,
            batch.page_indices + i * num_pages,
            batch.cu_q_lens,
            batch.num_seqs,
        )
        x = x + dense(out.reshape(num_tokens, -1), "wo")

        h = rms_norm(x, lp["mlp_norm"], cfg.rms_norm_eps)
        if "w_gate_up" in mats:
            gate, up = jnp.split(dense(h, "w_gate_up"), 2, axis=-1)  # [T, F] each
        else:
            gate, up = dense(h, "w_gate"), dense(h, "w_up")  # [T, F] each
        x = x + dense(jax.nn.silu(gate) * up, "w_down")
        return (x, k_all, v_all), None

    layer_ids = jnp.arange(num_layers, dtype=jnp.int32)
    (x, k_all, v_all), _ = jax.lax.scan(layer, (x, kv_cache.k, kv_cache.v), (scanned, layer_ids))
    x = rms_norm(x, params["final_norm"], cfg.rms_norm_eps)
    return x, KVCache(k=k_all, v=v_all)


def compute_logits(
    params: Params,
    hidden: jax.Array,
    indices: jax.Array,
    *,
    cfg: ModelConfig,
    matmul: MatmulKernel = XLA_MATMUL,
) -> jax.Array:
    """f32[R, V] logits of the hidden rows `indices` (i32[R]) of `hidden` [T, E]."""
    h = hidden[indices]  # [R, E]
    if cfg.tie_word_embeddings:
        logits = matmul(h, params["embed"], transposed=True)
    else:
        logits = matmul(h, params["lm_head"])
    return logits.astype(jnp.float32)
