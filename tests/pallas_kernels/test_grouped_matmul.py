"""Grouped matmul: the jnp reference against `jax.lax.ragged_dot`, and the TPU (TPU interpret
mode) and Triton (Pallas interpret mode) kernels against the reference, on CPU.

Group sizes come from a seeded, skewed top-k routing of tokens to experts, so groups are
uneven and some are empty; `extra` rows past `sum(group_sizes)` must come out as zeros.
Error is `max|out - expected| / max|expected|`. rhs of int8 / float8_e4m3fn codes (quantized
experts) is checked against the float32 product of the codes' values.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental.pallas import tpu as pltpu

from pallas_kernels.grouped_matmul import (
    grouped_matmul_reference,
    grouped_matmul_tpu,
    grouped_matmul_triton,
)
from pallas_kernels.grouped_matmul.tpu import fit_block, group_tile_schedule, max_work_items

schedule_of = jax.jit(group_tile_schedule, static_argnames=("num_rows", "block_m"))

pytestmark = [
    pytest.mark.cpu,
    pytest.mark.filterwarnings("ignore:The Pallas Triton backend is deprecated:DeprecationWarning"),
]

TOLERANCE = {jnp.float32: 1e-5, jnp.bfloat16: 1e-2}
CODE_DTYPES = (jnp.int8, jnp.float8_e4m3fn)


def routed_group_sizes(rng, *, tokens: int, num_experts: int, top_k: int) -> np.ndarray:
    """i32[G] rows per expert when each token picks its top_k of skewed random scores."""
    popularity = 2.0 * rng.standard_normal(num_experts)  # [G] some experts are favoured
    scores = rng.standard_normal((tokens, num_experts)) + popularity  # [T, G]
    chosen = np.argsort(-scores, axis=1)[:, :top_k]  # [T, k]
    return np.bincount(chosen.ravel(), minlength=num_experts).astype(np.int32)


def make_operands(rng, group_sizes, *, extra: int, k_dim: int, n_dim: int, dtype):
    """lhs [M, K] with M = sum + extra, rhs [G, K, N], scaled so products stay near one."""
    num_rows = int(group_sizes.sum()) + extra
    lhs = rng.standard_normal((num_rows, k_dim)) / np.sqrt(k_dim)
    rhs = rng.standard_normal((len(group_sizes), k_dim, n_dim))
    return jnp.asarray(lhs, dtype), jnp.asarray(rhs, dtype), jnp.asarray(group_sizes)


def check(out, lhs, rhs, group_sizes):
    """Matches the reference within lhs's tolerance; rows past the total exactly zero.

    Code weights are matched against the float32 product of their values.
    """
    assert out.shape == (lhs.shape[0], rhs.shape[2]) and out.dtype == lhs.dtype
    out = np.asarray(out.astype(jnp.float32))
    operands = (lhs, rhs)
    if rhs.dtype in CODE_DTYPES:
        operands = (lhs.astype(jnp.float32), rhs.astype(jnp.float32))
    expected = grouped_matmul_reference(*operands, group_sizes).astype(jnp.float32)
    expected = np.asarray(expected)
    total = int(np.sum(group_sizes))
    assert not out[total:].any(), "rows past sum(group_sizes) must be zeros"
    err = np.abs(out - expected).max(initial=0.0) / np.abs(expected).max(initial=1e-30)
    assert err <= TOLERANCE[lhs.dtype.type], f"relative error {err:.2e}"


# --- the reference against jax.lax.ragged_dot -------------------------------------------------


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16], ids=["f32", "bf16"])
@pytest.mark.parametrize("top_k", [1, 2, 4, 8])
@pytest.mark.parametrize("num_experts", [4, 8, 16, 64])
def test_reference_matches_ragged_dot(num_experts, top_k, dtype):
    rng = np.random.default_rng(num_experts * 10 + top_k)
    tokens = 2 if num_experts == 64 and top_k == 1 else 13
    sizes = routed_group_sizes(rng, tokens=tokens, num_experts=num_experts, top_k=top_k)
    lhs, rhs, group_sizes = make_operands(rng, sizes, extra=3, k_dim=64, n_dim=32, dtype=dtype)
    out = grouped_matmul_reference(lhs, rhs, group_sizes)
    expected = jax.lax.ragged_dot(lhs, rhs, group_sizes, preferred_element_type=jnp.float32)
    err = jnp.abs(out.astype(jnp.float32) - expected).max() / jnp.abs(expected).max()
    assert out.dtype == dtype and err <= TOLERANCE[dtype], f"relative error {err:.2e}"
    assert not np.asarray(out[int(sizes.sum()) :]).any()


def test_reference_detects_a_shifted_group():
    """The oracle can fail: moving one row from the first group to the second is caught."""
    rng = np.random.default_rng(3)
    lhs, rhs, sizes = make_operands(
        rng, np.array([5, 4, 3], np.int32), extra=0, k_dim=32, n_dim=16, dtype=jnp.float32
    )
    out = np.asarray(grouped_matmul_reference(lhs, rhs, sizes))
    shifted = np.asarray(jax.lax.ragged_dot(lhs, rhs, jnp.asarray([4, 5, 3], jnp.int32)))
    assert np.abs(out - shifted).max() > 0.1


# --- the work-item schedule -------------------------------------------------------------------


def test_schedule_straddles_skips_empty_and_zero_fills_the_tail():
    sizes = jnp.asarray([0, 5, 0, 3, 9, 0], jnp.int32)  # 17 rows, then 7 past the total
    s = schedule_of(sizes, num_rows=24, block_m=8)
    n = int(s.num_items[0])
    assert s.group_offsets.tolist() == [0, 0, 5, 5, 8, 17, 17, 24]
    # Tile 0 holds groups 1 and 3; group 4 spans tiles 1-2; the pseudo-group 6 ends tile 2.
    assert s.group_ids[:n].tolist() == [1, 3, 4, 4, 6]
    assert s.tile_ids[:n].tolist() == [0, 0, 1, 2, 2]
    assert s.first_visit[:n].tolist() == [1, 0, 1, 1, 0]
    assert len(s.group_ids) == max_work_items(24, 6, 8)
    assert not s.first_visit[n:].any(), "padding items repeat the last one"


@pytest.mark.parametrize("seed", range(6))
def test_schedule_visits_every_group_tile_pair_once(seed):
    rng = np.random.default_rng(seed)
    num_experts, top_k = [(4, 1), (8, 2), (16, 4), (64, 8), (64, 1), (8, 8)][seed]
    sizes = routed_group_sizes(rng, tokens=int(rng.integers(1, 40)), num_experts=num_experts,
                               top_k=top_k)  # fmt: skip
    extra, block_m = int(rng.integers(0, 20)), int(rng.choice([8, 16]))
    s = schedule_of(jnp.asarray(sizes), num_rows=int(sizes.sum()) + extra, block_m=block_m)
    n = int(s.num_items[0])
    # Rows past the total belong to the pseudo-group G.
    row_group = np.concatenate([np.repeat(np.arange(num_experts), sizes), [num_experts] * extra])
    expected = {(int(g), r // block_m) for r, g in enumerate(row_group)}
    visits = list(zip(s.group_ids[:n].tolist(), s.tile_ids[:n].tolist(), strict=True))
    assert len(visits) == len(set(visits)) and set(visits) == expected
    assert np.all(np.diff(s.tile_ids) >= 0), "visits to one tile are consecutive"
    assert n <= len(s.group_ids)


def test_fit_block():
    assert fit_block(576, 1024) == (576, 576)  # whole dim
    assert fit_block(1536, 1024) == (768, 1536)  # aligned divisor
    assert fit_block(576, 512) == (576, 576)  # no divisor, under twice the block
    assert fit_block(1300, 512) == (512, 1536)  # padded
    assert fit_block(1300, 500) == (384, 1536)  # padded, the block rounded down to 128 lanes
    assert fit_block(300, 64) == (128, 384)  # and up to 128 at least


# --- the kernels against the reference --------------------------------------------------------

# experts G, top_k, tokens, extra rows, K, dtype, block_m: every G and k, straddled tiles,
# rows past the total, both dtypes; G = 64 with few tokens leaves most groups empty.
CASES = [
    (4, 1, 24, 0, 128, jnp.float32, 16),
    (8, 2, 20, 5, 256, jnp.bfloat16, 16),
    (16, 4, 9, 3, 128, jnp.float32, 32),
    (64, 8, 5, 0, 128, jnp.bfloat16, 16),
    (64, 1, 3, 2, 256, jnp.float32, 16),
    (8, 8, 6, 7, 128, jnp.bfloat16, 32),
]
CASE_IDS = [f"g{c[0]}-k{c[1]}-t{c[2]}-x{c[3]}-K{c[4]}-{jnp.dtype(c[5]).name}" for c in CASES]
KERNELS = {
    "tpu": functools.partial(grouped_matmul_tpu, block_k=128, block_n=128, interpret=True),
    "triton": functools.partial(grouped_matmul_triton, block_n=128, interpret=True),
}


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize(("experts", "top_k", "tokens", "extra", "k_dim", "dtype", "bm"), CASES,
                         ids=CASE_IDS)  # fmt: skip
def test_kernel_matches_reference(kernel, experts, top_k, tokens, extra, k_dim, dtype, bm):
    rng = np.random.default_rng(experts + top_k + tokens)
    sizes = routed_group_sizes(rng, tokens=tokens, num_experts=experts, top_k=top_k)
    lhs, rhs, group_sizes = make_operands(rng, sizes, extra=extra, k_dim=k_dim, n_dim=256,
                                          dtype=dtype)  # fmt: skip
    check(KERNELS[kernel](lhs, rhs, group_sizes, block_m=bm), lhs, rhs, group_sizes)


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_kernel_first_and_last_group_empty(kernel):
    rng = np.random.default_rng(11)
    sizes = np.array([0, 7, 0, 12, 5, 0], np.int32)  # 24 rows, tiles of 16 straddle
    lhs, rhs, group_sizes = make_operands(rng, sizes, extra=6, k_dim=128, n_dim=128,
                                          dtype=jnp.float32)  # fmt: skip
    check(KERNELS[kernel](lhs, rhs, group_sizes, block_m=16), lhs, rhs, group_sizes)


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_kernel_all_groups_empty_gives_zeros(kernel):
    lhs = jnp.ones((20, 128), jnp.bfloat16)
    rhs = jnp.ones((4, 128, 128), jnp.bfloat16)
    out = KERNELS[kernel](lhs, rhs, jnp.zeros(4, jnp.int32), block_m=16)
    assert out.shape == (20, 128) and not np.asarray(out).any()


def code_operands(rng, code_dtype, lhs_dtype, *, k_dim: int, n_dim: int):
    """Uneven groups (the first, third and last empty; tiles of 16 straddle), 5 rows past the
    total, and rhs codes that span their type's range (int8 to +-127, float8 to +-448)."""
    sizes = np.array([0, 9, 0, 14, 3, 0], np.int32)
    lhs, _, group_sizes = make_operands(rng, sizes, extra=5, k_dim=k_dim, n_dim=n_dim,
                                        dtype=lhs_dtype)  # fmt: skip
    if code_dtype == jnp.int8:
        codes = rng.integers(-127, 128, (len(sizes), k_dim, n_dim))
    else:
        codes = np.clip(rng.standard_normal((len(sizes), k_dim, n_dim)) * 100, -448, 448)
    return lhs, jnp.asarray(codes, code_dtype), group_sizes


