"""`ModelConfig`: the architecture facts the model graph needs, read from a HF `config.json`."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from jaxserve.errors import ModelConfigError
from jaxserve.model.moe import MoEConfig
from jaxserve.model.rope import RopeConfig


@dataclasses.dataclass(frozen=True, kw_only=True)
class ArchitectureTraits:
    """What distinguishes one Llama-family architecture from another."""

    qkv_bias: bool = False  # Qwen2: q/k/v projections carry a bias
    qk_norm: bool = False  # Qwen3: RMSNorm over each head of q and k before RoPE
    # Phi-3: q, k, v in one `qkv_proj` tensor and gate, up in one `gate_up_proj`
    fused_projections: bool = False
    # Gemma 3: (1 + w) RMSNorm weights, a norm after attention and after the MLP too,
    # embeddings scaled by sqrt(hidden size), local and global layers with their own RoPE.
    gemma: bool = False
    # Mixture of experts: how the checkpoint names them ("mixtral", "qwen" or "gpt_oss")
    moe: str | None = None
    # gpt-oss: a learned sink logit per attention head, biases on every attention projection
    attention_sinks: bool = False


ARCHITECTURES: dict[str, ArchitectureTraits] = {
    "LlamaForCausalLM": ArchitectureTraits(),
    "MistralForCausalLM": ArchitectureTraits(),
    "Qwen2ForCausalLM": ArchitectureTraits(qkv_bias=True),
    "Qwen3ForCausalLM": ArchitectureTraits(qk_norm=True),
    "Phi3ForCausalLM": ArchitectureTraits(fused_projections=True),
    "Gemma2ForCausalLM": ArchitectureTraits(gemma=True),
    "Gemma3ForCausalLM": ArchitectureTraits(qk_norm=True, gemma=True),
    "MixtralForCausalLM": ArchitectureTraits(moe="mixtral"),
    "Qwen2MoeForCausalLM": ArchitectureTraits(qkv_bias=True, moe="qwen"),
    "Qwen3MoeForCausalLM": ArchitectureTraits(qk_norm=True, moe="qwen"),
    "GptOssForCausalLM": ArchitectureTraits(moe="gpt_oss", attention_sinks=True),
}
# Vision-language models: architecture -> (the family of its image side, its text model's
# architecture where the config does not say it through `text_config.model_type`).
MULTIMODAL_ARCHITECTURES: dict[str, tuple[str, str | None]] = {
    "Qwen2_5_VLForConditionalGeneration": ("qwen2_5_vl", "Qwen2ForCausalLM"),
    "LlavaForConditionalGeneration": ("llava", None),
}
# A VLM's `text_config.model_type` -> the text architecture it names.
TEXT_MODEL_TYPES = {
    "llama": "LlamaForCausalLM",
    "mistral": "MistralForCausalLM",
    "qwen2": "Qwen2ForCausalLM",
    "qwen3": "Qwen3ForCausalLM",
    "phi3": "Phi3ForCausalLM",
    "gemma2": "Gemma2ForCausalLM",
}
# HF activation names -> the MLP's gate activation.
ACTIVATIONS = {"silu": "silu", "gelu_pytorch_tanh": "gelu_tanh", "gelu_tanh": "gelu_tanh"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Hashable, so jitted functions take it as a static argument."""

    architecture: str
    vocab_size: int  # V
    hidden_size: int  # E
    intermediate_size: int  # F
    num_layers: int  # L
    num_heads: int  # H
    num_kv_heads: int  # K
    head_dim: int  # D
    rms_norm_eps: float
    rope: RopeConfig
    max_position_embeddings: int
    tie_word_embeddings: bool
    qkv_bias: bool
    qk_norm: bool
    o_bias: bool = False  # the attention's output projection carries a bias
    attention_sinks: bool = False  # gpt-oss: one learned sink logit per head and layer
    fused_projections: bool = False  # how the checkpoint stores q/k/v and gate/up
    gemma: bool = False  # Gemma's norms and embedding scale (see ArchitectureTraits)
    hidden_act: str = "silu"  # the MLP gate's: "silu" or "gelu_tanh"
    query_pre_attn_scalar: float | None = None  # scores scaled by its -1/2 power, not D's
    attn_logit_softcap: float | None = None  # attention scores -> cap * tanh(scores / cap)
    final_logit_softcap: float | None = None  # logits -> cap * tanh(logits / cap)
    sliding_window: int | None = None  # the window of every layer, where all share one
    # Per layer, where they differ: its window, None for a global layer (Gemma 3 has five
    # local layers to each global one). Empty: every layer has `sliding_window`.
    layer_windows: tuple[int | None, ...] = ()
    local_rope: RopeConfig | None = None  # the RoPE of local layers, where not `rope`
    moe: MoEConfig | None = None  # every layer's MLP is a mixture of experts
    moe_naming: str | None = None  # the checkpoint's expert tensor names (ArchitectureTraits)
    # The checkpoint's layer matrices are stored quantized: "int8" (compressed-tensors W8A16,
    # int8 per output channel, `weight` and `weight_scale` tensors).
    prequantized: str | None = None
    # gpt-oss's release format: the experts stored as MXFP4 codes and scales, which the loader
    # dequantizes into the model's dtype, so the model graph sees plain weights.
    mxfp4_experts: bool = False
    eos_token_ids: tuple[int, ...] = ()
    bos_token_id: int | None = None
    # A vision-language model: the family of its image side ("qwen2_5_vl", "llava") and the
    # token that stands for image embeddings in the prompt. The fields above are its text
    # model's.
    multimodal: str | None = None
    image_token_id: int | None = None

    def __post_init__(self) -> None:
        for name in (
            "vocab_size",
            "hidden_size",
            "intermediate_size",
            "num_layers",
            "num_heads",
            "num_kv_heads",
            "head_dim",
        ):
            if getattr(self, name) <= 0:
                raise ModelConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.num_heads % self.num_kv_heads:
            raise ModelConfigError(
                f"num_attention_heads ({self.num_heads}) must be a multiple of "
                f"num_key_value_heads ({self.num_kv_heads})"
            )

    @property
    def sm_scale(self) -> float:
        return (self.query_pre_attn_scalar or self.head_dim) ** -0.5

    @property
    def windows(self) -> tuple[int | None, ...]:
        """Each layer's sliding window (None: it attends to the whole sequence)."""
        return self.layer_windows or (self.sliding_window,) * self.num_layers

    @property
    def mrope(self) -> bool:
        """Whether positions are 3-D (temporal, height, width): Qwen2.5-VL's M-RoPE."""
        return bool(self.rope.mrope_section)

    @classmethod
    def from_hf(cls, hf: Mapping[str, Any]) -> ModelConfig:
        """Builds the config from a parsed HF `config.json`."""
        archs = hf.get("architectures") or []
        multimodal = next((a for a in archs if a in MULTIMODAL_ARCHITECTURES), None)
        if multimodal is not None:
            return _vision_language(hf, multimodal)
        arch = next((a for a in archs if a in ARCHITECTURES), None)
        if arch is None:
            supported = sorted([*ARCHITECTURES, *MULTIMODAL_ARCHITECTURES])
            raise ModelConfigError(
                f"unsupported architecture {archs or '(none given)'}; "
                f"jaxserve supports {', '.join(supported)}"
            )
        traits = ARCHITECTURES[arch]
        try:
            num_heads = int(hf["num_attention_heads"])
            hidden = int(hf["hidden_size"])
            head_dim = int(hf.get("head_dim") or hidden // num_heads)
            if hf.get("mlp_bias"):
                raise ModelConfigError("mlp_bias=true is not supported")
            act = hf.get("hidden_activation") or hf.get("hidden_act") or "silu"
            if act not in ACTIVATIONS:
                raise ModelConfigError(
                    f"hidden_act {act!r} is not supported; supported: {', '.join(ACTIVATIONS)}"
                )
            num_layers = int(hf["num_hidden_layers"])
            windows = _layer_windows(hf, num_layers, traits.gemma)
            uniform = len(set(windows)) == 1
            rope, local_rope = _ropes(hf, head_dim)
            moe = _moe(hf, traits.moe) if traits.moe else None
            intermediate = int(hf["intermediate_size"]) if moe is None else moe.expert_size
            if moe is not None and moe.shared_expert_size:
                intermediate = moe.shared_expert_size  # the dense MLP's: the shared expert
            return cls(
                architecture=arch,
                vocab_size=int(hf["vocab_size"]),
                hidden_size=hidden,
                intermediate_size=intermediate,
                num_layers=num_layers,
                num_heads=num_heads,
                num_kv_heads=int(hf.get("num_key_value_heads") or num_heads),
                head_dim=head_dim,
                rms_norm_eps=float(hf.get("rms_norm_eps", 1e-6)),
                rope=rope,
                local_rope=local_rope,
                max_position_embeddings=int(hf.get("max_position_embeddings", 2048)),
                tie_word_embeddings=bool(hf.get("tie_word_embeddings", False)),
                qkv_bias=traits.qkv_bias or bool(hf.get("attention_bias", False)),
                qk_norm=traits.qk_norm,
                o_bias=bool(hf.get("attention_bias", False)),
                attention_sinks=traits.attention_sinks,
                fused_projections=traits.fused_projections,
                gemma=traits.gemma,
                hidden_act=ACTIVATIONS[act],
                query_pre_attn_scalar=_float_or_none(hf.get("query_pre_attn_scalar")),
                attn_logit_softcap=_float_or_none(hf.get("attn_logit_softcapping")),
                final_logit_softcap=_float_or_none(hf.get("final_logit_softcapping")),
                sliding_window=windows[0] if uniform else None,
                layer_windows=() if uniform else windows,
                moe=moe,
                moe_naming=traits.moe,
                prequantized=_prequantized(hf, traits),
                mxfp4_experts=_mxfp4_experts(hf, arch, moe, num_layers),
                eos_token_ids=_token_ids(hf.get("eos_token_id")),
                bos_token_id=hf.get("bos_token_id"),
            )
        except KeyError as e:
            raise ModelConfigError(f"config.json lacks the required key {e.args[0]!r}") from None
        except (TypeError, ValueError) as e:
            if isinstance(e, ModelConfigError):
                raise
            raise ModelConfigError(f"config.json has a malformed value: {e}") from None


def _vision_language(hf: Mapping[str, Any], arch: str) -> ModelConfig:
    """A VLM's config: its text model's (from `text_config`, or the top level where older
    checkpoints keep it), with the family of its image side and its image token."""
    family, text_arch = MULTIMODAL_ARCHITECTURES[arch]
    text_config = _with_defaults(hf.get("text_config") or {})
    text = {k: v for k, v in hf.items() if k not in ("vision_config", "text_config")}
    text.update(text_config)
    if text_arch is None:
        model_type = text_config.get("model_type", "llama")
        text_arch = TEXT_MODEL_TYPES.get(model_type)
        if text_arch is None:
            raise ModelConfigError(
                f"{arch} with a {model_type!r} text model is not supported; supported text "
                f"models: {', '.join(TEXT_MODEL_TYPES)}"
            )
    text["architectures"] = [text_arch]
    image_token = hf.get("image_token_id", hf.get("image_token_index"))
    if image_token is None:
        raise ModelConfigError(f"config.json of a {arch} lacks image_token_id")
    cfg = ModelConfig.from_hf(text)
    if family == "qwen2_5_vl" and not cfg.mrope:
        raise ModelConfigError(f"{arch} needs rope_scaling.mrope_section in config.json")
    return dataclasses.replace(
        cfg, architecture=arch, multimodal=family, image_token_id=int(image_token)
    )


# What a text model's config must state; a VLM's `text_config` may leave them to the text
# model's defaults (llava-1.5's names little more than its model_type and vocabulary).
REQUIRED_TEXT_KEYS = ("hidden_size", "num_attention_heads", "num_hidden_layers")


def _with_defaults(text_config: Mapping[str, Any]) -> dict[str, Any]:
    """`text_config` with what it leaves out filled in as transformers' config class of its
    model_type fills it (derived values, such as head_dim, from the ones it gives)."""
    if not text_config or all(key in text_config for key in REQUIRED_TEXT_KEYS):
        return dict(text_config)
    import transformers  # a pure-Python config class: no torch

    given = {k: v for k, v in text_config.items() if k != "model_type"}
    model_type = text_config.get("model_type", "llama")
    try:
        full = transformers.AutoConfig.for_model(model_type, **given).to_dict()
    except (ValueError, TypeError) as e:
        raise ModelConfigError(f"text_config could not be completed: {e}") from None
    return {**full, **text_config}


def _token_ids(value: int | list[int] | None) -> tuple[int, ...]:
    if value is None:
        return ()
    return (int(value),) if isinstance(value, int) else tuple(int(v) for v in value)


def _moe(hf: Mapping[str, Any], naming: str) -> MoEConfig:
    """The experts of a Mixtral, Qwen-MoE or gpt-oss config (every layer sparse)."""
    if hf.get("mlp_only_layers") or int(hf.get("decoder_sparse_step") or 1) != 1:
        raise ModelConfigError(
            "models with dense layers among the sparse ones (mlp_only_layers, "
            "decoder_sparse_step) are not supported"
        )
    experts = int(hf.get("num_experts") or hf["num_local_experts"])
    qwen, gpt_oss = naming == "qwen", naming == "gpt_oss"
    try:
        return MoEConfig(
            num_experts=experts,
            top_k=int(hf["num_experts_per_tok"]),
            expert_size=int(hf["moe_intermediate_size"] if qwen else hf["intermediate_size"]),
            renormalize=bool(hf.get("norm_topk_prob", False)) if qwen else True,
            shared_expert_size=int(hf.get("shared_expert_intermediate_size") or 0),
            softmax_after_top_k=gpt_oss,
            biases=gpt_oss,
            swiglu_limit=float(hf.get("swiglu_limit", 7.0)) if gpt_oss else None,
            swiglu_alpha=float(hf.get("swiglu_alpha", 1.702)),
        )
    except ValueError as e:
        raise ModelConfigError(str(e)) from None


SUPPORTED_PREQUANTIZED = (
    "compressed-tensors int-quantized (or naive-quantized) W8A16: int8 weights, symmetric, "
    "one scale per output channel; mxfp4 (gpt-oss's release checkpoints: GptOssForCausalLM "
    "experts as MXFP4 blocks and scales, dequantized as they load)"
)


def _prequantized(hf: Mapping[str, Any], traits: ArchitectureTraits) -> str | None:
    """ "int8" for a compressed-tensors W8A16 checkpoint; None for an unquantized one or an
    MXFP4 one (`_mxfp4_experts`), whose weights the model reads dequantized."""
    config = hf.get("quantization_config")
    if not config or config.get("quant_method") == "mxfp4":
        return None
    method = config.get("quant_method")
    groups = list((config.get("config_groups") or {}).values())
    weights = [g.get("weights") or {} for g in groups]
    int8_channel = bool(weights) and all(
        w.get("num_bits") == 8
        and w.get("type") == "int"
        and w.get("symmetric", True)
        and w.get("strategy") == "channel"
        for w in weights
    )
    supported = (
        method == "compressed-tensors"
        and config.get("format") in ("int-quantized", "naive-quantized")
        and int8_channel
        and not any(g.get("input_activations") for g in groups)
        and not config.get("kv_cache_scheme")
    )
    if not supported:
        raise ModelConfigError(
            f"the checkpoint's quantization ({method}, format {config.get('format')!r}) is not "
            f"supported; supported: {SUPPORTED_PREQUANTIZED}"
        )
    if traits.fused_projections or traits.moe:
        raise ModelConfigError(
            "pre-quantized checkpoints are supported for unfused dense models only, not "
            "fused q/k/v (Phi-3) or experts"
        )
    return "int8"


MXFP4_BLOCK = 32  # values that share one scale


def _mxfp4_experts(
    hf: Mapping[str, Any], arch: str, moe: MoEConfig | None, num_layers: int
) -> bool:
    """Whether the experts are stored as MXFP4, as in gpt-oss's release checkpoints.

    transformers' MXFP4 only ever quantizes gpt-oss's experts, so `modules_to_not_convert`
    (the release lists attention, router, embeddings and LM head) changes the stored layout
    only where it names the experts: that is refused. Every other tensor is read by its plain
    name, so one stored otherwise fails as a missing tensor, naming it.
    """
    config = hf.get("quantization_config") or {}
    if config.get("quant_method") != "mxfp4":
        return False
    if arch != "GptOssForCausalLM" or moe is None:
        raise ModelConfigError(
            f"mxfp4 checkpoints are supported for GptOssForCausalLM only, not {arch}; "
            f"supported: {SUPPORTED_PREQUANTIZED}"
        )
    hidden, expert_size = int(hf["hidden_size"]), moe.expert_size
    if hidden % MXFP4_BLOCK or expert_size % MXFP4_BLOCK:
        raise ModelConfigError(
            f"MXFP4 scales blocks of {MXFP4_BLOCK} values: hidden_size ({hidden}) and "
            f"intermediate_size ({expert_size}) must be multiples of {MXFP4_BLOCK}"
        )
    skipped = config.get("modules_to_not_convert") or []
    if not isinstance(skipped, list) or not all(isinstance(p, str) for p in skipped):
        raise ModelConfigError(
            f"quantization_config.modules_to_not_convert must be a list of module names, "
            f"got {skipped!r}"
        )
    experts = [f"model.layers.{i}.mlp.experts" for i in range(num_layers)]
    for pattern in skipped:
        if any(_names_module(pattern, name) for name in experts):
            raise ModelConfigError(
                f"quantization_config.modules_to_not_convert entry {pattern!r} leaves the "
                "experts unquantized in an mxfp4 checkpoint; jaxserve reads mxfp4 checkpoints "
                "whose experts are MXFP4 (`gate_up_proj_blocks`, `down_proj_blocks` and scales)"
            )
    return True


def _names_module(pattern: str, name: str) -> bool:
    """transformers' `should_convert_module` match: `pattern` as a regex from the start up to a
    module boundary ("model.layers.*.mlp" names "model.layers.3.mlp.experts"), or a suffix."""
    try:
        return bool(re.match(rf"(?:{pattern})(?:(?<=\.)|(?=\.|$))", name)) or name.endswith(pattern)
    except re.error as e:
        raise ModelConfigError(
            f"quantization_config.modules_to_not_convert entry {pattern!r} is not a valid "
            f"pattern: {e}"
        ) from None


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


LAYER_TYPES = ("sliding_attention", "full_attention")


def _layer_windows(hf: Mapping[str, Any], num_layers: int, gemma: bool) -> tuple[int | None, ...]:
    """Each layer's sliding window, None for a layer that attends to everything.

    `layer_types` names each layer's kind; without it, Gemma's `sliding_window_pattern`
    makes every pattern-th layer global, and other models use their window everywhere.
    """
    window = hf.get("sliding_window")
    if not window or hf.get("use_sliding_window") is False:
        return (None,) * num_layers
    types = hf.get("layer_types")
    if not types:
        pattern = hf.get("sliding_window_pattern") or hf.get("_sliding_window_pattern")
        if gemma and pattern:
            types = [
                "full_attention" if (i + 1) % int(pattern) == 0 else "sliding_attention"
                for i in range(num_layers)
            ]
        else:
            types = ["sliding_attention"] * num_layers
    if len(types) != num_layers or not set(types) <= set(LAYER_TYPES):
        raise ModelConfigError(
            f"layer_types must name one of {LAYER_TYPES} for each of the {num_layers} layers, "
            f"got {types}"
        )
    return tuple(int(window) if t == "sliding_attention" else None for t in types)


def _ropes(hf: Mapping[str, Any], head_dim: int) -> tuple[RopeConfig, RopeConfig | None]:
    """The RoPE of global layers, and that of local layers where they have their own (Gemma 3:
    `rope_parameters` per layer type, or `rope_local_base_freq`)."""
    params = hf.get("rope_parameters") or {}
    if "full_attention" in params or "sliding_attention" in params:
        full = dict(params.get("full_attention") or {})
        local = dict(params.get("sliding_attention") or full)
        return (
            RopeConfig.from_hf({**hf, "rope_parameters": full, "rope_scaling": None}, head_dim),
            RopeConfig.from_hf({**hf, "rope_parameters": local, "rope_scaling": None}, head_dim),
        )
    rope = RopeConfig.from_hf(hf, head_dim)
    if hf.get("rope_local_base_freq"):
        local = {"rope_type": "default", "rope_theta": hf["rope_local_base_freq"]}
        return rope, RopeConfig.from_hf({"rope_parameters": local}, head_dim)
    return rope, None
