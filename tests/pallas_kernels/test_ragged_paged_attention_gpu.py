"""GPU ragged paged attention kernels (Pallas Triton, Mosaic GPU) against a float64 oracle.

On CPU: the Triton kernel in Pallas interpret mode over a pairwise-covering sweep, the Mosaic
GPU kernel in its CPU interpreter (everything but wgmma and register layouts), and both
lowered for CUDA. On a GPU (marker `cuda`): the compiled kernels.

Error is `‖out − oracle‖ / ‖oracle‖` (Frobenius, real token rows only), the oracle being
float64 dense attention on the inputs as rounded to the tested dtype.
"""

from __future__ import annotations

import functools
import itertools
import logging
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pallas_kernels.ragged_paged_attention import mosaic_gpu
from pallas_kernels.ragged_paged_attention.mosaic_gpu import ragged_paged_attention_mosaic_gpu
from pallas_kernels.ragged_paged_attention.reference import ragged_paged_attention_reference
from pallas_kernels.ragged_paged_attention.schedule import pick_num_kv_splits
from pallas_kernels.ragged_paged_attention.triton import (
    pick_block_sizes,
    ragged_paged_attention_triton,
)
from platforms.attention import implementation
from tests.pallas_kernels.rpa_cases import CODE_SCALE, make_ragged_batch, with_code_pages

# JAX 0.11 warns whenever it lowers a Pallas Triton kernel for a GPU.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The Pallas Triton backend is deprecated:DeprecationWarning"
)

TOLERANCE = {jnp.float32: 1e-5, jnp.bfloat16: 2e-2}
WORKLOADS = {
    # (kv_len, q_len) per sequence; lengths are off page boundaries.
    "decode": [(1, 1), (37, 1), (100, 1), (64, 1), (9, 1)],
    "prefill": [(37, 37), (20, 20)],
    "mixed": [(70, 1), (50, 13), (23, 23), (5, 1)],
}
FACTORS = {
    "page_size": [16, 32, 64],
    "group": [1, 2, 4, 8],
    "head_dim": [64, 128],
    "workload": list(WORKLOADS),
    "dtype": [jnp.float32, jnp.bfloat16],
    "window": [None, 9],
}

on_gpu = pytest.mark.skipif(jax.default_backend() != "gpu", reason="needs a GPU")


def pairwise_cases() -> list[dict]:
    """Greedy covering array: every pair of values of any two factors appears in some case."""
    names = list(FACTORS)
    factor_pairs = list(itertools.combinations(range(len(names)), 2))

    def pairs_of(c):
        return {((a, c[a]), (b, c[b])) for a, b in factor_pairs}

    candidates = list(itertools.product(*(range(len(FACTORS[n])) for n in names)))
    uncovered = set().union(*map(pairs_of, candidates))
    cases = []
    while uncovered:
        best = max(candidates, key=lambda c: len(pairs_of(c) & uncovered))
        uncovered -= pairs_of(best)
        cases.append({n: FACTORS[n][i] for n, i in zip(names, best, strict=True)})
    return cases


def case_id(case: dict) -> str:
    dtype = jnp.dtype(case["dtype"]).name
    shape = f"p{case['page_size']}-g{case['group']}-d{case['head_dim']}"
    return f"{shape}-{case['workload']}-{dtype}-w{case.get('window')}"


def build(case: dict, seed: int):
    num_kv_heads = 1 if case["group"] == 8 else 2
    return make_ragged_batch(
        np.random.default_rng(seed),
        WORKLOADS[case["workload"]],
        page_size=case["page_size"],
        num_heads=num_kv_heads * case["group"],
        num_kv_heads=num_kv_heads,
        head_dim=case["head_dim"],
        dtype=case["dtype"],
        pad_tokens=3,
        pad_seqs=2,
    )


def check(out, batch, dtype, sm_scale, window=None, soft_cap=None, sinks=None):
    """Relative error within the dtype's tolerance, padding rows exactly zero, all finite."""
    out = np.asarray(jnp.asarray(out).astype(jnp.float32), np.float64)
    n = batch.num_real_tokens
    assert np.isfinite(out).all()
    assert not out[n:].any(), "padding tokens must produce zeros"
    expected = batch.expected(sm_scale, window, soft_cap, sinks)
    if n:
        err = np.linalg.norm(out[:n] - expected) / np.linalg.norm(expected)
        assert err <= TOLERANCE[dtype], f"relative error {err:.2e}"