# Each kernel takes both code types and both lhs dtypes, and the two kernels together every
# pairing: each case is about a second of interpret-mode compilation, so four, not eight.
CODE_CASES = [
    ("tpu", jnp.int8, jnp.bfloat16),
    ("tpu", jnp.float8_e4m3fn, jnp.float32),
    ("triton", jnp.int8, jnp.float32),
    ("triton", jnp.float8_e4m3fn, jnp.bfloat16),
]
CODE_IDS = ["tpu-int8-bf16", "tpu-fp8-f32", "triton-int8-f32", "triton-fp8-bf16"]


@pytest.mark.parametrize(("kernel", "code_dtype", "lhs_dtype"), CODE_CASES, ids=CODE_IDS)
def test_kernel_multiplies_code_weights_by_their_values(kernel, code_dtype, lhs_dtype):
    """Quantized experts: int8 / float8 codes widened to lhs's dtype, K and N off the blocks
    (Triton masks its code loads at both edges; the TPU kernel takes them whole)."""
    rng = np.random.default_rng(21)
    lhs, rhs, group_sizes = code_operands(rng, code_dtype, lhs_dtype, k_dim=96, n_dim=80)
    out = KERNELS[kernel](lhs, rhs, group_sizes, block_m=16)
    check(out, lhs, rhs, group_sizes)


