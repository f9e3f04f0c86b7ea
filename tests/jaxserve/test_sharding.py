"""Tensor parallelism over virtual CPU devices gives the same model as one device."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from jaxserve import LLM, SamplingParams
from jaxserve.errors import ModelConfigError
from jaxserve.model.config import ModelConfig
from jaxserve.sharding import make_mesh, param_spec, validate_tensor_parallel
from tests.jaxserve.model.test_llama_parity import prompt_logits, relative_error
from tests.tiny_models import TinySpec

pytestmark = pytest.mark.cpu

TP_SPECS = [
    TinySpec("tp-gqa", "LlamaForCausalLM", num_heads=8, num_kv_heads=4, intermediate_size=128),
    TinySpec("tp-qwen3-mha-tied", "Qwen3ForCausalLM", num_heads=4, num_kv_heads=4, tie=True),
    # Experts split over the devices (expert parallelism), 8 over 2 and 4, with their biases;
    # the attention sinks split with their heads.
    TinySpec(
        "tp-gpt-oss",
        "GptOssForCausalLM",
        num_heads=4,
        num_kv_heads=4,
        experts=8,
        sliding_window=24,
        seed=4,
    ),
]
PROMPTS = [[1, *range(10, 50)], [1, 7, 7, 9]]


@pytest.fixture(autouse=True)
def _need_eight_devices():
    if jax.device_count() < 4:
        pytest.skip("needs XLA_FLAGS=--xla_force_host_platform_device_count=8")


@pytest.mark.parametrize("spec", TP_SPECS, ids=lambda s: s.name)
def test_tensor_parallel_matches_single_device(spec, tiny_checkpoints):
    path = tiny_checkpoints(spec)
    params = SamplingParams(temperature=0, max_tokens=32, ignore_eos=True)
    results = {}
    for tp in (1, 2, 4):
        llm = LLM(path, tensor_parallel_size=tp, max_model_len=128, skip_tokenizer_init=True)
        assert llm.runner.kv_cache.k.sharding.spec == P(None, None, None, "model", None)
        down = llm.runner.params["layers"]["we_down" if spec.experts else "w_down"]
        assert down.sharding.mesh.shape["model"] == tp
        logits = [prompt_logits(llm, p) for p in PROMPTS]
        outs = llm.generate([{"prompt_token_ids": p} for p in PROMPTS], params, use_tqdm=False)
        results[tp] = logits, [o.outputs[0].token_ids for o in outs]
    base_logits, base_tokens = results[1]
    for tp in (2, 4):
        logits, tokens = results[tp]
        assert tokens == base_tokens, f"tp={tp} changed the greedy tokens"
        for ours, ref in zip(logits, base_logits, strict=True):
            assert relative_error(ours, ref) < 1e-5


def _cfg(heads=8, kv_heads=4, intermediate=96):
    from jaxserve.model.rope import RopeConfig

    return ModelConfig(
        architecture="LlamaForCausalLM",
        vocab_size=100,
        hidden_size=64,
        intermediate_size=intermediate,
        num_layers=1,
        num_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=8,
        rms_norm_eps=1e-6,
        rope=RopeConfig(theta=1e4, head_dim=8),
        max_position_embeddings=64,
        tie_word_embeddings=False,
        qkv_bias=False,
        qk_norm=False,
    )


@pytest.mark.parametrize(
    ("cfg", "tp", "devices", "message"),
    [
        (_cfg(), 3, 8, "must be one of (1, 2, 4, 8)"),
        (_cfg(), 16, 8, "must be one of"),
        (_cfg(), 8, 4, "needs 8 devices but only 4"),
        (_cfg(kv_heads=2), 4, 8, "does not divide num_key_value_heads=2"),
        (_cfg(heads=6, kv_heads=6), 4, 8, "does not divide num_attention_heads=6"),
        (_cfg(intermediate=90), 4, 8, "does not divide intermediate_size=90"),
    ],
)
def test_invalid_tensor_parallel_sizes_are_named(cfg, tp, devices, message):
    with pytest.raises(ModelConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_tensor_parallel(cfg, tp, devices)


def test_llm_rejects_indivisible_tp(tiny_checkpoints):
    path = tiny_checkpoints(TinySpec("llama-gqa-untied", "LlamaForCausalLM", num_kv_heads=2))
    with pytest.raises(ModelConfigError, match="num_key_value_heads=2"):
        LLM(path, tensor_parallel_size=4, skip_tokenizer_init=True)


def test_rules_cover_params_and_replicate_odd_vocab():
    mesh = make_mesh(4, jax.devices())
    assert param_spec("layers/wq", (2, 64, 8, 8), mesh) == P(None, None, "model", None)
    assert param_spec("layers/w_down", (2, 96, 64), mesh) == P(None, "model", None)
    assert param_spec("layers/q_norm", (2, 8), mesh) == P(None, None)
    assert param_spec("embed", (100, 64), mesh) == P("model", None)
    assert param_spec("embed", (101, 64), mesh) == P(None, None)  # 101 does not split 4 ways
    with pytest.raises(ValueError, match="no sharding rule"):
        param_spec("layers/mystery", (2, 3), mesh)
    np.testing.assert_array_equal(mesh.devices.shape, (1, 4))
