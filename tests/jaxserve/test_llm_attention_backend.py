"""`LLM(attention_backend=...)`: checked up front; the Pallas kernel generates the same tokens."""

from __future__ import annotations

import pytest

import platforms
from jaxserve import LLM, SamplingParams
from jaxserve.engine.executables import callable_fingerprint
from tests.tiny_models import ARCH_CASES, TinySpec

# Sliding window shorter than the longest prompt, so the kernels' window masking is exercised.
SPEC = TinySpec("attention-backend", "MistralForCausalLM", num_kv_heads=2, sliding_window=24)
GREEDY = SamplingParams(temperature=0.0, max_tokens=4, ignore_eos=True)
# a prompt over two steps' token budget (chunked prefill), a short one, a one-token one
PROMPTS = [{"prompt_token_ids": ids} for ids in ([1, *range(40, 77)], [1, 5, 9, 13], [1])]


@pytest.fixture(scope="module")
def model_path(tiny_checkpoints):
    return tiny_checkpoints(SPEC)


def generate(model_path, backend, kv_cache_dtype="auto"):
    llm = LLM(
        model_path,
        max_model_len=64,
        max_num_seqs=4,
        max_num_batched_tokens=16,
        skip_tokenizer_init=True,
        attention_backend=backend,
        kv_cache_dtype=kv_cache_dtype,
    )
    outputs = llm.generate(PROMPTS, GREEDY, use_tqdm=False)
    return [o.outputs[0].token_ids for o in outputs]


@pytest.mark.cpu
@pytest.mark.slow
def test_pallas_interpret_generates_the_reference_tokens(model_path, monkeypatch):
    """Acceptance: the TPU kernel in TPU interpret mode, through the whole engine."""
    kernel = platforms.attention._ADAPTERS["pallas_tpu"]
    traced = []

    def spy(*args, **kwargs):
        traced.append(kwargs)
        return kernel(*args, **kwargs)

    monkeypatch.setitem(platforms.attention._ADAPTERS, "pallas_tpu", spy)
    expected = generate(model_path, "reference")
    assert not traced
    tokens = generate(model_path, "pallas-interpret")
    assert tokens == expected and all(len(t) == 4 for t in tokens)
    assert {(k["interpret"], k["block_q"]) for k in traced} == {(True, 1), (True, 16)}


@pytest.mark.cpu
@pytest.mark.slow
@pytest.mark.parametrize(
    ("kv_cache_dtype", "backends"),
    [("int8", ("auto", "pallas-interpret")), ("fp8", ("auto",))],
)
def test_quantized_cache_agrees_in_every_backend(model_path, kv_cache_dtype, backends):
    """The kernels read int8 / fp8 pages as the reference does (the scales fold outside)."""
    expected = generate(model_path, "reference", kv_cache_dtype)
    for backend in backends:
        assert generate(model_path, backend, kv_cache_dtype) == expected, backend


def test_each_backend_compiles_to_its_own_programs():
    """The on-disk executable store tells the implementations apart by this name."""
    platform = platforms.detect()
    names = {
        callable_fingerprint(platforms.attention_fn(platform, backend))
        for backend in ("reference", "pallas-interpret")
    }
    assert len(names) == 2


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        ("triton", "attention_backend must be one of 'auto', 'reference', 'pallas', "),
        pytest.param("pallas", "on cpu Pallas kernels only run", marks=pytest.mark.cpu),
    ],
)
def test_bad_backends_are_refused_before_loading(tmp_path, backend, message):
    with pytest.raises(ValueError, match=message):
        LLM(tmp_path / "not-even-a-model", attention_backend=backend)


@pytest.mark.cuda
@pytest.mark.rocm
@pytest.mark.tpu
# The tiny model's head_dim of 16 sends Hopper's Mosaic GPU kernel to Triton, which JAX 0.11
# warns about whenever it lowers it.
@pytest.mark.filterwarnings("ignore:The Pallas Triton backend is deprecated:DeprecationWarning")
def test_pallas_compiled_generates_the_reference_tokens(model_path):
    """On an accelerator: the platform's kernel, compiled, in its compute dtype."""
    assert generate(model_path, "pallas") == generate(model_path, "reference")


@pytest.mark.cpu
@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["Gemma2ForCausalLM", "GptOssForCausalLM"])
def test_layers_with_different_windows_agree_in_every_backend(tiny_checkpoints, architecture):
    """Local and global layers: each layer's window reaches the kernel it runs, with Gemma 2's
    soft-capped scores or gpt-oss's sinks."""
    spec = next(s for s in ARCH_CASES if s.architecture == architecture)
    path = tiny_checkpoints(spec)
    expected = generate(path, "reference")
    assert generate(path, "auto") == expected
    if architecture != "GptOssForCausalLM":  # its experts would run the interpreted TPU
        # grouped matmul too (20 s); the TPU kernel's sinks are checked in its own tests
        assert generate(path, "pallas-interpret") == expected


@pytest.mark.cpu
@pytest.mark.slow
def test_experts_agree_with_every_grouped_matmul(tiny_checkpoints, monkeypatch):
    """A mixture of experts: the TPU grouped-matmul kernel (TPU interpret mode), the CPU
    path and the jnp oracle give the same tokens through the whole engine."""
    import pallas_kernels.grouped_matmul as kernels

    spec = next(s for s in ARCH_CASES if s.architecture == "MixtralForCausalLM")
    path = tiny_checkpoints(spec)
    calls = []

    def spy(*args, **kwargs):
        calls.append(kwargs.get("interpret"))
        return kernel(*args, **kwargs)

    kernel = kernels.grouped_matmul_tpu
    monkeypatch.setattr(kernels, "grouped_matmul_tpu", spy)
    expected = generate(path, "reference")
    assert generate(path, "auto") == expected
    assert not calls
    assert generate(path, "pallas-interpret") == expected
    assert calls and all(calls)
