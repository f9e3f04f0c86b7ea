"""`jaxserve convert` and the Orbax restore: the converted model is the HF directory's model."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxserve import LLM, SamplingParams
from jaxserve.errors import CheckpointError, ModelConfigError
from jaxserve.loader.convert import convert
from jaxserve.loader.orbax import METADATA_FILE, PARAMS_DIR
from tests.tiny_models import TinySpec

pytestmark = pytest.mark.cpu

ROOT = Path(__file__).resolve().parents[3]
LLAMA = TinySpec("orbax-llama", "LlamaForCausalLM")
TIED = TinySpec("orbax-qwen2-tied", "Qwen2ForCausalLM", tie=True, seed=1)
MOE = TinySpec("orbax-mixtral", "MixtralForCausalLM", experts=4, seed=4)
BF16 = TinySpec("orbax-llama", "LlamaForCausalLM").with_dtype("bfloat16")
PROMPTS = [{"prompt_token_ids": [1, *range(10, 40)]}, {"prompt_token_ids": [1, 7, 7, 9]}]
GREEDY = SamplingParams(temperature=0, max_tokens=12, ignore_eos=True)
OPTIONS = dict(max_model_len=64, num_pages=32, skip_tokenizer_init=True)


def _tokens(llm: LLM) -> list[list[int]]:
    return [o.outputs[0].token_ids for o in llm.generate(PROMPTS, GREEDY, use_tqdm=False)]


def _assert_same_params(ours: dict, ref: dict) -> None:
    """Leaf for leaf: one dtype, one shape, one sharding, equal values (after prepare_params)."""
    ref_leaves = dict(jax.tree_util.tree_leaves_with_path(ref))
    ours_leaves = dict(jax.tree_util.tree_leaves_with_path(ours))
    assert ours_leaves.keys() == ref_leaves.keys()
    for key, want in ref_leaves.items():
        got, name = ours_leaves[key], jax.tree_util.keystr(key)
        assert (got.dtype, got.shape) == (want.dtype, want.shape), name
        assert got.sharding.is_equivalent_to(want.sharding, want.ndim), name
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want), err_msg=name)


@pytest.mark.parametrize(
    ("spec", "quantization"),
    [(LLAMA, None), (LLAMA, "int8"), (TIED, None), (MOE, "int8"), (BF16, None)],
    ids=["float32", "int8", "tied", "moe-int8", "bfloat16"],
)
def test_converted_model_is_the_hf_model(spec, quantization, tiny_checkpoints, tmp_path):
    hf_dir = tiny_checkpoints(spec)
    out = convert(hf_dir, tmp_path / "out", quantization=quantization)
    ref = LLM(hf_dir, quantization=quantization, **OPTIONS)
    ours = LLM(out, **OPTIONS)
    _assert_same_params(ours.runner.params, ref.runner.params)
    assert _tokens(ours) == _tokens(ref)
    meta = json.loads((out / METADATA_FILE).read_text())
    assert meta["quantization"] == quantization
    assert meta["source_dtype"] == spec.dtype
    assert not list(out.glob("*.safetensors"))


def test_tensor_parallel_restores_into_shards(tiny_checkpoints, tmp_path):
    hf_dir = tiny_checkpoints(LLAMA)
    out = convert(hf_dir, tmp_path / "tp2", quantization="int8", tensor_parallel_size=2)
    meta = json.loads((out / METADATA_FILE).read_text())
    assert meta["tensor_parallel_size"] == 2
    assert meta["arrays"]["layers/wq/q"] == {"shape": [2, 64, 64], "dtype": "int8"}
    ref = LLM(hf_dir, quantization="int8", tensor_parallel_size=2, **OPTIONS)
    ours = LLM(out, tensor_parallel_size=2, **OPTIONS)
    _assert_same_params(ours.runner.params, ref.runner.params)
    down = ours.runner.params["layers"]["w_down"].q
    assert down.sharding.mesh.shape["model"] == 2
    assert down.sharding.spec[1] == "model" and len(down.addressable_shards) == 2
    assert _tokens(ours) == _tokens(ref)
    # sharded for two devices, restored onto one: Orbax reads the shards back whole
    single = LLM(out, **OPTIONS)
    assert _tokens(single) == _tokens(LLM(hf_dir, quantization="int8", **OPTIONS))


def test_output_holds_config_tokenizer_and_metadata(tiny_checkpoints, tmp_path):
    out = convert(tiny_checkpoints(LLAMA), tmp_path / "out")
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "generation_config.json", "tokenizer.json", METADATA_FILE} <= names
    assert (out / PARAMS_DIR).is_dir() and "model.safetensors" not in names
    llm = LLM(out, max_model_len=64, num_pages=32)  # the copied tokenizer loads
    assert llm.generate("hello", GREEDY, use_tqdm=False)[0].outputs[0].text


def test_quantization_mismatch_names_both(tiny_checkpoints, tmp_path):
    out = convert(tiny_checkpoints(LLAMA), tmp_path / "int8", quantization="int8")
    with pytest.raises(ModelConfigError, match=r"converted with quantization='int8'.*'fp8'"):
        LLM(out, quantization="fp8", **OPTIONS)
    plain = convert(tiny_checkpoints(LLAMA), tmp_path / "plain")
    with pytest.raises(ModelConfigError, match=r"quantization=None; quantization='int8'"):
        LLM(plain, quantization="int8", **OPTIONS)


def test_partial_checkpoint_is_named(tiny_checkpoints, tmp_path):
    out = convert(tiny_checkpoints(LLAMA), tmp_path / "out")
    (out / PARAMS_DIR / "manifest.ocdbt").unlink()
    with pytest.raises(CheckpointError, match="not a complete jaxserve Orbax checkpoint"):
        LLM(out, **OPTIONS)
    meta = out / METADATA_FILE
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "format_version": 99}))
    with pytest.raises(CheckpointError, match="format version 99; this jaxserve reads version 1"):
        LLM(out, **OPTIONS)
    meta.write_text("{not json")
    with pytest.raises(CheckpointError, match="cannot read"):
        LLM(out, **OPTIONS)


# Orbax reads the arrays concurrently and raises the first failure; the others' tasks are
# reported when collected, which is Orbax's affair rather than this test's.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_corrupt_array_data_is_named(tiny_checkpoints, tmp_path):
    out = convert(tiny_checkpoints(LLAMA), tmp_path / "out")
    for path in (out / PARAMS_DIR).rglob("*"):
        if path.is_file() and path.parent.name == "d":  # the arrays' data
            path.write_bytes(b"\0" * 8)
    with pytest.raises(CheckpointError, match="not a complete jaxserve Orbax checkpoint") as e:
        LLM(out, **OPTIONS)
    assert "tensorstore_spec" not in str(e.value)
    time.sleep(0.2)  # Orbax's other reads finish failing here, not in a later test
    gc.collect()


def test_convert_refuses_bad_input_and_output(tiny_checkpoints, tmp_path):
    hf_dir = tiny_checkpoints(LLAMA)
    with pytest.raises(CheckpointError, match="model directory not found"):
        convert(tmp_path / "missing", tmp_path / "out")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(CheckpointError, match="exists and is not empty; pass --force"):
        convert(hf_dir, busy)
    with pytest.raises(CheckpointError, match="--force replaces only an earlier conversion"):
        convert(hf_dir, busy, force=True)
    assert (busy / "notes.txt").read_text() == "mine"
    with pytest.raises(CheckpointError, match="must lie outside the model directory"):
        convert(hf_dir, Path(hf_dir) / "out")
    with pytest.raises(ModelConfigError, match="quantization must be one of int8, fp8"):
        convert(hf_dir, tmp_path / "out", quantization="int4")
    assert not (tmp_path / "out").exists()
    earlier = convert(hf_dir, tmp_path / "earlier", quantization="int8")
    convert(hf_dir, earlier, force=True)  # an earlier conversion is replaced
    assert json.loads((earlier / METADATA_FILE).read_text())["quantization"] is None


def test_convert_refuses_vision_language_models(tiny_vlms, tmp_path):
    with pytest.raises(ModelConfigError, match="does not support vision-language models yet"):
        convert(tiny_vlms("llava"), tmp_path / "out")


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, JAXSERVE_COMPILATION_CACHE="")
    cmd = [sys.executable, "-m", "jaxserve.cli", "convert", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_cli_converts_then_refuses(tiny_checkpoints, tmp_path):
    hf_dir, out = tiny_checkpoints(LLAMA), str(tmp_path / "out")
    done = _cli(hf_dir, out, "--quantization", "int8", "--tensor-parallel-size", "2")
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout
    meta = json.loads((Path(out) / METADATA_FILE).read_text())
    assert (meta["quantization"], meta["tensor_parallel_size"]) == ("int8", 2)
    again = _cli(hf_dir, out)
    assert again.returncode == 2 and "exists and is not empty; pass --force" in again.stderr
