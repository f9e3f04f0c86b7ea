"""Hugging Face tensor names and layouts -> jaxserve's stacked params pytree, sharded."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection

import jax
import jax.numpy as jnp
import numpy as np
from flax import traverse_util
from jax.sharding import Mesh

from jaxserve.errors import CheckpointError
from jaxserve.loader import mxfp4
from jaxserve.loader.checkpoint import HFCheckpoint
from jaxserve.model.config import ModelConfig
from jaxserve.progress import progress_bar
from jaxserve.sharding import param_shardings


@dataclasses.dataclass(frozen=True)
class Part:
    """One stored part of a tensor kept in several (MXFP4: its codes, its scales)."""

    suffix: str  # the part's tensor name is the whole tensor's plus this
    shape: tuple[int, ...]
    dtype: np.dtype  # stored so


# The parts, in the order the rule names them, and the dtype to make -> the whole tensor.
Combine = Callable[[list[np.ndarray], np.dtype], np.ndarray]


@dataclasses.dataclass(frozen=True)
class TensorRule:
    """Where one param's tensor lives in a HF checkpoint and how to lay it out.

    A tensor stored whole is read as is. One stored in `parts` (each with its own shape) is
    made from them by `combine`, in the dtype asked for and of shape `hf_shape`, for `to_jax`
    to lay out as it would the tensor read whole.
    """

    hf_name: str  # "{i}" stands for the layer index of per-layer tensors, "{j}" the expert's
    hf_shape: tuple[int, ...]
    to_jax: Callable[[np.ndarray], np.ndarray] = lambda w: w
    experts: int = 0  # per-expert tensors: stacked on an expert axis after the layer axis
    parts: tuple[Part, ...] = ()
    combine: Combine | None = None

    @property
    def per_layer(self) -> bool:
        return "{i}" in self.hf_name

    def names(self, num_layers: int) -> list[list[str]]:
        """The tensors of this param: per layer (one list, of one name unless per expert);
        one list of one name for a param that is not per layer. A tensor stored in parts
        is named here as if whole; `stored_names` names its parts."""
        layers = range(num_layers) if self.per_layer else [0]
        experts = range(self.experts) if self.experts else [0]
        return [[self.hf_name.format(i=i, j=j) for j in experts] for i in layers]

    def stored_names(self, num_layers: int) -> list[str]:
        """Every checkpoint tensor this param reads."""
        names = [n for layer in self.names(num_layers) for n in layer]
        return [n + p.suffix for n in names for p in self.parts] if self.parts else names

    def jax_shape(self, num_layers: int) -> tuple[int, ...]:
        stacked = ((num_layers,) if self.per_layer else ()) + (
            (self.experts,) if self.experts else ()
        )
        return stacked + self.to_jax(np.empty(self.hf_shape, np.int8)).shape


def tensor_rules(cfg: ModelConfig) -> dict[str, TensorRule]:
    """Param path -> where its tensor lives in a HF checkpoint and how to lay it out."""
    e, h, k, d, f, v = (
        cfg.hidden_size,
        cfg.num_heads,
        cfg.num_kv_heads,
        cfg.head_dim,
        cfg.intermediate_size,
        cfg.vocab_size,
    )
    layer = "model.layers.{i}."
    rules = {
        "embed": TensorRule("model.embed_tokens.weight", (v, e)),
        "final_norm": TensorRule("model.norm.weight", (e,)),
        "layers/attn_norm": TensorRule(layer + "input_layernorm.weight", (e,)),
        "layers/mlp_norm": TensorRule(layer + "post_attention_layernorm.weight", (e,)),
        # torch Linear stores [out, in]; we keep [in, out] with heads split out.
        "layers/wq": TensorRule(
            layer + "self_attn.q_proj.weight", (h * d, e), lambda w: w.T.reshape(e, h, d)
        ),
        "layers/wk": TensorRule(
            layer + "self_attn.k_proj.weight", (k * d, e), lambda w: w.T.reshape(e, k, d)
        ),
        "layers/wv": TensorRule(
            layer + "self_attn.v_proj.weight", (k * d, e), lambda w: w.T.reshape(e, k, d)
        ),
        "layers/wo": TensorRule(
            layer + "self_attn.o_proj.weight", (e, h * d), lambda w: w.T.reshape(h, d, e)
        ),
        "layers/w_gate": TensorRule(layer + "mlp.gate_proj.weight", (f, e), lambda w: w.T),
        "layers/w_up": TensorRule(layer + "mlp.up_proj.weight", (f, e), lambda w: w.T),
        "layers/w_down": TensorRule(layer + "mlp.down_proj.weight", (e, f), lambda w: w.T),
    }
    if cfg.fused_projections:
        rules.update(_fused_rules(cfg))
    if cfg.qkv_bias:
        rules["layers/bq"] = TensorRule(
            layer + "self_attn.q_proj.bias", (h * d,), lambda b: b.reshape(h, d)
        )
        rules["layers/bk"] = TensorRule(
            layer + "self_attn.k_proj.bias", (k * d,), lambda b: b.reshape(k, d)
        )
        rules["layers/bv"] = TensorRule(
            layer + "self_attn.v_proj.bias", (k * d,), lambda b: b.reshape(k, d)
        )
    if cfg.o_bias:
        rules["layers/bo"] = TensorRule(layer + "self_attn.o_proj.bias", (e,))
    if cfg.attention_sinks:
        rules["layers/sinks"] = TensorRule(layer + "self_attn.sinks", (h,))
    if cfg.qk_norm:
        rules["layers/q_norm"] = TensorRule(layer + "self_attn.q_norm.weight", (d,))
        rules["layers/k_norm"] = TensorRule(layer + "self_attn.k_norm.weight", (d,))
    if not cfg.tie_word_embeddings:
        rules["lm_head"] = TensorRule("lm_head.weight", (v, e), lambda w: w.T)
    if cfg.gemma:
        rules.update(_gemma_norms(cfg, rules))
    if cfg.moe is not None:
        rules = _moe_rules(cfg, rules)
    if cfg.prequantized == "int8":
        rules.update(_scale_rules(rules))
    return rules


QUANTIZED_MATRICES = tuple(
    f"layers/{name}" for name in ("wq", "wk", "wv", "wo", "w_gate", "w_up", "w_down")
)


def _scale_rules(rules: dict[str, TensorRule]) -> dict[str, TensorRule]:
    """Each int8 matrix's `weight_scale` [out, 1], as "<param>_scale" [out]."""
    return {
        path + "_scale": TensorRule(
            rules[path].hf_name.removesuffix(".weight") + ".weight_scale",
            (rules[path].hf_shape[0], 1),
            lambda s: s[:, 0],
        )
        for path in QUANTIZED_MATRICES
    }


