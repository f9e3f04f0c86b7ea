"""Warm-up compiles the shape buckets at start; the programs land in the persistent cache."""

from __future__ import annotations

import jax
import pytest

from jaxserve import LLM, SamplingParams
from jaxserve.compile_cache import default_cache_dir
from tests.tiny_models import TinySpec


@pytest.mark.warmup
def test_warmup_fills_the_compilation_cache(tiny_checkpoints, tmp_path, monkeypatch):
    path = tiny_checkpoints(TinySpec("warmup", "LlamaForCausalLM"))
    cache = tmp_path / "xla"
    previous = jax.config.jax_compilation_cache_dir
    try:
        llm = LLM(
            path,
            max_model_len=64,
            max_num_seqs=8,
            max_num_batched_tokens=32,
            skip_tokenizer_init=True,
            compilation_cache_dir=cache,
        )
        entries = list(cache.iterdir())
        assert len(entries) >= 4, "each warmed-up bucket is stored"
        out = llm.generate(
            {"prompt_token_ids": [1, 2, 3]},
            SamplingParams(temperature=0, max_tokens=3),
            use_tqdm=False,
        )
        assert len(out[0].outputs[0].token_ids) == 3
    finally:
        jax.config.update("jax_compilation_cache_dir", previous)


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("JAXSERVE_COMPILATION_CACHE", str(tmp_path))
    assert default_cache_dir() == str(tmp_path)
    monkeypatch.setenv("JAXSERVE_COMPILATION_CACHE", "")
    assert default_cache_dir() is None
    monkeypatch.delenv("JAXSERVE_COMPILATION_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_cache_dir() == str(tmp_path / ".cache" / "jaxserve" / "xla")
