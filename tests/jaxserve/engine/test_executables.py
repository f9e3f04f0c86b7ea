"""The store of compiled step programs: a second engine loads them instead of compiling."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import pytest

from jaxserve import LLM, SamplingParams
from jaxserve.engine.executables import ExecutableStore, callable_fingerprint
from tests.tiny_models import TinySpec

pytestmark = pytest.mark.cpu

SPEC = TinySpec("executables", "LlamaForCausalLM", seed=11)
GREEDY = SamplingParams(temperature=0.0, max_tokens=6, ignore_eos=True)
PROMPTS = [{"prompt_token_ids": [1, 5, 9, 13, 17]}, {"prompt_token_ids": [2, 4, 6]}]


def _llm(path, store, monkeypatch):
    monkeypatch.setenv("JAXSERVE_EXECUTABLE_STORE", str(store))
    return LLM(
        path,
        max_model_len=64,
        max_num_seqs=4,
        max_num_batched_tokens=32,
        skip_tokenizer_init=True,
        compilation_cache_dir=None,
    )


def _tokens(llm):
    return [o.outputs[0].token_ids for o in llm.generate(PROMPTS, GREEDY, use_tqdm=False)]


@pytest.mark.warmup
def test_a_second_engine_loads_every_warmed_up_program(tiny_checkpoints, tmp_path, monkeypatch):
    path = tiny_checkpoints(SPEC)
    first = _llm(path, tmp_path / "exe", monkeypatch)
    assert first.runner.executables.compiled > 0 and first.runner.executables.loaded == 0
    expected = _tokens(first)
    second = _llm(path, tmp_path / "exe", monkeypatch)
    assert second.runner.executables.compiled == 0
    assert second.runner.executables.loaded == first.runner.executables.compiled
    assert _tokens(second) == expected


def test_the_store_is_off_unless_asked_for(tiny_checkpoints, monkeypatch):
    monkeypatch.delenv("JAXSERVE_EXECUTABLE_STORE", raising=False)
    llm = LLM(tiny_checkpoints(SPEC), max_model_len=64, skip_tokenizer_init=True)
    assert llm.runner.executables.directory is None


def _square_store(directory, fingerprint="model-a"):
    store = ExecutableStore(directory, fingerprint, jax.devices()[:1])
    x = jnp.arange(4.0)
    return store, lambda: jax.jit(lambda a: a * a).lower(x), x


def test_store_round_trip_and_damaged_entries(tmp_path):
    store, lower, x = _square_store(tmp_path)
    assert list(store.get("k", lower)(x)) == [0.0, 1.0, 4.0, 9.0]
    assert store.compiled == 1

    again, lower, x = _square_store(tmp_path)
    assert list(again.get("k", lower)(x)) == [0.0, 1.0, 4.0, 9.0]
    assert (again.loaded, again.compiled) == (1, 0)

    (entry,) = tmp_path.iterdir()
    entry.write_bytes(b"not a program")
    damaged, lower, x = _square_store(tmp_path)
    assert list(damaged.get("k", lower)(x)) == [0.0, 1.0, 4.0, 9.0]
    assert (damaged.loaded, damaged.compiled) == (0, 1), "a damaged entry is compiled afresh"


def test_a_different_fingerprint_never_shares_a_program(tmp_path):
    store, lower, _x = _square_store(tmp_path, "model-a")
    store.get("k", lower)
    other, lower, _x = _square_store(tmp_path, "model-b")
    other.get("k", lower)
    assert (other.loaded, other.compiled) == (0, 1)
    assert len(list(tmp_path.iterdir())) == 2


def test_without_a_directory_nothing_is_written(tmp_path):
    store, lower, _x = _square_store(None)
    store.get("k", lower)
    assert store.compiled == 1 and not list(tmp_path.iterdir())


def _kernel(x, *, interpret=False):
    return x


def test_callable_fingerprint_tells_configured_kernels_apart():
    def adapter_for(interpret):
        def adapter(x):
            return _kernel(x, interpret=interpret)

        return adapter

    names = {
        callable_fingerprint(_kernel),
        callable_fingerprint(functools.partial(_kernel, interpret=True)),
        callable_fingerprint(adapter_for(True)),
        callable_fingerprint(adapter_for(False)),
    }
    assert len(names) == 4
    assert callable_fingerprint(adapter_for(True)) == callable_fingerprint(adapter_for(True))
