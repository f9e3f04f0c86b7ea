"""gpt-oss checkpoints in their release format (MXFP4 experts) load dequantized, as HF loads them.

The tiny gpt-oss model's experts are quantized here to MXFP4 (nearest e2m1 code per value,
a power-of-two scale per 32) and written under the release's tensor names with its
`quantization_config`; transformers itself, dequantizing on CPU, is the reference.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import transformers
from safetensors.numpy import load_file, save_file
from transformers.integrations.mxfp4 import convert_moe_packed_tensors

from jaxserve import LLM
from jaxserve.errors import CheckpointError
from jaxserve.loader import load_params, mxfp4, open_checkpoint
from jaxserve.sharding import make_mesh
from tests.jaxserve.model.test_llama_parity import assert_matches_hugging_face
from tests.tiny_models import ARCH_CASES, build_hf_model

pytestmark = pytest.mark.cpu

# A seed whose quantized model keeps its top two logits apart (by 3.5e-2, greedy runs too).
SPEC = dataclasses.replace(
    next(s for s in ARCH_CASES if s.architecture == "GptOssForCausalLM"), seed=11
)
WEIGHTS = "model.safetensors"
EXPERTS = "model.layers.{i}.mlp.experts."
# As gpt-oss-20b's config.json has it.
QUANTIZATION_CONFIG = {
    "quant_method": "mxfp4",
    "modules_to_not_convert": [
        "model.layers.*.self_attn",
        "model.layers.*.mlp.router",
        "model.embed_tokens",
        "lm_head",
    ],
}
E2M1 = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])  # codes 0-7; 8-15 their negatives


def quantize_mxfp4(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f32[X, in, out] -> (blocks u8[X, out, in/32, 16], scales u8[X, out, in/32]).

    Each block of 32 takes the least power-of-two scale that brings its largest value within
    e2m1's 6, each value the nearest code; two codes a byte, the first in the low nibble.
    """
    x, n, m = w.shape
    block = w.transpose(0, 2, 1).reshape(x, m, n // 32, 32)
    amax = np.maximum(np.abs(block).max(-1), 2.0**-120)
    exp = np.clip(np.ceil(np.log2(amax / 6)), -127, 127).astype(np.int32)
    scaled = block / np.exp2(exp)[..., None]
    codes = np.abs(np.abs(scaled)[..., None] - E2M1).argmin(-1) | (scaled < 0) << 3
    blocks = codes[..., 0::2] | codes[..., 1::2] << 4
    # safetensors writes an array's buffer as it lies in memory: C order first.
    return np.ascontiguousarray(blocks, np.uint8), np.ascontiguousarray(exp + 127, np.uint8)


@pytest.fixture(scope="module")
def mxfp4_dir(tmp_path_factory) -> Path:
    """The tiny gpt-oss checkpoint, its experts stored as gpt-oss's release stores them."""
    path = tmp_path_factory.mktemp("gpt-oss-mxfp4")
    build_hf_model(SPEC).save_pretrained(path)
    tensors = load_file(path / WEIGHTS)
    for i in range(SPEC.num_layers):
        for proj in ("gate_up_proj", "down_proj"):
            name = EXPERTS.format(i=i) + proj
            tensors[name + "_blocks"], tensors[name + "_scales"] = quantize_mxfp4(tensors.pop(name))
    save_file(tensors, path / WEIGHTS, metadata={"format": "pt"})
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(
        json.dumps({**config, "quantization_config": QUANTIZATION_CONFIG})
    )
    return path


def test_dequantize_matches_transformers():
    rng = np.random.default_rng(0)
    every_byte = np.resize(np.arange(256, dtype=np.uint8), 3 * 5 * 4 * 16)  # each code pair
    blocks = rng.permutation(every_byte).reshape(3, 5, 4, 16)
    scales = rng.integers(100, 150, (3, 5, 4), dtype=np.uint8)
    theirs = convert_moe_packed_tensors(
        torch.from_numpy(blocks), torch.from_numpy(scales), dtype=torch.float32
    ).numpy()  # [X, G * 32, R]
    for dtype in (np.float32, jnp.bfloat16):
        ours = mxfp4.dequantize(blocks, scales, np.dtype(dtype))  # [X, R, G * 32]
        assert ours.dtype == dtype and ours.shape == (3, 5, 128)
        np.testing.assert_array_equal(ours.astype(np.float32).transpose(0, 2, 1), theirs)


def test_matches_hugging_face_dequantizing(mxfp4_dir):
    hf = transformers.AutoModelForCausalLM.from_pretrained(
        mxfp4_dir,
        quantization_config=transformers.Mxfp4Config(dequantize=True),
        dtype=torch.float32,
    ).eval()
    original = build_hf_model(SPEC).model.layers[0].mlp.experts.gate_up_proj
    decoded = hf.model.layers[0].mlp.experts.gate_up_proj
    quantization_error = ((decoded - original).norm() / original.norm()).item()
    assert 0 < quantization_error < 0.2, "the checkpoint is not the model, quantized"
    llm = LLM(mxfp4_dir, dtype="float32", max_model_len=128, skip_tokenizer_init=True)

    assert_matches_hugging_face(llm, hf)


def test_dequantizes_straight_into_bfloat16(mxfp4_dir):
    """Every MXFP4 value is exact in bfloat16: the bfloat16 experts are the float32 ones."""
    ckpt = open_checkpoint(mxfp4_dir)
    assert ckpt.config.mxfp4_experts and ckpt.config.prequantized is None
    mesh = make_mesh(1, jax.devices())
    wide = load_params(ckpt, jnp.float32, mesh)["layers"]
    narrow = load_params(ckpt, jnp.bfloat16, mesh)["layers"]
    for name in ("we_gate", "we_up", "we_down"):
        assert narrow[name].dtype == jnp.bfloat16 and wide[name].dtype == jnp.float32
        np.testing.assert_array_equal(np.asarray(narrow[name], np.float32), wide[name])


def rewrite(path: Path, change) -> None:
    tensors = load_file(path / WEIGHTS)
    change(tensors)
    save_file(tensors, path / WEIGHTS, metadata={"format": "pt"})


SCALES = EXPERTS.format(i=1) + "down_proj_scales"
BLOCKS = EXPERTS.format(i=0) + "gate_up_proj_blocks"


def _wrong_scales_shape(t):
    t[SCALES] = np.concatenate([t[SCALES], t[SCALES]], axis=-1)


def _blocks_as_int8(t):
    t[BLOCKS] = t[BLOCKS].view(np.int8)


def _experts_stored_whole(t):
    name = EXPERTS.format(i=0) + "gate_up_proj"
    t[name] = np.zeros((SPEC.experts, 64, 64), np.float32)
    del t[name + "_blocks"], t[name + "_scales"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_wrong_scales_shape, rf"'{SCALES}' .* has shape \[4, 64, 2\], but config.json implies "
                              r"\[4, 64, 1\]"),
        (_blocks_as_int8, f"'{BLOCKS}' .* is int8, but its format stores uint8"),
        (_experts_stored_whole, f"missing tensor '{BLOCKS}'"),
    ],
)  # fmt: skip
def test_malformed_mxfp4_tensors_are_named(mxfp4_dir, tmp_path, change, message):
    bad = tmp_path / "bad"
    shutil.copytree(mxfp4_dir, bad)
    rewrite(bad, change)
    with pytest.raises(CheckpointError, match=message):
        LLM(bad, max_model_len=64, skip_tokenizer_init=True)
