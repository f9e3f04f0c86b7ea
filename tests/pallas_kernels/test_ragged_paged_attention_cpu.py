"""The native CPU kernel (XLA FFI) against float64 dense attention, and its build cache."""

from __future__ import annotations

import functools
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pallas_kernels.ragged_paged_attention.reference import ragged_paged_attention_reference
from platforms.attention import kernel_status
from tests.pallas_kernels.rpa_cases import CODE_SCALE, make_ragged_batch, with_code_pages

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


CODE_DTYPES = [jnp.int8, jnp.float8_e4m3fn]


@pytest.mark.parametrize(
    ("code_dtype", "q_dtype", "heads", "head_dim", "window", "options"),
    [
        (jnp.int8, jnp.float32, 8, 64, None, False),
        (jnp.float8_e4m3fn, jnp.bfloat16, 8, 128, 9, False),
        (jnp.int8, jnp.bfloat16, 8, 40, None, True),
        (jnp.float8_e4m3fn, jnp.float32, 4, 64, 20, True),
    ],
    ids=["int8-f32", "fp8-bf16-d128-window", "int8-bf16-d40-options", "fp8-f32-g2-window-options"],
)
def test_code_pages_match_the_reference(code_dtype, q_dtype, heads, head_dim, window, options):
    """int8 / float8_e4m3fn pages (a quantized cache) read as numbers, as the reference reads
    the same pages: decodes and prefill chunks over several pages, the unrolled head dims and
    the generic loops, soft_cap and sinks in two cases. float8 decodes at 2 heads a group read
    pages in place, the rest widen them into scratch first (`kStageReuse`)."""
    seqs = [(70, 1), (50, 13), (23, 23), (9, 1)]
    batch = make_ragged_batch(
        np.random.default_rng(head_dim), seqs, page_size=16, num_heads=heads, num_kv_heads=2,
        head_dim=head_dim, dtype=q_dtype, pad_tokens=2, pad_seqs=1,
    )  # fmt: skip
    inputs = with_code_pages(batch.inputs, code_dtype)
    rng = np.random.default_rng(1)
    options = (
        dict(soft_cap=1.5, sinks=jnp.asarray(rng.normal(0.0, 2.0, heads), jnp.float32))
        if options
        else {}
    )
    kw = dict(sm_scale=head_dim**-0.5 / CODE_SCALE, sliding_window=window, **options)
    out = jax.jit(lambda x: cpu.ragged_paged_attention_cpu(**x, **kw))(inputs)
    expected = jax.jit(lambda x: ragged_paged_attention_reference(**x, **kw))(inputs)
    assert out.dtype == q_dtype
    out, expected = (np.asarray(x.astype(jnp.float32)) for x in (out, expected))
    real = batch.num_real_tokens
    tol = 1e-5 if q_dtype == jnp.float32 else 2e-2
    assert np.abs(out - expected).max() <= tol * np.abs(expected[:real]).max()
    assert not out[real:].any(), "rows past the real tokens must be zero"


@pytest.mark.parametrize("num_heads", [1, 4], ids=["in-place", "staged"])
@pytest.mark.parametrize("head_dim", [64, 32], ids=["unrolled", "generic"])
@pytest.mark.parametrize("code_dtype", CODE_DTYPES, ids=["int8", "fp8"])
def test_every_code_reads_as_its_value(code_dtype, head_dim, num_heads):
    """All 256 codes (fp8 subnormals and NaN too) as the V rows of one-token sequences, whose
    attention output is their V row exactly; K holds the same codes, NaN left out. 4 query
    heads to the KV head make float8 pages widen into scratch first."""
    codes = np.arange(256, dtype=np.uint8).view(jnp.dtype(code_dtype))  # [256]
    num_seqs = 256 // head_dim
    v = codes.reshape(num_seqs, 1, 1, head_dim)  # [P, page_size, K, D]: a page per sequence
    finite = np.isfinite(codes.astype(np.float32))
    k = np.where(finite, codes, np.zeros_like(codes)).reshape(v.shape)
    ones = jnp.ones(num_seqs, jnp.int32)
    out = cpu.ragged_paged_attention_cpu(
        jnp.ones((num_seqs, num_heads, head_dim), jnp.float32), jnp.asarray(k), jnp.asarray(v),
        ones, jnp.arange(num_seqs, dtype=jnp.int32)[:, None],
        jnp.arange(num_seqs + 1, dtype=jnp.int32), ones[:1] * num_seqs, sm_scale=1e-3,
    )  # fmt: skip
    want = jnp.asarray(codes).astype(jnp.float32).reshape(num_seqs, 1, head_dim)
    want = jnp.broadcast_to(want, out.shape)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(want))


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
    with pytest.raises(ValueError, match="q must be float32 or bfloat16"):
        cpu.ragged_paged_attention_cpu(**{**x, "q": x["q"].astype(jnp.float16)})
    e5m2 = x["k_pages"].astype(jnp.float8_e5m2)
    with pytest.raises(ValueError, match="int8, float8_e4m3fn, got float8_e5m2"):
        cpu.ragged_paged_attention_cpu(**{**x, "k_pages": e5m2, "v_pages": e5m2})
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