@pytest.mark.slow
def test_tpu_uneven_shapes_padded():
    """M, K and N that no block divides: rows and K zero-padded, N taken whole."""
    rng = np.random.default_rng(7)
    sizes = routed_group_sizes(rng, tokens=10, num_experts=8, top_k=2)
    lhs, rhs, group_sizes = make_operands(rng, sizes, extra=3, k_dim=300, n_dim=200,
                                          dtype=jnp.float32)  # fmt: skip
    out = grouped_matmul_tpu(lhs, rhs, group_sizes, block_m=16, block_k=128, block_n=128,
                             interpret=True)  # fmt: skip
    check(out, lhs, rhs, group_sizes)


@pytest.mark.slow
def test_triton_uneven_shapes_masked():
    rng = np.random.default_rng(8)
    sizes = routed_group_sizes(rng, tokens=10, num_experts=8, top_k=2)
    lhs, rhs, group_sizes = make_operands(rng, sizes, extra=3, k_dim=100, n_dim=72,
                                          dtype=jnp.bfloat16)  # fmt: skip
    out = grouped_matmul_triton(lhs, rhs, group_sizes, block_m=16, block_k=32, block_n=32,
                                interpret=True)  # fmt: skip
    check(out, lhs, rhs, group_sizes)


@pytest.mark.slow
def test_tpu_two_cores_random_order_without_races():
    """Column tiles split over two simulated cores in random order; race detection on."""
    rng = np.random.default_rng(9)
    sizes = routed_group_sizes(rng, tokens=12, num_experts=4, top_k=2)
    lhs, rhs, group_sizes = make_operands(rng, sizes, extra=2, k_dim=128, n_dim=256,
                                          dtype=jnp.float32)  # fmt: skip
    params = pltpu.InterpretParams(num_cores_or_threads=2, random_seed=3, detect_races=True)
    out = grouped_matmul_tpu(lhs, rhs, group_sizes, block_m=16, block_n=128, interpret=params)
    check(out, lhs, rhs, group_sizes)


