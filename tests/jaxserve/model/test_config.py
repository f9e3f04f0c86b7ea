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
    cfg = ModelConfig.from_hf({**BASE, "attention_bias": True})
    assert cfg.qkv_bias and cfg.o_bias  # q, k, v and o alike, as Llama's attention_bias says


@pytest.mark.parametrize(
    ("params", "theta"),
    [
        (dict(factor=32.0, beta_fast=32.0, beta_slow=1.0, truncate=False,
              original_max_position_embeddings=4096), 150000.0),  # gpt-oss
        (dict(factor=4.0, original_max_position_embeddings=32768), 1e6),  # Qwen's long context
        (dict(factor=40.0, mscale=1.0, mscale_all_dim=0.707,
              original_max_position_embeddings=4096), 1e4),  # mscale ratio
    ],
)  # fmt: skip
def test_yarn_frequencies_and_scale_match_transformers(params, theta):
    hf_cfg = transformers.GptOssConfig(
        hidden_size=2880,
        num_attention_heads=64,
        head_dim=64,
        max_position_embeddings=131072,
        rope_parameters={"rope_type": "yarn", "rope_theta": theta, **params},
    )
    expected, scale = ROPE_INIT_FUNCTIONS["yarn"](hf_cfg, torch.device("cpu"))
    rope = RopeConfig.from_hf(hf_cfg.to_dict(), 64)
    np.testing.assert_allclose(rope.inverse_frequencies(), expected.numpy(), rtol=1e-6)
    assert rope.attention_factor == pytest.approx(scale) and scale > 1


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
    assert cfg.qk_norm and cfg.attn_logit_softcap is None


def test_gemma2_and_gpt_oss_traits():
    gemma2 = ModelConfig.from_hf(
        {**BASE, "architectures": ["Gemma2ForCausalLM"], "attn_logit_softcapping": 50.0,
         "final_logit_softcapping": 30.0, "sliding_window": 4096,
         "num_hidden_layers": 4,
         "layer_types": ["sliding_attention", "full_attention"] * 2}
    )  # fmt: skip
    assert gemma2.gemma and not gemma2.qk_norm
    assert (gemma2.attn_logit_softcap, gemma2.final_logit_softcap) == (50.0, 30.0)
    assert gemma2.windows == (4096, None, 4096, None)
    oss = ModelConfig.from_hf(
        {**BASE, "architectures": ["GptOssForCausalLM"], "attention_bias": True,
         "num_local_experts": 32, "num_experts_per_tok": 4, "swiglu_limit": 7.0}
    )  # fmt: skip
    assert oss.attention_sinks and oss.qkv_bias and oss.o_bias
    assert oss.moe.softmax_after_top_k and oss.moe.biases and oss.moe.swiglu_limit == 7.0


MXFP4_OSS = {**BASE, "architectures": ["GptOssForCausalLM"], "num_local_experts": 32,
             "num_experts_per_tok": 4, "intermediate_size": 96,
             "quantization_config": {"quant_method": "mxfp4", "modules_to_not_convert": [
                 "model.layers.*.self_attn", "model.layers.*.mlp.router", "lm_head"]}}  # fmt: skip


def test_mxfp4_gpt_oss_experts_are_read_dequantized():
    cfg = ModelConfig.from_hf(MXFP4_OSS)
    assert cfg.mxfp4_experts and cfg.prequantized is None  # the model reads plain weights
    assert not ModelConfig.from_hf({**MXFP4_OSS, "quantization_config": None}).mxfp4_experts


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"architectures": ["MixtralForCausalLM"]},
         "mxfp4 checkpoints are supported for GptOssForCausalLM only, not MixtralForCausalLM"),
        ({"hidden_size": 80, "num_attention_heads": 5},
         r"hidden_size \(80\) and intermediate_size \(96\) must be multiples of 32"),
        ({"quantization_config": {"quant_method": "mxfp4",
                                  "modules_to_not_convert": ["model.layers.*.mlp"]}},
         "entry 'model.layers.\\*.mlp' leaves the experts unquantized"),
        ({"quantization_config": {"quant_method": "mxfp4",
                                  "modules_to_not_convert": ["experts"]}},
         "entry 'experts' leaves the experts unquantized"),
        ({"quantization_config": {"quant_method": "mxfp4", "modules_to_not_convert": ["(("]}},
         "entry '\\(\\(' is not a valid pattern"),
        ({"quantization_config": {"quant_method": "mxfp4", "modules_to_not_convert": "lm_head"}},
         "must be a list of module names"),
        ({"quantization_config": {"quant_method": "gptq", "bits": 4}},
         r"quantization \(gptq, .* is not supported; supported: .*mxfp4 \(gpt-oss"),
    ],
)  # fmt: skip
def test_mxfp4_refusals_are_named(change, message):
    with pytest.raises(ModelConfigError, match=message):
        ModelConfig.from_hf({**MXFP4_OSS, **change})


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
