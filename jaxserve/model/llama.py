"""The Llama-family decoder (Llama 2/3, Mistral, Qwen2, Qwen3, Phi-3) as pure functions.

Params are nested dicts; per-layer weights are stacked on a leading L axis so the layer loop
is one `lax.scan` (one layer compiled, not L). Shapes: T tokens, E hidden, H heads, K kv
heads, D head dim, F MLP hidden, V vocab, L layers, P pages.

    params = {
        "embed": [V, E],
        "layers": {
            "attn_norm": [L, E], "wq": [L, E, H, D], "wk": [L, E, K, D], "wv": [L, E, K, D],
            "bq": [L, H, D], "bk": [L, K, D], "bv": [L, K, D],        # qkv_bias only
            "q_norm": [L, D], "k_norm": [L, D],                        # qk_norm only
            "wo": [L, H, D, E], "bo": [L, E],                          # bo: o_bias only
            "sinks": [L, H],                                           # attention_sinks only
            "k_cache_scale": [L, K, D], "v_cache_scale": [L, K, D],   # int8/fp8 cache only
            "mlp_norm": [L, E],
            "w_gate": [L, E, F], "w_up": [L, E, F], "w_down": [L, F, E],
        },
        "final_norm": [E],
        "lm_head": [E, V],                                             # untied only
    }

A kernel that reads stacked weights gets them as `prepare_params` lays them out at load.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import jax
import jax.numpy as jnp

from jaxserve.model.attention import AttentionOp
from jaxserve.model.batch import StepBatch
from jaxserve.model.config import ModelConfig
from jaxserve.model.kv_cache import KVCache
from jaxserve.model.moe import GroupedMatmul, moe_mlp
from jaxserve.model.rope import apply_rope, rope_tables
from pallas_kernels.matmul import (
    XLA_MATMUL,
    MatmulKernel,
    QuantizedMatrix,
    quantize_fp8,
    quantize_int8,
)

Params = dict
# A quantized KV cache's per-channel scales (`jaxserve.model.kv_quant`), among the layers'.
KV_SCALES = ("k_cache_scale", "v_cache_scale")


def rms_norm(x: jax.Array, weight: jax.Array, eps: float) -> jax.Array:
    """Normalizes in float32, casts back, then scales (the reference's order of operations)."""
    xf = x.astype(jnp.float32)
    xf = xf * jax.lax.rsqrt(jnp.mean(xf * xf, axis=-1, keepdims=True) + eps)
    return weight * xf.astype(x.dtype)


# Per-layer weight matrices, each multiplied as [L, in, out] (heads folded into in or out).
MATRICES = ("wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down")
# A mixture of experts' matrices, [L, X, in, out], multiplied by the grouped matmul.
EXPERT_MATRICES = ("we_gate", "we_up", "we_down")
# Matrices that multiply the same input, side by side in one [L, E, sum of outs] matrix.
FUSED = {"w_qkv": ("wq", "wk", "wv"), "w_gate_up": ("w_gate", "w_up")}


QUANTIZERS = {"int8": quantize_int8, "fp8": quantize_fp8}


def quantize_params(params: Params, method: str = "int8") -> Params:
    """Each layer matrix and the LM head as int8 (or, for "fp8", float8_e4m3fn) per output
    column (the layer matrices `[L, in, out]`, heads folded, as the layer loop multiplies
    them), and each expert's matrices per output column of that expert: weight-only. A tied
    model keeps its embeddings for the lookup and gets a quantized head of its own: a decode
    step reads the head whole, the embeddings a row per token.

    A checkpoint stored so (`ModelConfig.prequantized`) comes with int8 matrices and their
    "<name>_scale" beside them: they are paired as they are, not rounded again (its head,
    which such checkpoints leave unquantized, is rounded here).
    """
    quantize = QUANTIZERS[method]
    layers = dict(params["layers"])
    for name in [n for n in layers if n in EXPERT_MATRICES]:  # [L, X, in, out]: per expert
        w = layers[name]
        layers[name] = jax.jit(quantize)(w)
        _free([w])
    for name in [n for n in layers if n in MATRICES]:
        w = layers[name]
        flat = _fold(name, w)
        scale = layers.pop(name + "_scale", None)
        if scale is not None:  # stored int8: paired with its scales as it is
            layers[name] = QuantizedMatrix(flat, scale)
            continue
        layers[name] = jax.jit(quantize)(flat)
        _free([w, flat])
    params = {**params, "layers": layers}
    if "lm_head" in params:
        head = params["lm_head"]
        params["lm_head"] = jax.jit(quantize)(head)
        _free([head])
    else:
        params["lm_head"] = jax.jit(lambda e: quantize(e.T))(params["embed"])  # [E, V]
    return params


def _fold(name: str, w: jax.Array | QuantizedMatrix) -> jax.Array | QuantizedMatrix:
    """A stacked layer matrix as `[L, in, out]`: heads folded into in (wo) or out (a
    quantized one is folded already)."""
    if isinstance(w, QuantizedMatrix):
        return w
    return w.reshape(w.shape[0], -1, w.shape[-1]) if name == "wo" else w.reshape(*w.shape[:2], -1)


def prepare_params(params: Params, matmul: MatmulKernel) -> Params:
    """`params` as `matmul` reads them, done once at load.

    A kernel that `reads_stacked` gets each group of `FUSED` concatenated along its output
    axis (one product for q, k, v and one for gate, up: fewer calls, wider products), every
    matrix as `[L, in, out]` and then in its layout (`MatmulKernel.pack`); a tied model's LM
    head is packed from the embeddings into "lm_head", and "embed" goes: its rows are read
    back from the head (`MatmulKernel.columns`), so the embeddings are stored once. XLA's dot
    fuses separate products itself (and tensor parallelism shards them by heads), so it gets
    `params` unchanged. Each source array is freed as soon as its replacement exists.
    """
    if not matmul.reads_stacked:
        return params
    layers = dict(params["layers"])
    for fused, names in FUSED.items():
        if not all(name in layers for name in names):
            continue  # a model with experts and no dense MLP
        parts = [_fold(name, layers.pop(name)) for name in names]
        # Side by side on the output axis: a QuantizedMatrix's q and scale alike.
        layers[fused] = jax.tree.map(lambda *a: jnp.concatenate(a, axis=-1), *parts)
        _free(jax.tree.leaves(parts))
    for name in [n for n in layers if n in MATRICES or n in FUSED]:
        w = layers[name]
        flat = _fold(name, w)
        layers[name] = _pack(matmul, flat)
        _free([*jax.tree.leaves(w), *jax.tree.leaves(flat)], keep=layers[name])
    params = {**params, "layers": layers}
    if "lm_head" in params:
        head = params["lm_head"]
        params["lm_head"] = _pack(matmul, head)
        _free([head], keep=params["lm_head"])
    elif matmul.layout is not None:  # tied: the embeddings are the head's columns
        embed = params.pop("embed")
        params["lm_head"] = _pack(matmul, embed, transposed=True)
        _free([embed], keep=params["lm_head"])
    return params


def _pack(matmul: MatmulKernel, w: jax.Array, *, transposed: bool = False):
    return jax.jit(functools.partial(matmul.pack, transposed=transposed))(w)


def _free(arrays, keep=None) -> None:
    """Deletes `arrays` now rather than when collected, except any that `keep` holds."""
    kept = {id(leaf) for leaf in jax.tree.leaves(keep)}
    for a in arrays:
        if isinstance(a, jax.Array) and id(a) not in kept and not a.is_deleted():
            a.delete()


def embed_tokens(params: Params, token_ids: jax.Array, matmul: MatmulKernel) -> jax.Array:
    """The embeddings of `token_ids`, [T, E]: from "embed", or read back from a tied head."""
    if "embed" in params:
        return params["embed"][token_ids]
    return matmul.columns(params["lm_head"], token_ids)


def forward(
    params: Params,
    kv_cache: KVCache,
    batch: StepBatch,
    *,
    cfg: ModelConfig,
    attention: AttentionOp | Mapping[int | None, AttentionOp],
    matmul: MatmulKernel = XLA_MATMUL,
    grouped_matmul: GroupedMatmul = jax.lax.ragged_dot,
) -> tuple[jax.Array, KVCache]:
    """Runs the decoder over one step's tokens.

    `attention`: the op of every layer, or one op per sliding window (None: global) where the
    layers' windows differ (`cfg.windows`). `matmul` multiplies by one layer's weights:
    `matmul(x[T, in], w[in, out])` with the slice the layer loop takes or, for a kernel that
    `reads_stacked`, `matmul(x, w[L, in, out], layer)` with all layers' stacked weights and
    the index, to read them in place. The activations are in the kernel's `activation_dtype`,
    else the norms' (the compute dtype). `grouped_matmul` multiplies the experts of a
    mixture-of-experts model (`jaxserve.model.moe`).

    The layers run as one `lax.scan` over groups of the windows' repeating pattern (one layer
    for most models; Gemma 3's five local and one global), the layers of a group unrolled so
    each has its window and RoPE as static facts; layers past the last whole group follow.

    Returns:
        The final hidden states [T, E] and the cache with this step's K/V written.
    """
    num_layers = cfg.num_layers
    act_dtype = matmul.activation_dtype or params["final_norm"].dtype
    x = embed_tokens(params, batch.token_ids, matmul).astype(act_dtype)  # [T, E]
    if cfg.gemma:
        x = x * jnp.asarray(cfg.hidden_size**0.5, act_dtype)
    if batch.mm_embeds is not None:  # image placeholder tokens take the image's embeddings
        x = jnp.where(batch.mm_mask[:, None] > 0, batch.mm_embeds.astype(act_dtype), x)
    ropes = {False: rope_tables(cfg.rope, batch.positions)}  # (cos, sin): [T, D/2] each
    if cfg.local_rope is not None:
        ropes[True] = rope_tables(cfg.local_rope, batch.positions)
    windows = cfg.windows
    ops = attention if isinstance(attention, Mapping) else dict.fromkeys(windows, attention)
    layers = params["layers"]
    # A kernel reads the stacked weights in place at the layer index, as `prepare_params`
    # laid them out; XLA's own dot gets each layer's slice from the scan, which it fuses best.
    in_place = matmul.reads_stacked
    mats = {
        name: w
        if in_place or isinstance(w, QuantizedMatrix)  # quantized: [L, in, out] already
        else w.reshape(num_layers, -1, w.shape[-1])
        if name == "wo"
        else w.reshape(*w.shape[:2], -1)
        for name, w in layers.items()
        if name in MATRICES or name in FUSED
    }  # [L, in, out]; folding the trailing (or, for wo, leading) head axes is free
    scanned = {name: w for name, w in layers.items() if name not in mats}
    if not in_place:
        scanned.update(mats)

    def layer(carry, lp, i, window: int | None):
        def dense(h: jax.Array, name: str) -> jax.Array:
            return matmul(h, mats[name], i) if in_place else matmul(h, lp[name])

        local = window is not None and cfg.local_rope is not None
        return _decoder_layer(
            carry, lp, i, dense, ops[window], ropes[local], batch, kv_cache, cfg, fused,
            grouped_matmul,
        )  # fmt: skip

    fused = ("w_qkv" in mats, "w_gate_up" in mats)

    period = _pattern_period(windows)
    groups = num_layers // period

    def group(carry, inputs):
        lps, g = inputs  # lps: this group's layers' params, [period, ...] each
        for j in range(period):
            lp = lps if period == 1 else jax.tree.map(lambda w, j=j: w[j], lps)
            carry = layer(carry, lp, g * period + j, windows[j])
        return carry, None

    if period == 1:
        grouped = scanned
    else:
        grouped = jax.tree.map(
            lambda w: w[: groups * period].reshape(groups, period, *w.shape[1:]), scanned
        )
    group_ids = jnp.arange(groups, dtype=jnp.int32)
    carry = (x, kv_cache.k, kv_cache.v)
    carry, _ = jax.lax.scan(group, carry, (grouped, group_ids))
    for i in range(groups * period, num_layers):  # a last, partial group
        carry = layer(carry, jax.tree.map(lambda w, i=i: w[i], scanned), i, windows[i])
    x, k_all, v_all = carry
    x = rms_norm(x, params["final_norm"], cfg.rms_norm_eps)
    return x, KVCache(k=k_all, v=v_all)


def _pattern_period(windows: tuple[int | None, ...]) -> int:
    """The length of the shortest pattern the layers' windows repeat (the last repeat may be
    cut short)."""
    for period in range(1, len(windows) + 1):
        if all(w == windows[i % period] for i, w in enumerate(windows)):
            return period
    return len(windows)


def _activation(name: str, gate: jax.Array) -> jax.Array:
    return jax.nn.silu(gate) if name == "silu" else jax.nn.gelu(gate, approximate=True)


def _decoder_layer(
    carry, lp, i, dense, attention, rope, batch, kv_cache, cfg, fused, grouped_matmul
):
    """One decoder layer: attention, then the gated MLP or the experts, each a residual branch
    (Gemma: with a norm on the branch's output too). `dense(h, name)` multiplies by one of the
    layer's matrices; `fused`: whether q/k/v and gate/up are one matrix each (`FUSED`)."""
    x, k_all, v_all = carry  # k_all, v_all: [L, P, page_size, K, D]
    num_tokens, num_pages, page_size = x.shape[0], kv_cache.num_pages, kv_cache.page_size
    h = rms_norm(x, lp["attn_norm"], cfg.rms_norm_eps)
    if fused[0]:
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
    cos, sin = rope
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
        *((lp["sinks"],) if cfg.attention_sinks else ()),
        *(lp[name] for name in KV_SCALES if name in lp),  # a quantized cache's scales
    )
    out = dense(out.reshape(num_tokens, -1), "wo")
    if cfg.o_bias:
        out = out + lp["bo"]
    if cfg.gemma:
        out = rms_norm(out, lp["post_attn_norm"], cfg.rms_norm_eps)
    x = x + out

    h = rms_norm(x, lp["mlp_norm"], cfg.rms_norm_eps)
    activation = functools.partial(_activation, cfg.hidden_act)
    if cfg.moe is None or cfg.moe.shared_expert_size:  # the dense MLP, or the shared expert
        if fused[1]:
            gate, up = jnp.split(dense(h, "w_gate_up"), 2, axis=-1)  # [T, F] each
        else:
            gate, up = dense(h, "w_gate"), dense(h, "w_up")  # [T, F] each
        out = dense(activation(gate) * up, "w_down")
    if cfg.moe is not None:
        experts = moe_mlp(h, lp, cfg.moe, activation, grouped_matmul)
        if cfg.moe.shared_expert_size:
            shared_gate = jnp.dot(h, lp["shared_gate"], preferred_element_type=jnp.float32)
            experts = experts + (jax.nn.sigmoid(shared_gate) * out).astype(h.dtype)
        out = experts
    if cfg.gemma:
        out = rms_norm(out, lp["post_mlp_norm"], cfg.rms_norm_eps)
    return x + out, k_all, v_all


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
    if "lm_head" in params:  # untied, or tied and packed from the embeddings at load
        logits = matmul(h, params["lm_head"])
    else:
        logits = matmul(h, params["embed"], transposed=True)
    logits = logits.astype(jnp.float32)
    if cfg.final_logit_softcap:
        cap = cfg.final_logit_softcap
        logits = cap * jnp.tanh(logits / cap)
    return logits