MOE_NAMES = {  # router, expert (gate, up, down), shared expert prefix, shared expert gate
    "mixtral": ("block_sparse_moe.gate", ("w1", "w3", "w2"), "block_sparse_moe.experts.{j}.", None),
    "qwen": ("mlp.gate", ("gate_proj", "up_proj", "down_proj"), "mlp.experts.{j}.", "mlp."),
}


def _moe_rules(cfg: ModelConfig, rules: dict[str, TensorRule]) -> dict[str, TensorRule]:
    """The experts in place of the dense MLP (which stays, as the shared expert, where the
    model has one)."""
    assert cfg.moe is not None and cfg.moe_naming is not None
    if cfg.moe_naming == "gpt_oss":
        return _gpt_oss_expert_rules(cfg, rules)
    moe, e, layer = cfg.moe, cfg.hidden_size, "model.layers.{i}."
    router, (gate, up, down), experts, shared = MOE_NAMES[cfg.moe_naming]
    x, fe = moe.num_experts, moe.expert_size
    out = {path: rule for path, rule in rules.items() if path not in DENSE_MLP}
    out["layers/router"] = TensorRule(layer + router + ".weight", (x, e), lambda w: w.T)
    for path, name, shape in (("we_gate", gate, (fe, e)), ("we_up", up, (fe, e)),
                              ("we_down", down, (e, fe))):  # fmt: skip
        out["layers/" + path] = TensorRule(
            layer + experts + name + ".weight", shape, lambda w: w.T, experts=x
        )
    if moe.shared_expert_size:
        f = moe.shared_expert_size
        for path, name, shape in (("w_gate", "gate_proj", (f, e)), ("w_up", "up_proj", (f, e)),
                                  ("w_down", "down_proj", (e, f))):  # fmt: skip
            hf_name = f"{layer}{shared}shared_expert.{name}.weight"
            out["layers/" + path] = TensorRule(hf_name, shape, lambda w: w.T)
        out["layers/shared_gate"] = TensorRule(
            f"{layer}{shared}shared_expert_gate.weight", (1, e), lambda w: w.T
        )
    return out


DENSE_MLP = ("layers/w_gate", "layers/w_up", "layers/w_down")


