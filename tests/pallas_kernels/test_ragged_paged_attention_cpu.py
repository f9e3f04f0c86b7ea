"""The native CPU kernel (XLA FFI) against float64 dense attention, and its build cache."""

from __future__ import annotations

import functools
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from platforms.attention import kernel_status
from tests.pallas_kernels.rpa_cases import make_ragged_batch

pytestmark = pytest.mark.cpu

status = kernel_status("cpu_native")
if not status.available:  # pragma: no cover - machines without a C++ compiler
    pytest.skip(f"the native CPU kernel is unavailable: {status.reason}", allow_module_level=True)

from pallas_kernels import native  # noqa: E402
from pallas_kernels.ragged_paged_attention import cpu  # noqa: E402


def run(batch, *, sm_scale, sliding_window=None, soft_cap=None, sinks=None):
    fn = functools.partial(
        cpu.ragged_paged_attention_cpu,
        sm_scale=sm_scale,
        sliding_window=sliding_window,
        soft_cap=soft_cap,
    )
    inputs = {**batch.inputs, "sinks": None if sinks is None else jnp.asarray(sinks, jnp.float32)}
    return np.asarray(jax.jit(lambda x: fn(**x))(inputs).astype(jnp.float32), np.float64)


def check(batch, out, *, sm_scale, sliding_window=None, soft_cap=None, sinks=None, tol=2e-5):
    expected = batch.expected(sm_scale, sliding_window, soft_cap, sinks)
    real = batch.num_real_tokens
    np.testing.assert_allclose(out[:real], expected, rtol=tol, atol=tol)
    assert not out[real:].any(), "rows past the real tokens must be zero"


@pytest.mark.parametrize(
    ("seqs", "page_size", "heads", "head_dim"),
    [
        ([(37, 1), (1, 1), (20, 1), (300, 1)], 16, (4, 2), 64),  # decode
        ([(70, 1), (50, 13), (23, 23), (5, 1)], 16, (4, 2), 32),  # mixed
        ([(130, 130)], 8, (8, 1), 128),  # one long prompt, multi-query
        ([(40, 17), (9, 9), (64, 2)], 32, (6, 6), 16),  # no grouping, big pages
        ([(33, 5), (18, 18)], 16, (4, 2), 40),  # head dim not a multiple of 8
        ([(1, 1)], 16, (9, 3), 64),  # a single token
    ],
    ids=["decode", "mixed", "long-prompt-mqa", "mha-pages32", "head-dim-40", "one-token"],
)
def test_matches_dense_attention(seqs, page_size, heads, head_dim):
    num_heads, num_kv_heads = heads
    batch = make_ragged_batch(
        np.random.default_rng(len(seqs) + head_dim), seqs, page_size=page_size,
        num_heads=num_heads, num_kv_heads=num_kv_heads, head_dim=head_dim,
        pad_tokens=3, pad_seqs=2,
    )  # fmt: skip
    sm_scale = head_dim**-0.5
    check(batch, run(batch, sm_scale=sm_scale), sm_scale=sm_scale)


@pytest.mark.parametrize("window", [1, 5, 16, 40])
def test_sliding_window(window):
    seqs = [(70, 1), (50, 13), (23, 23), (100, 40)]
    batch = make_ragged_batch(
        np.random.default_rng(window), seqs, page_size=16, num_heads=4, num_kv_heads=2,
        head_dim=32, pad_tokens=2,
    )  # fmt: skip
    out = run(batch, sm_scale=0.3, sliding_window=window)
    check(batch, out, sm_scale=0.3, sliding_window=window)