@pytest.mark.cpu
@pytest.mark.parametrize("case", pairwise_cases(), ids=case_id)
def test_triton_interpret_sweep(case):
    batch = build(case, seed=zlib.crc32(case_id(case).encode()))
    sm_scale = case["head_dim"] ** -0.5
    # Alternate one-page tiles (many loop steps) with the picker's defaults.
    pages = 1 if case["page_size"] >= 16 and case["group"] % 2 == 0 else None
    out = ragged_paged_attention_triton(
        **batch.inputs,
        sm_scale=sm_scale,
        sliding_window=case["window"],
        num_kv_pages_per_block=pages,
        interpret=True,
    )
    assert out.shape == batch.inputs["q"].shape and out.dtype == batch.inputs["q"].dtype
    check(out, batch, case["dtype"], sm_scale, case["window"])


@pytest.mark.cpu
def test_triton_interpret_empty_batch():
    batch = make_ragged_batch(
        np.random.default_rng(1), [], page_size=16, num_heads=4, num_kv_heads=2, head_dim=64,
        pad_tokens=5, pad_seqs=3,
    )  # fmt: skip
    out = ragged_paged_attention_triton(**batch.inputs, sm_scale=0.125, interpret=True)
    assert out.shape == (5, 4, 64) and not np.asarray(out).any()


@pytest.mark.cpu
def test_triton_interpret_prefill_blocks_and_window_of_one():
    """Several query blocks per sequence; a window of 1 sees only the token itself."""
    case = dict(page_size=16, group=2, head_dim=64, workload="mixed", dtype=jnp.float32)
    batch = build(case, seed=5)
    for window in (None, 1):
        out = ragged_paged_attention_triton(
            **batch.inputs, sm_scale=0.125, sliding_window=window,
            num_queries_per_block=4, num_kv_pages_per_block=2, interpret=True,
        )  # fmt: skip
        check(out, batch, jnp.float32, 0.125, window)


SPLIT_CASES = [
    # One-page tiles: up to 7 tiles a sequence, so 16 splits leave most splits empty.
    dict(page_size=16, group=2, head_dim=64, workload="decode", dtype=jnp.float32, window=None),
    # Several query blocks per sequence, a window, rows whose share of a split is all masked.
    dict(page_size=16, group=4, head_dim=64, workload="mixed", dtype=jnp.bfloat16, window=9),
]


@pytest.mark.cpu
@pytest.mark.parametrize("splits", [1, 2, 4, 16])
@pytest.mark.parametrize("case", SPLIT_CASES, ids=case_id)
def test_triton_interpret_kv_splits(case, splits):
    """Split-KV partials, combined, match the oracle: 1, 2, 4 and more splits than tiles."""
    batch = build(case, seed=7 + splits)
    sm_scale = case["head_dim"] ** -0.5
    out = ragged_paged_attention_triton(
        **batch.inputs, sm_scale=sm_scale, sliding_window=case["window"],
        num_queries_per_block=4, num_kv_pages_per_block=1, num_kv_splits=splits, interpret=True,
    )  # fmt: skip
    check(out, batch, case["dtype"], sm_scale, case["window"])


@pytest.mark.cpu
def test_triton_interpret_kv_splits_with_infinite_mask_and_empty_slots():
    """A -inf mask value and splits with no tile give zeros or the oracle, never NaN."""
    batch = make_ragged_batch(
        np.random.default_rng(3), [(40, 1), (16, 0), (3, 1)], page_size=16, num_heads=4,
        num_kv_heads=2, head_dim=64, pad_tokens=2, pad_seqs=2,
    )  # fmt: skip
    out = ragged_paged_attention_triton(
        **batch.inputs, sm_scale=0.125, mask_value=-np.inf, num_kv_pages_per_block=1,
        num_kv_splits=8, interpret=True,
    )  # fmt: skip
    check(out, batch, jnp.float32, 0.125)


def score_options(num_heads: int, seed: int) -> dict:
    """A soft cap and per-head sinks (numpy); the heads of a group get different sinks."""
    return dict(soft_cap=2.0, sinks=np.random.default_rng(seed).standard_normal(num_heads) * 2)


def with_jnp_sinks(options: dict) -> dict:
    return dict(options, sinks=jnp.asarray(options["sinks"], jnp.float32))


@pytest.mark.cpu
@pytest.mark.parametrize(("window", "splits"), [(None, 1), (9, 3)])
def test_triton_interpret_soft_cap_and_sinks(window, splits):
    """GQA, a prefill chunk and decodes; with 3 KV splits the sink must count once."""
    case = dict(page_size=16, group=2, head_dim=64, workload="mixed", dtype=jnp.float32)
    batch = build(case, seed=31)
    options = score_options(4, seed=32)
    out = ragged_paged_attention_triton(
        **batch.inputs, sm_scale=0.125, sliding_window=window, **with_jnp_sinks(options),
        num_queries_per_block=4, num_kv_pages_per_block=1, num_kv_splits=splits, interpret=True,
    )  # fmt: skip
    check(out, batch, jnp.float32, 0.125, window, **options)
    with pytest.raises(AssertionError, match="relative error"):  # the oracle tells them apart
        check(out, batch, jnp.float32, 0.125, window, soft_cap=options["soft_cap"])