def _gpt_oss_expert_rules(cfg: ModelConfig, rules: dict[str, TensorRule]) -> dict[str, TensorRule]:
    """gpt-oss's experts: all of a layer's in one tensor per projection, stored [in, out]
    (not torch Linear's [out, in]); gate and up interleaved column by column in
    `gate_up_proj` (gate the even columns, up the odd), each projection with its bias, and a
    router with a bias. The release checkpoints store the expert matrices as MXFP4."""
    assert cfg.moe is not None
    x, fe, e = cfg.moe.num_experts, cfg.moe.expert_size, cfg.hidden_size
    mlp = "model.layers.{i}.mlp."
    gate_up, gate_up_bias = mlp + "experts.gate_up_proj", mlp + "experts.gate_up_proj_bias"
    out = {path: rule for path, rule in rules.items() if path not in DENSE_MLP}
    out |= {
        "layers/router": TensorRule(mlp + "router.weight", (x, e), lambda w: w.T),
        "layers/router_bias": TensorRule(mlp + "router.bias", (x,)),
        "layers/we_gate": TensorRule(gate_up, (x, e, 2 * fe), lambda w: w[..., 0::2]),
        "layers/we_up": TensorRule(gate_up, (x, e, 2 * fe), lambda w: w[..., 1::2]),
        "layers/we_down": TensorRule(mlp + "experts.down_proj", (x, fe, e)),
        "layers/be_gate": TensorRule(gate_up_bias, (x, 2 * fe), lambda b: b[..., 0::2]),
        "layers/be_up": TensorRule(gate_up_bias, (x, 2 * fe), lambda b: b[..., 1::2]),
        "layers/be_down": TensorRule(mlp + "experts.down_proj_bias", (x, e)),
    }
    if cfg.mxfp4_experts:
        down = mlp + "experts.down_proj"
        out |= {
            "layers/we_gate": _mxfp4_experts(gate_up, (x, e, 2 * fe), slice(0, None, 2)),
            "layers/we_up": _mxfp4_experts(gate_up, (x, e, 2 * fe), slice(1, None, 2)),
            "layers/we_down": _mxfp4_experts(down, (x, fe, e)),
        }
    return out


