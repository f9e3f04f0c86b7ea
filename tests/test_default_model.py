"""The embedded default model ships, loads and generates; its training script still runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jaxserve import LLM, SamplingParams

REPO = Path(__file__).resolve().parent.parent
MODEL_DIR = REPO / "models" / "default"
SCRIPT = REPO / "scripts" / "train_default_model.py"
MAX_BYTES = 40 * 2**20
HF_FILES = (
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "README.md",
)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_shipped_model_is_a_small_hf_llama():
    for name in HF_FILES:
        assert (MODEL_DIR / name).is_file(), f"models/default lacks {name}"
    assert _size(MODEL_DIR) < MAX_BYTES
    config = json.loads((MODEL_DIR / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert config["model_type"] == "llama"


def test_shipped_chat_template_renders():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(MODEL_DIR)
    text = tok.apply_chat_template(
        [{"role": "user", "content": "What does os.path.join do?"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert text.startswith(tok.bos_token)
    assert "What does os.path.join do?" in text
    assert text.endswith("<|im_start|>assistant\n")
    assert tok.encode("def f():")[0] == tok.bos_token_id  # plain prompts start like training


def test_jaxserve_generates_from_shipped_model():
    llm = LLM(MODEL_DIR, dtype="float32", max_model_len=128, num_pages=16, warmup=False)
    params = SamplingParams(temperature=0, max_tokens=16)
    completion = llm.generate(["def parse_args("], params, use_tqdm=False)[0].outputs[0]
    assert completion.text.strip()
    reply = llm.chat([{"role": "user", "content": "What does os.path.join do?"}], params)
    assert reply[0].outputs[0].text.strip()


@pytest.mark.slow
def test_training_script_runs_end_to_end(tmp_path):
    """A few steps of a toy-sized model on a few files, so the script cannot rot unnoticed."""
    pytest.importorskip("optax")
    pytest.importorskip("safetensors")
    out = tmp_path / "model"
    # fmt: off
    args = [
        "--out", str(out), "--steps", "4", "--max-files", "30", "--vocab-size", "400",
        "--batch-size", "2", "--seq-len", "32", "--hidden-size", "32",
        "--intermediate-size", "64", "--layers", "1", "--heads", "2", "--kv-heads", "1",
        "--log-every", "2", "--sample-tokens", "4", "--eval-tokens", "256",
    ]
    # fmt: on
    run = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "held-out perplexity" in run.stderr
    for name in HF_FILES:
        assert (out / name).is_file(), f"the script wrote no {name}"
    card = (out / "README.md").read_text()
    assert "unigram baseline" in card and "--steps 4" in card

    from jaxserve.loader import open_checkpoint

    ckpt = open_checkpoint(out)  # jaxserve's loader accepts what the script writes
    assert ckpt.config.num_layers == 1 and ckpt.config.tie_word_embeddings
    assert set(ckpt.eos_token_ids) == {2, 4}  # </s> and <|im_end|>