def test_rejects_mismatched_operands():
    lhs, rhs = jnp.zeros((4, 32)), jnp.zeros((3, 16, 8))
    with pytest.raises(ValueError, match=r"\[M, K\] and \[G, K, N\]"):
        grouped_matmul_tpu(lhs, rhs, jnp.zeros(3, jnp.int32))
    with pytest.raises(ValueError, match="for G = 3 groups"):
        grouped_matmul_triton(lhs, jnp.zeros((3, 32, 8)), jnp.zeros(4, jnp.int32))
    with pytest.raises(ValueError, match="power of two"):
        grouped_matmul_triton(lhs, jnp.zeros((3, 32, 8)), jnp.zeros(3, jnp.int32), block_m=24)


LOWERING_CASES = [
    (8, jnp.bfloat16, jnp.bfloat16),
    (2048, jnp.bfloat16, jnp.bfloat16),
    (8, jnp.float32, jnp.float32),
    (2048, jnp.float32, jnp.float32),
    *((8, dtype, codes) for dtype in (jnp.bfloat16, jnp.float32) for codes in CODE_DTYPES),
]
LOWERING_IDS = ["decode-bf16", "prefill-bf16", "decode-f32", "prefill-f32", "decode-bf16-int8",
                "decode-bf16-fp8", "decode-f32-int8", "decode-f32-fp8"]  # fmt: skip


@pytest.mark.parametrize(("rows", "dtype", "rhs_dtype"), LOWERING_CASES, ids=LOWERING_IDS)
def test_kernels_lower_for_tpu_and_cuda(rows, dtype, rhs_dtype):
    """The Pallas -> Mosaic and Pallas -> Triton IR lowerings run with no accelerator present,
    code weights (widened in the kernels) among them."""
    sds = jax.ShapeDtypeStruct
    args = (sds((rows, 576), dtype), sds((64, 576, 1536), rhs_dtype), sds((64,), jnp.int32))
    tpu_text = grouped_matmul_tpu.trace(*args).lower(lowering_platforms=("tpu",)).as_text()
    assert "tpu_custom_call" in tpu_text
    cuda_text = grouped_matmul_triton.trace(*args).lower(lowering_platforms=("cuda",)).as_text()
    assert "stablehlo.custom_call" in cuda_text
