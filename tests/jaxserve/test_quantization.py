"""Weight-only int8 and fp8: per-column rounding, the model on quantized weights, and
refusals by name."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import platforms
from jaxserve import LLM, SamplingParams
from jaxserve.errors import ModelConfigError
from pallas_kernels.matmul import QuantizedMatrix, matmul_reference, quantize_fp8, quantize_int8
from tests.jaxserve.model.test_llama_parity import PROMPTS, prompt_logits, relative_error
from tests.tiny_models import ARCH_CASES, TinySpec

pytestmark = pytest.mark.cpu

SPEC = TinySpec("quantized", "LlamaForCausalLM", num_kv_heads=2, seed=7)


def test_int8_rounds_each_column_by_its_own_scale():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 64, 40)).astype(np.float32) * np.linspace(0.01, 10, 40)
    quantized = quantize_int8(jnp.asarray(w))
    assert quantized.q.dtype == jnp.int8 and quantized.scale.shape == (3, 40)
    back = np.asarray(quantized.q, np.float32) * np.asarray(quantized.scale)[:, None, :]
    # Each column within half a step of its own scale, however small its values.
    assert np.all(np.abs(back - w) <= np.asarray(quantized.scale)[:, None, :] / 2 + 1e-7)
    x = rng.normal(size=(5, 64)).astype(np.float32)
    ours = matmul_reference(jnp.asarray(x), quantized, 1)
    np.testing.assert_allclose(np.asarray(ours), x @ back[1], rtol=1e-5, atol=1e-5)


def test_a_model_on_int8_weights_stays_close(tiny_checkpoints):
    path = tiny_checkpoints(SPEC)
    full = LLM(path, dtype="float32", max_model_len=128, skip_tokenizer_init=True)
    int8 = LLM(path, dtype="float32", max_model_len=128, skip_tokenizer_init=True,
               quantization="int8")  # fmt: skip
    assert isinstance(int8.runner.params["layers"]["wq"], QuantizedMatrix)
    layer_bytes = [
        sum(x.nbytes for x in jax.tree.leaves(llm.runner.params["layers"])) for llm in (int8, full)
    ]
    assert layer_bytes[0] < 0.3 * layer_bytes[1]  # a quarter of float32, and the scales
    for prompt in PROMPTS:
        err = relative_error(prompt_logits(int8, prompt), prompt_logits(full, prompt))
        assert 0 < err < 0.1, f"int8 logits off by {err:.3f}"  # a wrong scale gives ~1
    greedy = SamplingParams(temperature=0, max_tokens=8, ignore_eos=True)
    out = int8.generate([{"prompt_token_ids": p} for p in PROMPTS], greedy, use_tqdm=False)
    assert all(len(o.outputs[0].token_ids) == 8 for o in out)


def test_experts_are_quantized_per_expert_and_column(tiny_checkpoints):
    """Every expert's matrices get their own scales per output column (gpt-oss's, with their
    biases); the grouped matmul multiplies the codes."""
    name = "gpt-oss-sinks"
    spec = next(s for s in ARCH_CASES if s.name == name)
    path = tiny_checkpoints(spec)
    full = LLM(path, dtype="float32", max_model_len=128, skip_tokenizer_init=True)
    int8 = LLM(path, dtype="float32", max_model_len=128, skip_tokenizer_init=True,
               quantization="int8")  # fmt: skip
    layers = int8.runner.params["layers"]
    for expert in ("we_gate", "we_up", "we_down"):
        w = layers[expert]
        assert isinstance(w, QuantizedMatrix) and w.q.dtype == jnp.int8
        assert w.scale.shape == (spec.num_layers, spec.experts, w.q.shape[-1])
    for prompt in PROMPTS:
        err = relative_error(prompt_logits(int8, prompt), prompt_logits(full, prompt))
        assert 0 < err < 0.1, f"{name}: int8 logits off by {err:.3f}"


def test_fp8_keeps_three_mantissa_bits_per_column():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(64, 40)).astype(np.float32) * np.linspace(0.01, 10, 40)
    quantized = quantize_fp8(jnp.asarray(w))
    assert quantized.q.dtype == jnp.float8_e4m3fn and quantized.scale.shape == (40,)
    back = np.asarray(quantized.q.astype(jnp.float32)) * np.asarray(quantized.scale)
    assert np.abs(back).max(axis=0) == pytest.approx(np.abs(w).max(axis=0), rel=1e-6)
    normal = np.abs(w) > np.asarray(quantized.scale) * 2.0**-6  # above e4m3's subnormals
    assert np.all(np.abs(back - w)[normal] <= np.abs(w)[normal] / 16 + 1e-7)  # 2^-4 relative
    x = rng.normal(size=(5, 64)).astype(np.float32)
    ours = matmul_reference(jnp.asarray(x), quantized)
    np.testing.assert_allclose(np.asarray(ours), x @ back, rtol=1e-5, atol=1e-5)


def test_a_model_on_fp8_weights_where_the_platform_has_fp8(tiny_checkpoints, monkeypatch):
    """The graph on fp8 weights through XLA; CPUs lack fp8 matmuls, so the test says this
    one has them (the check is `platforms.fp8_weights`)."""
    monkeypatch.setattr(platforms, "fp8_weights", lambda platform: None)
    path = tiny_checkpoints(SPEC)
    full = LLM(path, dtype="float32", max_model_len=128, skip_tokenizer_init=True)
    fp8 = LLM(path, dtype="float32", max_model_len=128, skip_tokenizer_init=True,
              quantization="fp8")  # fmt: skip
    assert fp8.runner.params["layers"]["wq"].q.dtype == jnp.float8_e4m3fn
    assert fp8.runner.matmul.name == "xla"
    for prompt in PROMPTS:
        err = relative_error(prompt_logits(fp8, prompt), prompt_logits(full, prompt))
        # Three mantissa bits: about five times int8's error on this random model (0.13-0.40
        # against 0.03-0.05); a wrong scale gives ~1.
        assert 0 < err < 0.5, f"fp8 logits off by {err:.3f}"


def test_fp8_needs_a_gpu_with_fp8():
    cpu = platforms.detect()
    assert "has no fp8 matmuls" in platforms.fp8_weights(cpu)


@pytest.mark.parametrize(
    ("quantization", "message"),
    [("int4", "'int4' is not supported; supported: int8"), ("fp8", "needs fp8 matmuls")],
)
def test_unsupported_quantizations_are_named(tiny_checkpoints, quantization, message):
    with pytest.raises(ModelConfigError, match=message):
        LLM(tiny_checkpoints(SPEC), quantization=quantization, skip_tokenizer_init=True)


def write_w8a16(path, spec: TinySpec) -> None:
    """The tiny model as compressed-tensors writes a W8A16 checkpoint (int-quantized: int8
    `weight` and float32 `weight_scale` per output channel), with its own library."""
    import torch
    from compressed_tensors.compressors import ModelCompressor
    from compressed_tensors.quantization import (
        QuantizationArgs,
        QuantizationConfig,
        QuantizationScheme,
        apply_quantization_config,
    )

    from tests.tiny_models import build_hf_model, write_tokenizer

    model = build_hf_model(spec)
    weights = QuantizationArgs(num_bits=8, type="int", symmetric=True, strategy="channel")
    config = QuantizationConfig(
        config_groups={"group_0": QuantizationScheme(targets=["Linear"], weights=weights)},
        ignore=["lm_head"],
        format="int-quantized",
        quantization_status="frozen",
    )
    apply_quantization_config(model, config)
    with torch.no_grad():  # min-max scales, as a weight-only calibration sets them
        for module in model.modules():
            if hasattr(module, "weight_scale"):
                module.weight_scale.copy_(module.weight.abs().amax(dim=1, keepdim=True) / 127)
    compressor = ModelCompressor.from_pretrained_model(model, quantization_format="int-quantized")
    compressor.compress_model(model)
    model.save_pretrained(path)
    compressor.update_config(path)
    write_tokenizer(path)


def test_a_w8a16_checkpoint_loads_as_the_model_quantized_at_load(tiny_checkpoints, tmp_path):
    pytest.importorskip("compressed_tensors")
    write_w8a16(tmp_path, SPEC)
    options = dict(dtype="float32", max_model_len=128, skip_tokenizer_init=True)
    stored = LLM(str(tmp_path), **options)
    at_load = LLM(tiny_checkpoints(SPEC), quantization="int8", **options)
    for name in ("wq", "wo", "w_down"):
        ours, theirs = stored.runner.params["layers"][name], at_load.runner.params["layers"][name]
        assert ours.q.dtype == jnp.int8 and ours.q.shape == theirs.q.shape
        # The same rounding, but for a value a float32 ulp from a half step (one step off).
        steps = np.abs(np.asarray(ours.q, np.int32) - np.asarray(theirs.q))
        assert steps.max() <= 1 and np.mean(steps) < 1e-3
        np.testing.assert_allclose(np.asarray(ours.scale), np.asarray(theirs.scale), rtol=1e-6)
    for prompt in PROMPTS:
        err = relative_error(prompt_logits(stored, prompt), prompt_logits(at_load, prompt))
        assert err < 1e-3, f"relative error {err:.2e}"  # one step of one weight: 2.5e-4


def test_other_stored_quantizations_are_refused_by_name(tiny_checkpoints, tmp_path):
    import json
    import shutil

    shutil.copytree(tiny_checkpoints(SPEC), tmp_path, dirs_exist_ok=True)
    config = json.loads((tmp_path / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "awq", "bits": 4}
    (tmp_path / "config.json").write_text(json.dumps(config))
    refused = r"quantization \(awq, .* is not supported; supported: compressed-tensors"
    with pytest.raises(ModelConfigError, match=refused):
        LLM(str(tmp_path), skip_tokenizer_init=True)


def test_the_native_int8_kernel_runs_a_bfloat16_model(tiny_checkpoints, monkeypatch):
    """On a CPU with AVX512_BF16 a bfloat16 model's int8 matrices go to the native kernel;
    its logits agree with XLA's products of the same int8 matrices. Not closely: XLA's path
    keeps the residual stream in bfloat16 where the native one keeps float32 (1.5e-2 here);
    a wrong scale or layout is off by about 1."""
    from pallas_kernels import native

    if not {"avx512_bf16", "avx512bw"} <= native.cpu_flags():
        pytest.skip("the native int8 kernel needs avx512_bf16 and avx512bw")
    from pallas_kernels.matmul.cpu_int8 import PackedInt8

    path = tiny_checkpoints(SPEC.with_dtype("bfloat16"))
    options = dict(max_model_len=128, skip_tokenizer_init=True, quantization="int8")
    native_int8 = LLM(path, **options)  # dtype auto: bfloat16 on this CPU
    assert native_int8.runner.matmul.name == "cpu_native_int8"
    assert isinstance(native_int8.runner.params["layers"]["w_qkv"], PackedInt8)
    monkeypatch.setattr("platforms.matmul.INT8_KERNEL_MODULES", {})  # XLA multiplies
    xla_int8 = LLM(path, **options)
    assert xla_int8.runner.matmul.name == "xla"
    for prompt in PROMPTS:
        err = relative_error(prompt_logits(native_int8, prompt), prompt_logits(xla_int8, prompt))
        assert err < 5e-2, f"relative error {err:.2e}"