@pytest.mark.parametrize(
    ("num_programs", "target", "max_kv_len", "expected"),
    [
        (256, 1024, 4096, 4),  # a decode batch: split to reach the target
        (272, 1024, 4096, 4),  # not a power of two of programs: round the splits up
        (256, 1024, 512, 2),  # short contexts: at least 256 keys a split
        (256, 1024, 100, 1),
        (2048, 1024, 4096, 1),  # enough programs already
        (256, 0, 4096, 1),  # a table entry that never splits
    ],
)
def test_pick_num_kv_splits(num_programs, target, max_kv_len, expected):
    splits = pick_num_kv_splits(
        num_programs=num_programs, target_programs=target, max_kv_len=max_kv_len,
        min_split_tokens=256,
    )  # fmt: skip
    assert splits == expected


def test_decode_picks_split_kv_and_prefill_does_not():
    """So `test_lowers_for_cuda`'s decode-like shape lowers the split path of both kernels."""
    shape = dict(num_kv_heads=8, head_dim=128, page_size=16, pages_per_seq=64)
    assert pick_block_sizes(**shape, num_heads=32, num_tokens=64, num_slots=64).num_kv_splits == 2
    assert pick_block_sizes(**shape, num_heads=32, num_tokens=256, num_slots=4).num_kv_splits == 1
    assert mosaic_gpu.pick_block_sizes(**shape, num_tokens=64, num_slots=64).num_kv_splits == 2
    assert mosaic_gpu.pick_block_sizes(**shape, num_tokens=256, num_slots=4).num_kv_splits == 1


def test_triton_tile_stays_a_power_of_two_when_the_table_is_cut_to_the_page_table():
    shape = dict(num_heads=8, num_kv_heads=2, head_dim=64, page_size=16, pages_per_seq=6)
    assert pick_block_sizes(**shape, num_tokens=6, num_slots=10).num_kv_pages_per_block == 4


MOSAIC_CASES = [
    dict(page_size=16, group=8, head_dim=64, workload="mixed", dtype=jnp.bfloat16, window=None),
    dict(page_size=32, group=4, head_dim=128, workload="decode", dtype=jnp.bfloat16, window=9),
    dict(page_size=64, group=1, head_dim=64, workload="prefill", dtype=jnp.bfloat16, window=None),
]


@pytest.mark.cpu
@pytest.mark.parametrize("case", MOSAIC_CASES, ids=case_id)
def test_mosaic_gpu_interpret(case):
    """Schedule, page-table TMA copies, barriers and the online softmax, minus wgmma."""
    batch = build(case, seed=11)
    sm_scale = case["head_dim"] ** -0.5
    out = ragged_paged_attention_mosaic_gpu(
        **batch.inputs, sm_scale=sm_scale, sliding_window=case["window"], interpret=True
    )
    check(out, batch, case["dtype"], sm_scale, case["window"])


@pytest.mark.cpu
@pytest.mark.parametrize("splits", [2, 4])
def test_mosaic_gpu_interpret_kv_splits(splits):
    """Normalized partials and their log-sum-exp, combined; 4 splits exceed the 2 tiles."""
    case = dict(page_size=16, group=4, head_dim=64, workload="mixed", dtype=jnp.bfloat16, window=9)
    batch = build(case, seed=13 + splits)
    out = ragged_paged_attention_mosaic_gpu(
        **batch.inputs, sm_scale=0.125, sliding_window=9, num_kv_pages_per_block=4,
        num_kv_splits=splits, interpret=True,
    )  # fmt: skip
    check(out, batch, jnp.bfloat16, 0.125, 9)


@pytest.mark.cpu
def test_mosaic_gpu_interpret_soft_cap_and_sinks():
    """GQA, a prefill chunk and decodes, a window, 2 KV splits (the sink counted once)."""
    case = dict(page_size=16, group=4, head_dim=64, workload="mixed", dtype=jnp.bfloat16, window=9)
    batch = build(case, seed=33)
    options = score_options(8, seed=34)
    out = ragged_paged_attention_mosaic_gpu(
        **batch.inputs, sm_scale=0.125, sliding_window=9, **with_jnp_sinks(options),
        num_kv_pages_per_block=4, num_kv_splits=2, interpret=True,
    )  # fmt: skip
    check(out, batch, jnp.bfloat16, 0.125, 9, **options)
    with pytest.raises(AssertionError, match="relative error"):
        check(out, batch, jnp.bfloat16, 0.125, 9, soft_cap=options["soft_cap"])


