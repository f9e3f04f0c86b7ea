"""Reading HF configs: architecture traits, RoPE layouts, sliding windows, bad values."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
import torch
import transformers
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

from jaxserve.errors import ModelConfigError
from jaxserve.model.config import ModelConfig
from jaxserve.model.rope import RopeConfig, rope_tables

BASE = dict(
    architectures=["LlamaForCausalLM"],
    vocab_size=100,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
)


def test_defaults_and_derived_values():
    cfg = ModelConfig.from_hf(BASE)
    assert cfg.num_kv_heads == 4 and cfg.head_dim == 16
    assert cfg.sm_scale == pytest.approx(0.25)
    assert cfg.rope.rope_type == "default" and cfg.rope.theta == 10000.0
    assert not cfg.qkv_bias and not cfg.qk_norm and cfg.sliding_window is None


@pytest.mark.parametrize(
    ("arch", "bias", "norm"),
    [
        ("Qwen2ForCausalLM", True, False),
        ("Qwen3ForCausalLM", False, True),
        ("MistralForCausalLM", False, False),
    ],
)
def test_architecture_traits(arch, bias, norm):
    cfg = ModelConfig.from_hf({**BASE, "architectures": [arch]})
    assert (cfg.qkv_bias, cfg.qk_norm) == (bias, norm)


def test_llama_attention_bias_is_honoured():
    assert ModelConfig.from_hf({**BASE, "attention_bias": True}).qkv_bias


def test_old_and_new_rope_layouts_agree():
    scaling = {
        "rope_type": "llama3",
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
    }
    old = ModelConfig.from_hf({**BASE, "rope_theta": 5e5, "rope_scaling": scaling})
    new = ModelConfig.from_hf({**BASE, "rope_parameters": {**scaling, "rope_theta": 5e5}})
    assert old.rope == new.rope and old.rope.theta == 5e5


def test_llama3_frequencies_match_transformers():
    scaling = {
        "rope_type": "llama3",
        "factor": 32.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
    }
    hf_cfg = transformers.LlamaConfig(
        hidden_size=4096, num_attention_heads=32, rope_scaling=scaling, rope_theta=5e5
    )
    expected, _ = ROPE_INIT_FUNCTIONS["llama3"](hf_cfg, torch.device("cpu"))
    ours = RopeConfig.from_hf(hf_cfg.to_dict(), 128).inverse_frequencies()
    np.testing.assert_allclose(ours, expected.numpy(), rtol=1e-6)


def test_longrope_frequencies_and_scale_match_transformers():
    half = 64
    scaling = {
        "rope_type": "longrope",
        "short_factor": [1.0 + 0.01 * i for i in range(half)],
        "long_factor": [1.5 + 0.2 * i for i in range(half)],
    }
    hf_cfg = transformers.Phi3Config(
        hidden_size=3072,
        num_attention_heads=24,
        max_position_embeddings=131072,
        original_max_position_embeddings=4096,
        rope_scaling=scaling,
    )
    rope = RopeConfig.from_hf(hf_cfg.to_dict(), 128)
    for seq_len, long in ((None, False), (8192, True)):
        expected, scale = ROPE_INIT_FUNCTIONS["longrope"](hf_cfg, torch.device("cpu"), seq_len)
        ours = rope.inverse_frequencies(long=long)
        np.testing.assert_allclose(ours, expected.numpy(), rtol=1e-6)
        assert rope.attention_factor == pytest.approx(scale) and scale > 1
    # Each token by its own position: the short frequencies below 4096, the long from there.
    cos, _ = rope_tables(rope, jnp.array([4095, 4096], jnp.int32))
    short = np.cos(4095 * rope.inverse_frequencies()) * rope.attention_factor
    long = np.cos(4096 * rope.inverse_frequencies(long=True)) * rope.attention_factor
    np.testing.assert_allclose(np.asarray(cos), np.stack([short, long]), rtol=1e-4, atol=1e-5)


def test_sliding_window_rules():
    assert ModelConfig.from_hf({**BASE, "sliding_window": 4096}).sliding_window == 4096
    off = {**BASE, "sliding_window": 4096, "use_sliding_window": False}
    assert ModelConfig.from_hf(off).sliding_window is None
    full = {**BASE, "sliding_window": 64, "layer_types": ["full_attention"] * 2}
    assert ModelConfig.from_hf(full).sliding_window is None
    mixed = {**BASE, "sliding_window": 64, "layer_types": ["sliding_attention", "full_attention"]}
    cfg = ModelConfig.from_hf(mixed)
    assert cfg.sliding_window is None and cfg.windows == (64, None)
    bad = {**BASE, "sliding_window": 64, "layer_types": ["sliding_attention", "chunked"]}
    with pytest.raises(ModelConfigError, match="layer_types must name one of"):
        ModelConfig.from_hf(bad)


def test_gemma3_layers_and_ropes():
    hf = {
        **BASE,
        "architectures": ["Gemma3ForCausalLM"],
        "num_hidden_layers": 8,
        "sliding_window": 512,
        "sliding_window_pattern": 6,
        "rope_theta": 1e6,
        "rope_local_base_freq": 1e4,
        "query_pre_attn_scalar": 256,
        "hidden_activation": "gelu_pytorch_tanh",
    }
    cfg = ModelConfig.from_hf(hf)
    assert cfg.windows == (512,) * 5 + (None,) + (512,) * 2
    assert cfg.rope.theta == 1e6 and cfg.local_rope.theta == 1e4
    assert cfg.sm_scale == 256**-0.5 and cfg.hidden_act == "gelu_tanh" and cfg.gemma
    softcapped = {**hf, "attn_logit_softcapping": 50.0}
    with pytest.raises(ModelConfigError, match="attn_logit_softcapping, Gemma 2"):
        ModelConfig.from_hf(softcapped)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"architectures": []}, "unsupported architecture"),
        ({"num_attention_heads": 6, "num_key_value_heads": 4}, "must be a multiple of"),
        ({"hidden_act": "gelu"}, "hidden_act 'gelu' is not supported"),
        ({"partial_rotary_factor": 0.75}, "partial_rotary_factor 0.75 is not supported"),
        ({"mlp_bias": True}, "mlp_bias=true is not supported"),
        ({"vocab_size": "many"}, "malformed value"),
        ({"num_hidden_layers": 0}, "num_layers must be positive"),
    ],
)
def test_bad_configs_are_named(change, message):
    with pytest.raises(ModelConfigError, match=message):
        ModelConfig.from_hf({**BASE, **change})
