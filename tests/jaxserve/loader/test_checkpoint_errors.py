"""Every way a model directory can be wrong fails with a message that names the problem."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from jaxserve import LLM
from jaxserve.errors import CheckpointError, JaxserveError, ModelConfigError
from jaxserve.loader import open_checkpoint
from tests.jaxserve.model.test_llama_parity import prompt_logits
from tests.tiny_models import TinySpec, build_hf_model, write_tokenizer

pytestmark = pytest.mark.cpu

SPEC = TinySpec("loader-base", "LlamaForCausalLM")
WEIGHTS = "model.safetensors"


@pytest.fixture
def model_dir(tiny_checkpoints, tmp_path) -> Path:
    """A private, writable copy of a good checkpoint."""
    dst = tmp_path / "model"
    shutil.copytree(tiny_checkpoints(SPEC), dst)
    return dst


def load(path, **kwargs):
    return LLM(path, max_model_len=64, skip_tokenizer_init=True, **kwargs)


def expect(error_type, match, path, **kwargs):
    with pytest.raises(error_type, match=match) as info:
        load(path, **kwargs)
    assert isinstance(info.value, JaxserveError)
    assert not isinstance(info.value, KeyError | AssertionError)
    return info.value


def edit_config(path: Path, **changes) -> None:
    config = json.loads((path / "config.json").read_text())
    for key, value in changes.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    (path / "config.json").write_text(json.dumps(config))


def test_missing_directory(tmp_path):
    expect(CheckpointError, "model directory not found: .*nowhere", tmp_path / "nowhere")


def test_path_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    expect(CheckpointError, "not a directory", tmp_path / "file")


def test_missing_config(model_dir):
    (model_dir / "config.json").unlink()
    expect(CheckpointError, "config.json not found", model_dir)


def test_config_not_json(model_dir):
    (model_dir / "config.json").write_text("{ not json")
    expect(CheckpointError, "config.json .* is not valid JSON", model_dir)


def test_unsupported_architecture_lists_supported_ones(model_dir):
    edit_config(model_dir, architectures=["GPT2LMHeadModel"])
    err = expect(ModelConfigError, "unsupported architecture", model_dir)
    for arch in ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"):
        assert arch in str(err)


def test_config_missing_required_key(model_dir):
    edit_config(model_dir, hidden_size=None)
    expect(ModelConfigError, "lacks the required key 'hidden_size'", model_dir)


def test_unsupported_rope_type(model_dir):
    edit_config(
        model_dir, rope_parameters={"rope_type": "dynamic", "rope_theta": 1e4}, rope_scaling=None
    )
    expect(ModelConfigError, "rope type 'dynamic' is not supported", model_dir)


def test_no_weight_files(model_dir):
    (model_dir / WEIGHTS).unlink()
    expect(CheckpointError, r"no \*\.safetensors weight files", model_dir)


def test_truncated_weight_file(model_dir):
    data = (model_dir / WEIGHTS).read_bytes()
    (model_dir / WEIGHTS).write_bytes(data[: len(data) // 2])
    expect(CheckpointError, "corrupt safetensors file .*truncated", model_dir)


def test_garbage_weight_file(model_dir):
    (model_dir / WEIGHTS).write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not a json header")
    expect(CheckpointError, "corrupt safetensors file .*not valid JSON", model_dir)


def test_weight_file_shorter_than_a_header(model_dir):
    (model_dir / WEIGHTS).write_bytes(b"abc")
    expect(CheckpointError, "corrupt safetensors file .*too short", model_dir)


def test_missing_tensor(model_dir):
    tensors = load_file(model_dir / WEIGHTS)
    del tensors["model.layers.1.mlp.up_proj.weight"]
    save_file(tensors, model_dir / WEIGHTS)
    expect(CheckpointError, "missing tensor 'model.layers.1.mlp.up_proj.weight'", model_dir)


def test_shape_mismatch(model_dir):
    edit_config(model_dir, intermediate_size=80)
    expect(CheckpointError, r"has shape \[96, 64\], but config.json implies \[80, 64\]", model_dir)


def test_tokenizer_missing_is_named_and_skippable(model_dir):
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (model_dir / name).unlink()
    with pytest.raises(CheckpointError, match="could not load a tokenizer"):
        LLM(model_dir, max_model_len=64)
    assert load(model_dir).tokenizer is None


def write_sharded(path: Path) -> None:
    model = build_hf_model(SPEC)
    model.save_pretrained(path, max_shard_size="40KB")
    write_tokenizer(path)


def test_sharded_checkpoint_loads_the_same_model(model_dir, tmp_path):
    sharded = tmp_path / "sharded"
    write_sharded(sharded)
    assert len(list(sharded.glob("*.safetensors"))) > 2
    assert (sharded / "model.safetensors.index.json").exists()
    prompt = [1, 4, 9, 16, 25]
    np.testing.assert_array_equal(
        prompt_logits(load(sharded), prompt), prompt_logits(load(model_dir), prompt)
    )


def test_index_names_a_missing_shard(tmp_path):
    sharded = tmp_path / "sharded"
    write_sharded(sharded)
    victim = sorted(sharded.glob("*.safetensors"))[0]
    victim.unlink()
    expect(CheckpointError, f"weight file {victim.name} listed in .* is missing", sharded)


def test_index_points_at_the_wrong_shard(tmp_path):
    sharded = tmp_path / "sharded"
    write_sharded(sharded)
    index_path = sharded / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    files = sorted(set(index["weight_map"].values()))
    name = next(n for n, f in index["weight_map"].items() if f == files[0])
    index["weight_map"][name] = files[1]
    index_path.write_text(json.dumps(index))
    expect(CheckpointError, f"places '{name}' in {files[1]}, which lacks it", sharded)


def test_open_checkpoint_reads_generation_eos(model_dir):
    (model_dir / "generation_config.json").write_text(json.dumps({"eos_token_id": [2, 7]}))
    assert open_checkpoint(model_dir).eos_token_ids == (2, 7)
