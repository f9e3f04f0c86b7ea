"""Weight-only int8: per-column rounding, the model on int8 weights, and refusals by name."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxserve import LLM, SamplingParams
from jaxserve.errors import ModelConfigError
from pallas_kernels.matmul import QuantizedMatrix, matmul_reference, quantize_int8
from tests.jaxserve.model.test_llama_parity import PROMPTS, prompt_logits, relative_error
from tests.tiny_models import TinySpec

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


@pytest.mark.parametrize(
    ("quantization", "message"),
    [("int4", "'int4' is not supported; supported: int8"), ("fp8", "needs fp8 matmuls")],
)
def test_unsupported_quantizations_are_named(tiny_checkpoints, quantization, message):
    with pytest.raises(ModelConfigError, match=message):
        LLM(tiny_checkpoints(SPEC), quantization=quantization, skip_tokenizer_init=True)