@pytest.mark.parametrize("q_dtype", [jnp.bfloat16, jnp.float32])
def test_bfloat16_pages(q_dtype):
    seqs = [(70, 1), (50, 13), (23, 23)]
    batch = make_ragged_batch(
        np.random.default_rng(7), seqs, page_size=16, num_heads=4, num_kv_heads=2,
        head_dim=64, dtype=jnp.bfloat16, pad_tokens=2,
    )  # fmt: skip
    batch.inputs["q"] = batch.inputs["q"].astype(q_dtype)  # bf16 values, exact in f32
    out = run(batch, sm_scale=0.125)
    # float32 output is exact up to float32 rounding; bfloat16 output is rounded once
    check(batch, out, sm_scale=0.125, tol=2e-5 if q_dtype == jnp.float32 else 2e-2)


@pytest.mark.parametrize("window", [None, 6])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize("options", ["soft_cap", "sinks", "both"])
def test_score_options_match_dense_attention(options, dtype, window):
    """Gemma 2's tanh cap and gpt-oss's sinks over decodes and prompt chunks, 4 heads a group."""
    seqs = [(70, 1), (50, 13), (23, 23), (100, 40), (9, 1)]
    batch = make_ragged_batch(
        np.random.default_rng(3), seqs, page_size=16, num_heads=8, num_kv_heads=2,
        head_dim=64, dtype=dtype, pad_tokens=2, pad_seqs=1,
    )  # fmt: skip
    rng = np.random.default_rng(4)
    soft_cap = 2.0 if options in ("soft_cap", "both") else None  # scores spread over +-6
    sinks = rng.normal(0.0, 3.0, 8).astype(np.float32) if options in ("sinks", "both") else None
    sm_scale = 0.75
    options_matter = batch.expected(sm_scale, window, soft_cap, sinks) - batch.expected(
        sm_scale, window
    )
    assert np.abs(options_matter).max() > 0.1, "the options must change the answer"
    out = run(batch, sm_scale=sm_scale, sliding_window=window, soft_cap=soft_cap, sinks=sinks)
    check(
        batch, out, sm_scale=sm_scale, sliding_window=window, soft_cap=soft_cap, sinks=sinks,
        tol=2e-5 if dtype == jnp.float32 else 2e-2,
    )  # fmt: skip


def test_score_options_over_many_decodes_and_an_odd_head_dim():
    """Units holding every KV head (many sequences) and the generic head-dim loops."""
    rng = np.random.default_rng(12)
    seqs = [(int(n), 1) for n in rng.integers(1, 40, 128)]  # 4 units a thread up to 32 threads
    batch = make_ragged_batch(
        rng, seqs, page_size=8, num_heads=6, num_kv_heads=3, head_dim=40, pad_tokens=1
    )
    options = dict(soft_cap=1.5, sinks=rng.normal(0.0, 2.0, 6).astype(np.float32))
    check(batch, run(batch, sm_scale=0.5, **options), sm_scale=0.5, **options)


def test_many_sequences_spread_over_threads_agree_with_the_reference():
    """64 decoding sequences of a few hundred tokens: the shape the kernel exists for."""
    rng = np.random.default_rng(11)
    seqs = [(int(n), 1) for n in rng.integers(1, 400, 64)]
    batch = make_ragged_batch(
        rng, seqs, page_size=16, num_heads=9, num_kv_heads=3, head_dim=64, pad_tokens=0
    )
    check(batch, run(batch, sm_scale=0.125), sm_scale=0.125)


def test_padding_slots_and_empty_sequences_are_ignored():
    """Sequences with no queries this step and slots past num_seqs produce nothing."""
    batch = make_ragged_batch(
        np.random.default_rng(5), [(30, 0), (12, 3), (40, 0), (7, 1)], page_size=16,
        num_heads=4, num_kv_heads=2, head_dim=32, pad_tokens=4, pad_seqs=3,
    )  # fmt: skip
    check(batch, run(batch, sm_scale=0.2), sm_scale=0.2)


