"""A KV cache of int8 or fp8 codes: quantizing, the scales, the fold into attention, and the
whole engine (memory plan, logits near the float cache's, errors)."""

from __future__ import annotations

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxserve import LLM
from jaxserve.errors import ModelConfigError
from jaxserve.model.attention import make_attention_op
from jaxserve.model.kv_cache import CODE_MAX, quantize_kv
from jaxserve.model.kv_quant import HEADROOM, scales_from_absmax
from pallas_kernels.ragged_paged_attention import ragged_paged_attention_reference
from tests.jaxserve.model.test_llama_parity import PROMPTS, prompt_logits, relative_error
from tests.pallas_kernels.rpa_cases import make_ragged_batch
from tests.tiny_models import TinySpec

pytestmark = pytest.mark.cpu

CODES = [jnp.int8, jnp.float8_e4m3fn]


@pytest.mark.parametrize("dtype", CODES, ids=["int8", "fp8"])
def test_quantize_round_trip_and_saturation(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 2, 8)).astype(np.float32) * 3
    scale = np.abs(x).max(axis=0) * HEADROOM / CODE_MAX[jnp.dtype(dtype)]  # [K, D]
    codes = quantize_kv(jnp.asarray(x), jnp.asarray(scale), dtype)
    assert codes.dtype == dtype
    back = np.asarray(codes.astype(jnp.float32)) * scale
    step = scale * (1 if dtype == jnp.int8 else 0.0625 * CODE_MAX[jnp.dtype(dtype)])
    assert np.all(np.abs(back - x) <= step * 0.5 + 1e-6)  # within half a code step
    big = quantize_kv(jnp.full((1, 2, 8), 1e9), jnp.asarray(scale), dtype)
    assert np.all(np.asarray(big.astype(jnp.float32)) == CODE_MAX[jnp.dtype(dtype)])


def test_key_scales_cover_both_channels_rope_turns_together():
    absmax = np.zeros((1, 1, 4), np.float32)
    absmax[0, 0] = [1.0, 0.0, 0.5, 2.0]  # pairs (0, 2) and (1, 3)
    keys = scales_from_absmax(absmax, jnp.int8, rotated=True)[0, 0] * 127 / HEADROOM
    np.testing.assert_allclose(keys, [1.0, 2.0, 1.0, 2.0], rtol=1e-6)
    values = scales_from_absmax(absmax, jnp.int8, rotated=False)[0, 0] * 127 / HEADROOM
    np.testing.assert_allclose(values, [1.0, 127 / HEADROOM, 0.5, 2.0], rtol=1e-6)  # unused: 1


@pytest.mark.parametrize("dtype", CODES, ids=["int8", "fp8"])
def test_scales_fold_out_of_attention(dtype):
    """The op over codes equals attention over the codes times their scales."""
    rng = np.random.default_rng(1)
    batch = make_ragged_batch(
        rng, [(20, 20), (9, 1)], page_size=8, num_heads=4, num_kv_heads=2, head_dim=16
    )
    inputs = batch.inputs
    num_tokens = inputs["q"].shape[0]
    k_new = jnp.asarray(rng.standard_normal((num_tokens, 2, 16)), jnp.float32)
    v_new = jnp.asarray(rng.standard_normal((num_tokens, 2, 16)), jnp.float32)
    k_scale = jnp.asarray(rng.uniform(0.01, 0.05, (2, 16)), jnp.float32)
    v_scale = jnp.asarray(rng.uniform(0.01, 0.05, (2, 16)), jnp.float32)
    pool = jnp.zeros((1, *inputs["k_pages"].shape), dtype)  # [L=1, P, page_size, K, D]
    # Each token's slot: its own position in its sequence's pages.
    tables = np.asarray(inputs["page_indices"])
    positions = [(0, p) for p in range(20)] + [(1, 8)]  # (sequence, position) of each query
    slots = np.asarray([tables[s, p // 8] * 8 + p % 8 for s, p in positions])
    slots = jnp.asarray(np.pad(slots, (0, num_tokens - len(slots))), jnp.int32)
    op = make_attention_op(
        ragged_paged_attention_reference, sm_scale=0.25, sliding_window=None, mesh=None,
        quantized_kv=True,
    )  # fmt: skip
    meta = [inputs[n] for n in ("kv_lens", "page_indices", "cu_q_lens", "num_seqs")]
    out, k_pages, v_pages = op(
        inputs["q"], k_new, v_new, pool, pool, slots, *meta, k_scale, v_scale
    )
    assert k_pages.dtype == dtype
    k_float = (k_pages[0].astype(jnp.float32) * k_scale).astype(jnp.float32)
    v_float = (v_pages[0].astype(jnp.float32) * v_scale).astype(jnp.float32)
    expected = ragged_paged_attention_reference(inputs["q"], k_float, v_float, *meta, sm_scale=0.25)
    real = batch.num_real_tokens
    np.testing.assert_allclose(out[:real], expected[:real], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kv_cache_dtype", ["int8", "fp8"])
def test_engine_with_a_quantized_cache(kv_cache_dtype, tiny_checkpoints, caplog):
    path = tiny_checkpoints(TinySpec("kv-quant", "LlamaForCausalLM", seed=9))
    options = dict(dtype="float32", max_model_len=128, kv_cache_memory=2**20, warmup=False)
    base = LLM(path, **options)
    with caplog.at_level(logging.INFO, logger="jaxserve"):
        llm = LLM(path, kv_cache_dtype=kv_cache_dtype, **options)
    assert llm.runner.kv_cache.k.itemsize == 1
    # The same budget holds four times the pages of a float32 cache (capped by what the
    # sequences can use), and the plan says so.
    assert llm.runner.num_pages > base.runner.num_pages
    assert "4x the tokens of a float32 cache" in caplog.text
    scales = llm.runner.params["layers"]["k_cache_scale"]
    assert scales.shape == (2, 2, 16) and bool(jnp.all(scales > 0))
    # This random model's attention is sharp, so the codes' rounding shows: int8 measured
    # 0.02-0.07, fp8 (3 mantissa bits) 0.05-0.16; a wrong scale gives ~1. The quality bar is
    # measured on the trained default model (benchmarks/quantization_quality.py).
    bound = 0.1 if kv_cache_dtype == "int8" else 0.25
    for prompt in PROMPTS:
        err = relative_error(prompt_logits(llm, prompt), prompt_logits(base, prompt))
        assert 0 < err < bound, f"{kv_cache_dtype}: relative error {err:.2e}"


def test_kv_cache_dtype_is_checked(tiny_checkpoints):
    path = tiny_checkpoints(TinySpec("kv-quant", "LlamaForCausalLM", seed=9))
    with pytest.raises(ModelConfigError, match=r"kv_cache_dtype must be one of .*int8, fp8"):
        LLM(path, kv_cache_dtype="int4", warmup=False)


@pytest.mark.skipif(jax.device_count() < 2, reason="needs two devices")
def test_quantized_cache_under_tensor_parallelism(tiny_checkpoints):
    path = tiny_checkpoints(TinySpec("kv-quant", "LlamaForCausalLM", seed=9))
    logits = []
    for tp in (1, 2):
        llm = LLM(
            path, dtype="float32", max_model_len=128, tensor_parallel_size=tp,
            kv_cache_dtype="int8", warmup=False, skip_tokenizer_init=True,
        )  # fmt: skip
        logits.append(prompt_logits(llm, PROMPTS[2]))
    assert relative_error(logits[1], logits[0]) < 1e-5