@pytest.mark.cpu
def test_mosaic_gpu_rejects_float32():
    batch = build(MOSAIC_CASES[0] | dict(dtype=jnp.float32), seed=0)
    with pytest.raises(NotImplementedError, match="all bfloat16 or all float16"):
        ragged_paged_attention_mosaic_gpu(**batch.inputs)


def code_batch(code_dtype, dtype, seed):
    """A small GQA batch (a prefill chunk, decodes) with int8 or float8_e4m3fn pages."""
    batch = make_ragged_batch(
        np.random.default_rng(seed), [(70, 9), (1, 1), (33, 1)], page_size=16, num_heads=8,
        num_kv_heads=2, head_dim=64, dtype=dtype, pad_tokens=2, pad_seqs=1,
    )  # fmt: skip
    return with_code_pages(batch.inputs, code_dtype), batch.num_real_tokens


def check_against_reference(out, inputs, num_real, dtype, **options):
    """The reference over the same code pages is the oracle; padding rows are zero."""
    expected = jax.jit(functools.partial(ragged_paged_attention_reference, **options))(**inputs)
    assert out.dtype == dtype
    out, expected = (np.asarray(x.astype(jnp.float32), np.float64) for x in (out, expected))
    assert not out[num_real:].any(), "padding tokens must produce zeros"
    err = np.linalg.norm(out - expected) / np.linalg.norm(expected)
    assert err <= TOLERANCE[dtype], f"relative error {err:.2e}"


CODE_CASES = [(jnp.int8, jnp.bfloat16), (jnp.float8_e4m3fn, jnp.float32)]
CODE_IDS = ["int8-pages-bf16", "fp8-pages-f32"]


@pytest.mark.cpu
@pytest.mark.parametrize(("code_dtype", "dtype"), CODE_CASES, ids=CODE_IDS)
def test_triton_interpret_code_pages(code_dtype, dtype):
    """int8 / float8_e4m3fn pages (a quantized cache) read as numbers, as by the reference."""
    inputs, num_real = code_batch(code_dtype, dtype, seed=41)
    options = dict(sm_scale=64**-0.5 / CODE_SCALE)
    out = ragged_paged_attention_triton(
        **inputs, **options, num_queries_per_block=2, num_kv_pages_per_block=1, interpret=True
    )
    check_against_reference(out, inputs, num_real, dtype, **options)


@pytest.mark.cpu
def test_mosaic_gpu_falls_back_to_triton_for_code_pages(caplog):
    """Mosaic GPU refuses int8 pages while tracing; its adapter runs the Triton kernel."""
    inputs, num_real = code_batch(jnp.int8, jnp.bfloat16, seed=42)
    with pytest.raises(NotImplementedError, match="got bfloat16, int8 and int8"):
        ragged_paged_attention_mosaic_gpu(**inputs, interpret=True)
    options = dict(sm_scale=64**-0.5 / CODE_SCALE)
    fn = implementation("pallas_mosaic_gpu", interpret=True)
    with caplog.at_level(logging.WARNING):
        out = fn(**inputs, **options, block_q=16)
    assert "using pallas_triton" in caplog.text
    check_against_reference(out, inputs, num_real, jnp.bfloat16, **options)


def abstract_args(tokens, slots, heads, kv_heads, head_dim, page_size, dtype, page_dtype=None):
    sds = jax.ShapeDtypeStruct
    pages = sds((512, page_size, kv_heads, head_dim), page_dtype or dtype)
    return (
        sds((tokens, heads, head_dim), dtype), pages, pages,
        sds((slots,), jnp.int32), sds((slots, 64), jnp.int32), sds((slots + 1,), jnp.int32),
        sds((1,), jnp.int32),
    )  # fmt: skip


