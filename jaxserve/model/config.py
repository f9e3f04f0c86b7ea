"""`ModelConfig`: the architecture facts the model graph needs, read from a HF `config.json`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from jaxserve.errors import ModelConfigError
from jaxserve.model.rope import RopeConfig


@dataclasses.dataclass(frozen=True, kw_only=True)
class ArchitectureTraits:
    """What distinguishes one Llama-family architecture from another."""

    qkv_bias: bool = False  # Qwen2: q/k/v projections carry a bias
    qk_norm: bool = False  # Qwen3: RMSNorm over each head of q and k before RoPE
    # Phi-3: q, k, v in one `qkv_proj` tensor and gate, up in one `gate_up_proj`
    fused_projections: bool = False


ARCHITECTURES: dict[str, ArchitectureTraits] = {
    "LlamaForCausalLM": ArchitectureTraits(),
    "MistralForCausalLM": ArchitectureTraits(),
    "Qwen2ForCausalLM": ArchitectureTraits(qkv_bias=True),
    "Qwen3ForCausalLM": ArchitectureTraits(qk_norm=True),
    "Phi3ForCausalLM": ArchitectureTraits(fused_projections=True),
}


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
    fused_projections: bool = False  # how the checkpoint stores q/k/v and gate/up
    sliding_window: int | None = None
    eos_token_ids: tuple[int, ...] = ()
    bos_token_id: int | None = None

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
        return self.head_dim**-0.5

    @classmethod
    def from_hf(cls, hf: Mapping[str, Any]) -> ModelConfig:
        """Builds the config from a parsed HF `config.json`."""
        archs = hf.get("architectures") or []
        arch = next((a for a in archs if a in ARCHITECTURES), None)
        if arch is None:
            raise ModelConfigError(
                f"unsupported architecture {archs or '(none given)'}; "
                f"jaxserve supports {', '.join(sorted(ARCHITECTURES))}"
            )
        traits = ARCHITECTURES[arch]
        try:
            num_heads = int(hf["num_attention_heads"])
            hidden = int(hf["hidden_size"])
            head_dim = int(hf.get("head_dim") or hidden // num_heads)
            if hf.get("mlp_bias"):
                raise ModelConfigError("mlp_bias=true is not supported")
            if hf.get("hidden_act", "silu") != "silu":
                raise ModelConfigError(f"hidden_act {hf['hidden_act']!r} is not supported")
            return cls(
                architecture=arch,
                vocab_size=int(hf["vocab_size"]),
                hidden_size=hidden,
                intermediate_size=int(hf["intermediate_size"]),
                num_layers=int(hf["num_hidden_layers"]),
                num_heads=num_heads,
                num_kv_heads=int(hf.get("num_key_value_heads") or num_heads),
                head_dim=head_dim,
                rms_norm_eps=float(hf.get("rms_norm_eps", 1e-6)),
                rope=RopeConfig.from_hf(hf, head_dim),
                max_position_embeddings=int(hf.get("max_position_embeddings", 2048)),
                tie_word_embeddings=bool(hf.get("tie_word_embeddings", False)),
                qkv_bias=traits.qkv_bias or bool(hf.get("attention_bias", False)),
                qk_norm=traits.qk_norm,
                fused_projections=traits.fused_projections,
                sliding_window=_sliding_window(hf),
                eos_token_ids=_token_ids(hf.get("eos_token_id")),
                bos_token_id=hf.get("bos_token_id"),
            )
        except KeyError as e:
            raise ModelConfigError(f"config.json lacks the required key {e.args[0]!r}") from None
        except (TypeError, ValueError) as e:
            if isinstance(e, ModelConfigError):
                raise
            raise ModelConfigError(f"config.json has a malformed value: {e}") from None


def _token_ids(value: int | list[int] | None) -> tuple[int, ...]:
    if value is None:
        return ()
    return (int(value),) if isinstance(value, int) else tuple(int(v) for v in value)


def _sliding_window(hf: Mapping[str, Any]) -> int | None:
    """Uniform sliding window, if the model uses one on every layer."""
    window = hf.get("sliding_window")
    if not window or hf.get("use_sliding_window") is False:
        return None
    layer_types = hf.get("layer_types")
    if layer_types and len(set(layer_types)) > 1:
        raise ModelConfigError(
            "models mixing sliding-window and full-attention layers are not supported"
        )
    if layer_types and layer_types[0] != "sliding_attention":
        return None
    return int(window)