def _mxfp4_experts(
    name: str, shape: tuple[int, int, int], columns: slice = slice(None)
) -> TensorRule:
    """The `columns` of expert tensor `name` [X, in, out], stored as gpt-oss's release
    checkpoints store it: the MXFP4 codes of its transpose in `_blocks` u8[X, out, in / 32, 16],
    their scales in `_scales` u8[X, out, in / 32]. Only the codes of those columns (gate's or
    up's) are decoded, a layer at a time, straight into the dtype asked for."""
    x, n, m = shape  # n: a multiple of 32 (the model config checks)
    groups = n // mxfp4.BLOCK
    parts = (
        Part("_blocks", (x, m, groups, mxfp4.BLOCK // 2), np.dtype(np.uint8)),
        Part("_scales", (x, m, groups), np.dtype(np.uint8)),
    )

    def combine(stored: list[np.ndarray], dtype: np.dtype) -> np.ndarray:
        blocks, scales = (part[:, columns] for part in stored)  # rows of the transpose
        return mxfp4.dequantize(blocks, scales, dtype).transpose(0, 2, 1)  # [X, in, columns]

    return TensorRule(name, (x, n, len(range(m)[columns])), parts=parts, combine=combine)


def _gemma_norms(cfg: ModelConfig, rules: dict[str, TensorRule]) -> dict[str, TensorRule]:
    """Gemma's norms: a norm after attention and after the MLP as well as before each (HF's
    `post_attention_layernorm` is the one after attention, not the MLP's), each scaling by
    (1 + w), so 1 + w is stored and the model graph's RMSNorm serves every family."""
    e, layer = cfg.hidden_size, "model.layers.{i}."
    names = {
        "layers/post_attn_norm": layer + "post_attention_layernorm.weight",
        "layers/mlp_norm": layer + "pre_feedforward_layernorm.weight",
        "layers/post_mlp_norm": layer + "post_feedforward_layernorm.weight",
    }
    norms = {path: TensorRule(name, (e,)) for path, name in names.items()}
    for path in ("final_norm", "layers/attn_norm", "layers/q_norm", "layers/k_norm"):
        if path in rules:  # q/k norms: Gemma 3, not 2
            norms[path] = rules[path]
    return {
        path: dataclasses.replace(rule, to_jax=lambda w: w.astype(np.float32) + 1)
        for path, rule in norms.items()
    }


def _fused_rules(cfg: ModelConfig) -> dict[str, TensorRule]:
    """Phi-3's layout: rows of `qkv_proj` are q, then k, then v; rows of `gate_up_proj` are
    the gate, then up. Each param reads its rows of the one tensor (memory-mapped)."""
    e, h, k, d, f = (
        cfg.hidden_size,
        cfg.num_heads,
        cfg.num_kv_heads,
        cfg.head_dim,
        cfg.intermediate_size,
    )
    qkv = "model.layers.{i}.self_attn.qkv_proj.weight"
    gate_up = "model.layers.{i}.mlp.gate_up_proj.weight"
    q_rows, kv_rows = h * d, k * d

    def rows(start: int, stop: int | None, *heads: int) -> Callable[[np.ndarray], np.ndarray]:
        return lambda w: w[start:stop].T.reshape(e, *heads)

    qkv_shape = (q_rows + 2 * kv_rows, e)
    return {
        "layers/wq": TensorRule(qkv, qkv_shape, rows(0, q_rows, h, d)),
        "layers/wk": TensorRule(qkv, qkv_shape, rows(q_rows, q_rows + kv_rows, k, d)),
        "layers/wv": TensorRule(qkv, qkv_shape, rows(q_rows + kv_rows, None, k, d)),
        "layers/w_gate": TensorRule(gate_up, (2 * f, e), rows(0, f, f)),
        "layers/w_up": TensorRule(gate_up, (2 * f, e), rows(f, None, f)),
    }


def _stored(ckpt: HFCheckpoint, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """The tensor `name`, memory-mapped, once its shape is the one config.json implies."""
    if ckpt.shape(name) != shape:
        raise CheckpointError(
            f"tensor {name!r} in {ckpt.path} has shape {list(ckpt.shape(name))}, "
            f"but config.json implies {list(shape)}"
        )
    return ckpt.tensor(name)


def _read(ckpt: HFCheckpoint, name: str, rule: TensorRule, dtype: np.dtype) -> np.ndarray:
    if not rule.parts:
        return np.ascontiguousarray(rule.to_jax(_stored(ckpt, name, rule.hf_shape)).astype(dtype))
    assert rule.combine is not None
    parts = [_stored(ckpt, name + part.suffix, part.shape) for part in rule.parts]
    for part, value in zip(rule.parts, parts, strict=True):
        if value.dtype != part.dtype:
            raise CheckpointError(
                f"tensor {name + part.suffix!r} in {ckpt.path} is {value.dtype}, "
                f"but its format stores {part.dtype}"
            )
    return np.ascontiguousarray(rule.to_jax(rule.combine(parts, dtype)))


def load_params(
    ckpt: HFCheckpoint,
    dtype: jnp.dtype,
    mesh: Mesh,
    *,
    keep_bfloat16: Collection[str] = (),
    as_bfloat16: Collection[str] = (),
) -> dict:
    """Reads, converts to `dtype`, lays out and shards every parameter of the checkpoint.

    Params whose path is in `keep_bfloat16` (e.g. "layers/wq") stay bfloat16 where the
    checkpoint stores them so, for a matmul that widens them exactly as it reads them. Those
    in `as_bfloat16` become bfloat16 however they are stored, for a matmul that multiplies
    bfloat16 weights.
    """
    cfg = ckpt.config
    rules = tensor_rules(cfg)
    for rule in rules.values():  # fail on a missing tensor before reading anything
        for name in rule.stored_names(cfg.num_layers):
            if not ckpt.has(name):
                raise CheckpointError(f"missing tensor {name!r} in {ckpt.path}")
    np_dtype = np.dtype(dtype)
    shapes = {path: rule.jax_shape(cfg.num_layers) for path, rule in rules.items()}
    shardings = param_shardings(shapes, mesh)
    flat = {}
    for path, rule in progress_bar(rules.items(), desc="loading weights", unit="tensor"):
        names = rule.names(cfg.num_layers)
        stored = {ckpt.tensor(n).dtype for n in rule.stored_names(cfg.num_layers)}  # mapped
        want = param_dtype(path, stored, np_dtype, cfg, keep_bfloat16, as_bfloat16)
        layers = [[_read(ckpt, n, rule, want) for n in layer] for layer in names]
        per_layer = [np.stack(t) if rule.experts else t[0] for t in layers]
        value = np.stack(per_layer) if rule.per_layer else per_layer[0]
        flat[path] = jax.device_put(value, shardings[path])
    return traverse_util.unflatten_dict(flat, sep="/")


def param_dtype(
    path: str,
    stored: Collection[np.dtype],
    dtype: np.dtype,
    cfg: ModelConfig,
    keep_bfloat16: Collection[str] = (),
    as_bfloat16: Collection[str] = (),
) -> np.dtype:
    """The dtype `load_params` gives param `path`, whose tensors the checkpoint stores in
    `stored`, for compute in `dtype` (also what an Orbax restore casts each param to)."""
    bf16 = np.dtype(jnp.bfloat16)
    if cfg.prequantized == "int8" and path in QUANTIZED_MATRICES:
        int8 = np.dtype(np.int8)  # kept as stored; `weight_scale` comes beside it
        if set(stored) != {int8}:
            raise CheckpointError(f"{path}: a W8A16 checkpoint stores int8, got {set(stored)}")
        return int8
    if path.endswith("_scale"):
        return np.dtype(np.float32)
    keep = path in keep_bfloat16 and set(stored) == {bf16}
    return bf16 if keep or path in as_bfloat16 else np.dtype(dtype)