@pytest.mark.cpu
@pytest.mark.parametrize(
    "kernel, dtype, window",  # the window rows also cap scores and add sinks
    [
        (ragged_paged_attention_triton, jnp.bfloat16, None),
        (ragged_paged_attention_triton, jnp.float32, 128),
        (ragged_paged_attention_mosaic_gpu, jnp.bfloat16, None),
        (ragged_paged_attention_mosaic_gpu, jnp.float16, 128),
    ],
    ids=["triton-bf16", "triton-f32-window", "mosaic-bf16", "mosaic-f16-window"],
)
def test_lowers_for_cuda(kernel, dtype, window):
    """The Pallas -> Triton IR / Mosaic GPU lowering runs for CUDA, with no GPU present."""
    soft_cap, sinks = None, None
    if window is not None:
        soft_cap, sinks = 30.0, jax.ShapeDtypeStruct((32,), jnp.float32)
    options = dict(sm_scale=0.1, sliding_window=window, soft_cap=soft_cap)
    fn = jax.jit(functools.partial(kernel, **options))
    for tokens, slots in ((64, 64), (256, 4)):  # decode-like (KV splits), prefill-like
        args = abstract_args(tokens, slots, 32, 8, 128, 16, dtype)
        text = fn.trace(*args, sinks=sinks).lower(lowering_platforms=("cuda",)).as_text()
        assert "stablehlo.custom_call" in text


@pytest.mark.cpu
@pytest.mark.parametrize("code_dtype", [jnp.int8, jnp.float8_e4m3fn], ids=["int8", "fp8"])
def test_triton_code_pages_lower_for_cuda(code_dtype):
    """Converting loaded int8 / float8 tiles to the bfloat16 queries' dtype lowers for CUDA."""
    fn = jax.jit(functools.partial(ragged_paged_attention_triton, sm_scale=0.1))
    args = abstract_args(64, 64, 32, 8, 128, 16, jnp.bfloat16, page_dtype=code_dtype)
    text = fn.trace(*args).lower(lowering_platforms=("cuda",)).as_text()
    assert "stablehlo.custom_call" in text


GPU_CASES = [
    dict(page_size=16, group=8, head_dim=128, workload="decode", dtype=jnp.bfloat16, window=None),
    dict(page_size=32, group=4, head_dim=128, workload="mixed", dtype=jnp.bfloat16, window=9),
    dict(page_size=16, group=2, head_dim=64, workload="prefill", dtype=jnp.bfloat16, window=None),
    dict(page_size=16, group=8, head_dim=128, workload="mixed", dtype=jnp.float32, window=None),
]


@pytest.mark.cuda
@on_gpu
@pytest.mark.parametrize("case", GPU_CASES, ids=case_id)
def test_triton_compiled(case):
    batch = build(case, seed=21)
    sm_scale = case["head_dim"] ** -0.5
    out = ragged_paged_attention_triton(
        **batch.inputs, sm_scale=sm_scale, sliding_window=case["window"]
    )
    check(out, batch, case["dtype"], sm_scale, case["window"])


@pytest.mark.cuda
@on_gpu
@pytest.mark.parametrize("case", [c for c in GPU_CASES if c["dtype"] != jnp.float32], ids=case_id)
def test_mosaic_gpu_compiled(case):
    if float(jax.devices()[0].compute_capability) < 9.0:
        pytest.skip("Mosaic GPU needs Hopper (sm90) or newer")
    batch = build(case, seed=22)
    sm_scale = case["head_dim"] ** -0.5
    out = ragged_paged_attention_mosaic_gpu(
        **batch.inputs, sm_scale=sm_scale, sliding_window=case["window"]
    )
    check(out, batch, case["dtype"], sm_scale, case["window"])


@pytest.mark.cuda
@on_gpu
@pytest.mark.parametrize("case", GPU_CASES[:2], ids=case_id)
def test_kv_splits_compiled(case):
    """Split-KV compiled: Triton on any GPU, Mosaic GPU on Hopper or newer."""
    batch = build(case, seed=23)
    sm_scale = case["head_dim"] ** -0.5
    kernels = [ragged_paged_attention_triton]
    if float(jax.devices()[0].compute_capability) >= 9.0:
        kernels.append(ragged_paged_attention_mosaic_gpu)
    for kernel in kernels:
        out = kernel(
            **batch.inputs, sm_scale=sm_scale, sliding_window=case["window"], num_kv_splits=4
        )
        check(out, batch, case["dtype"], sm_scale, case["window"])


@pytest.mark.cuda
@on_gpu
@pytest.mark.parametrize(("code_dtype", "dtype"), CODE_CASES, ids=CODE_IDS)
def test_triton_compiled_code_pages(code_dtype, dtype):
    if code_dtype == jnp.float8_e4m3fn and float(jax.devices()[0].compute_capability) < 8.9:
        pytest.skip("Triton converts float8_e4m3fn on sm89 or newer")
    inputs, num_real = code_batch(code_dtype, dtype, seed=43)
    options = dict(sm_scale=64**-0.5 / CODE_SCALE)
    out = ragged_paged_attention_triton(**inputs, **options)
    check_against_reference(out, inputs, num_real, dtype, **options)