def test_rejects_what_it_cannot_run():
    batch = make_ragged_batch(
        np.random.default_rng(0), [(5, 1)], page_size=16, num_heads=4, num_kv_heads=2,
        head_dim=32,
    )  # fmt: skip
    x = batch.inputs
    with pytest.raises(ValueError, match="float32 or bfloat16"):
        cpu.ragged_paged_attention_cpu(**{**x, "q": x["q"].astype(jnp.float16)})
    with pytest.raises(ValueError, match="bfloat16 queries need bfloat16 pages"):
        cpu.ragged_paged_attention_cpu(**{**x, "q": x["q"].astype(jnp.bfloat16)})
    with pytest.raises(ValueError, match="not a multiple of 2"):
        cpu.ragged_paged_attention_cpu(**{**x, "q": x["q"][:, :3]})
    with pytest.raises(ValueError, match="sliding_window must be positive"):
        cpu.ragged_paged_attention_cpu(**x, sliding_window=0)
    with pytest.raises(ValueError, match="soft_cap must be positive"):
        cpu.ragged_paged_attention_cpu(**x, soft_cap=0.0)
    with pytest.raises(ValueError, match="below float32's range"):
        cpu.ragged_paged_attention_cpu(**x, soft_cap=1e-50)
    for shape in [(2,), (4, 1), (0,)]:
        with pytest.raises(ValueError, match=r"one logit per query head \(4\)"):
            cpu.ragged_paged_attention_cpu(**x, sinks=jnp.zeros(shape))


def test_the_kernel_refuses_sinks_of_the_wrong_length():
    """The FFI call checks its operands itself, whoever builds it."""
    batch = make_ragged_batch(
        np.random.default_rng(0), [(5, 1)], page_size=16, num_heads=4, num_kv_heads=2,
        head_dim=32,
    )  # fmt: skip
    x = batch.inputs
    call = jax.ffi.ffi_call(cpu.TARGET, jax.ShapeDtypeStruct(x["q"].shape, x["q"].dtype))
    attrs = dict(sm_scale=np.float32(1), sliding_window=np.int64(0), soft_cap=np.float32(0))
    with pytest.raises(Exception, match=r"sinks must be f32\[H\]"):
        jax.block_until_ready(call(*x.values(), jnp.zeros((3,), jnp.float32), **attrs))


def test_a_table_pointing_past_the_pages_is_an_error_not_a_read():
    batch = make_ragged_batch(
        np.random.default_rng(0), [(40, 1)], page_size=16, num_heads=4, num_kv_heads=2,
        head_dim=32,
    )  # fmt: skip
    too_long = {**batch.inputs, "kv_lens": batch.inputs["kv_lens"].at[0].set(10_000)}
    with pytest.raises(Exception, match="kv_lens"):
        jax.block_until_ready(cpu.ragged_paged_attention_cpu(**too_long))


def test_the_library_is_cached_per_machine(tmp_path, monkeypatch):
    """A second build is a cache hit; a different source would be a different file. The
    other kernels compile alongside the first, and no temporary file is left behind."""
    monkeypatch.setenv(cpu.CACHE_ENV_VAR, str(tmp_path))
    first = cpu.build()
    assert first.parent == tmp_path and first.exists()
    mtime = first.stat().st_mtime_ns
    assert cpu.build() == first and first.stat().st_mtime_ns == mtime
    libraries = {native.build(source).name for source in native.SOURCES}
    assert first.name in libraries and len(libraries) == len(native.SOURCES)
    assert {p.name for p in tmp_path.iterdir()} == libraries, "no temporary files left"


def test_no_compiler_makes_the_kernel_unavailable_and_cpu_falls_back(tmp_path):
    """The platform starts on the reference, naming the reason, where nothing can compile."""
    code = (
        "import logging; logging.basicConfig(level=logging.WARNING)\n"
        "import jax, platforms\n"
        "p = platforms.detect()\n"
        "print('ATTENTION', p.attention)\n"
    )
    env = {
        "PATH": "/nonexistent",
        "CXX": str(tmp_path / "no-such-compiler"),
        "JAXSERVE_KERNEL_CACHE": str(tmp_path / "cache"),
        "JAX_PLATFORMS": "cpu",
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "ATTENTION reference" in result.stdout
    assert "cpu_native is unavailable" in result.stderr
