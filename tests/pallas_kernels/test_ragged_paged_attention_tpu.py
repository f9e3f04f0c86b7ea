"""The Mosaic TPU ragged paged attention kernel, run in TPU interpret mode on CPU.

Relative error here is `max|out - expected| / max|expected|` over the real tokens, against a
float64 dense attention of the (dtype-rounded) inputs.
"""

from __future__ import annotations

import functools
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental.pallas import tpu as pltpu

from pallas_kernels.ragged_paged_attention.reference import ragged_paged_attention_reference
from pallas_kernels.ragged_paged_attention.tpu import (
    TUNED_BLOCK_SIZES,
    pick_block_sizes,
    ragged_paged_attention_tpu,
)
from tests.pallas_kernels.rpa_cases import CODE_SCALE, make_ragged_batch, with_code_pages

pytestmark = pytest.mark.cpu

TOLERANCE = {jnp.float32: 1e-5, jnp.bfloat16: 2e-2}


def batch_of(kind: str, page_size: int) -> list[tuple[int, int]]:
    """(kv_len, q_len) per sequence; lengths straddle page boundaries."""
    if kind == "decode":
        return [(1, 1), (2 * page_size, 1), (page_size + 3, 1), (3 * page_size - 5, 1), (7, 1)]
    if kind == "prefill":
        return [(page_size + 5, page_size + 5), (3, 3), (page_size // 2 + 1, page_size // 2 + 1)]
    # Mixed: a chunk after cached tokens, decodes, a whole prefill, a chunk ending on a page.
    return [(2 * page_size + 7, 9), (1, 1), (page_size + 1, page_size + 1), (37, 1), (96, 5)]


def relative_error(out: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(out - expected).max(initial=0.0) / np.abs(expected).max(initial=1e-30))


def run_case(seed, kind, *, page_size, group, head_dim, dtype, num_kv_heads=1, **kernel_kw):
    """Runs the kernel on a random batch; returns (output as f32 numpy, batch)."""
    rng = np.random.default_rng(seed)
    seqs = batch_of(kind, page_size)
    rng.shuffle(seqs)
    batch = make_ragged_batch(
        rng,
        seqs,
        page_size=page_size,
        num_heads=num_kv_heads * group,
        num_kv_heads=num_kv_heads,
        head_dim=head_dim,
        dtype=dtype,
        pad_tokens=3,
        pad_seqs=2,
    )
    kernel_kw.setdefault("interpret", True)
    out = ragged_paged_attention_tpu(**batch.inputs, sm_scale=head_dim**-0.5, **kernel_kw)
    assert out.shape == batch.inputs["q"].shape and out.dtype == dtype
    return np.asarray(out.astype(jnp.float32)), batch


def check(out, batch, dtype, *, sm_scale, sliding_window=None, soft_cap=None, sinks=None):
    num_real = batch.num_real_tokens
    expected = batch.expected(sm_scale, sliding_window, soft_cap, sinks)
    err = relative_error(out[:num_real], expected)
    assert err <= TOLERANCE[dtype], f"relative error {err:.2e}"
    assert np.all(out[num_real:] == 0), "padding tokens must produce zeros"


# A pairwise covering set: every pair of (page size, H/K, head dim, batch kind, dtype) values
# occurs in some row. Block sizes vary too (None picks them); K = 2 in a few rows.
CASES = [
    # page, group, head_dim, kind, dtype, queries/block, pages/block, K
    (16, 1, 64, "decode", jnp.float32, 4, 1, 2),
    (16, 2, 128, "prefill", jnp.bfloat16, 8, 2, 1),
    (16, 4, 64, "mixed", jnp.bfloat16, 3, 3, 1),
    (16, 8, 128, "mixed", jnp.float32, 16, 2, 1),
    (32, 1, 128, "mixed", jnp.bfloat16, 8, 1, 2),
    (32, 2, 64, "decode", jnp.float32, None, None, 1),
    (32, 4, 128, "decode", jnp.bfloat16, 2, 2, 1),
    (32, 8, 64, "prefill", jnp.float32, 16, 4, 1),
    (64, 1, 64, "prefill", jnp.bfloat16, 16, 1, 1),
    (64, 2, 128, "mixed", jnp.float32, None, None, 2),
    (64, 4, 128, "prefill", jnp.float32, 8, 2, 1),
    (64, 8, 64, "decode", jnp.bfloat16, 1, 2, 1),
]


@pytest.mark.parametrize(
    ("page_size", "group", "head_dim", "kind", "dtype", "block_q", "block_pages", "kv_heads"),
    CASES,
    ids=[f"ps{c[0]}-g{c[1]}-d{c[2]}-{c[3]}-{jnp.dtype(c[4]).name}" for c in CASES],
)
def test_matches_dense_attention(
    page_size, group, head_dim, kind, dtype, block_q, block_pages, kv_heads
):
    out, batch = run_case(
        page_size + group + head_dim,
        kind,
        page_size=page_size,
        group=group,
        head_dim=head_dim,
        dtype=dtype,
        num_kv_heads=kv_heads,
        num_queries_per_block=block_q,
        num_kv_pages_per_block=block_pages,
    )
    check(out, batch, dtype, sm_scale=head_dim**-0.5)


def test_wrong_scale_is_detected():
    """The oracle and tolerance can fail: a 2% wrong sm_scale is far outside them."""
    kw = dict(page_size=16, group=1, head_dim=64, dtype=jnp.float32, num_kv_heads=2)
    out, batch = run_case(81, "decode", num_queries_per_block=4, num_kv_pages_per_block=1, **kw)
    wrong = batch.expected(64**-0.5 * 1.02)
    assert relative_error(out[: batch.num_real_tokens], wrong) > 100 * TOLERANCE[jnp.float32]


def test_sliding_window_with_infinite_mask_value():
    """Whole KV blocks before the window are skipped; -inf masking must not produce NaN."""
    rng = np.random.default_rng(5)
    seqs = [(150, 40), (90, 1), (20, 20), (70, 3)]
    batch = make_ragged_batch(
        rng, seqs, page_size=16, num_heads=4, num_kv_heads=2, head_dim=64, pad_tokens=2
    )
    out = ragged_paged_attention_tpu(
        **batch.inputs,
        sm_scale=0.125,
        sliding_window=21,
        mask_value=-jnp.inf,
        num_queries_per_block=8,
        num_kv_pages_per_block=1,
        interpret=True,
    )
    check(np.asarray(out), batch, jnp.float32, sm_scale=0.125, sliding_window=21)


@pytest.mark.parametrize("window", [None, 7])
def test_soft_cap_and_sinks(window):
    """Gemma 2's score cap and gpt-oss's sinks: GQA, a prefill chunk and decodes."""
    rng = np.random.default_rng(17)
    batch = make_ragged_batch(
        rng, [(40, 9), (1, 1), (23, 1)], page_size=8, num_heads=4, num_kv_heads=2, head_dim=32,
        pad_tokens=2, pad_seqs=1,
    )  # fmt: skip
    sinks = rng.standard_normal(4) * 2  # one per query head: the two heads of a group differ
    out = ragged_paged_attention_tpu(
        **batch.inputs, sm_scale=0.3, sliding_window=window, soft_cap=2.0,
        sinks=jnp.asarray(sinks, jnp.float32), num_queries_per_block=4,
        num_kv_pages_per_block=2, interpret=True,
    )  # fmt: skip
    out = np.asarray(out)
    check(out, batch, jnp.float32, sm_scale=0.3, sliding_window=window, soft_cap=2.0, sinks=sinks)
    # Both options move the output far beyond the tolerance, so neither can be dropped unseen.
    for soft_cap, head_sinks in ((None, sinks), (2.0, None)):
        other = batch.expected(0.3, window, soft_cap, head_sinks)
        assert relative_error(out[: batch.num_real_tokens], other) > 100 * TOLERANCE[jnp.float32]


def test_rejects_bad_score_options():
    batch = make_ragged_batch(
        np.random.default_rng(0), [(5, 5)], page_size=8, num_heads=4, num_kv_heads=2, head_dim=32
    )
    with pytest.raises(ValueError, match="soft_cap must be positive"):
        ragged_paged_attention_tpu(**batch.inputs, soft_cap=-1.0, interpret=True)
    with pytest.raises(ValueError, match="one logit per query head"):
        ragged_paged_attention_tpu(**batch.inputs, sinks=jnp.zeros(2), interpret=True)


def test_empty_batch_is_all_zeros():
    rng = np.random.default_rng(0)
    batch = make_ragged_batch(
        rng, [], page_size=16, num_heads=2, num_kv_heads=1, head_dim=64, pad_tokens=4, pad_seqs=2
    )
    out = ragged_paged_attention_tpu(**batch.inputs, interpret=True)
    assert out.shape == (4, 2, 64)
    assert np.all(np.asarray(out) == 0)


def test_two_cores_random_order_without_races():
    """KV heads split over two simulated cores in random order; the DMA race detector is on."""
    params = pltpu.InterpretParams(num_cores_or_threads=2, random_seed=3, detect_races=True)
    out, batch = run_case(
        9,
        "decode",
        page_size=16,
        group=2,
        head_dim=64,
        dtype=jnp.float32,
        num_kv_heads=2,
        num_queries_per_block=1,
        num_kv_pages_per_block=2,
        interpret=params,
    )
    check(out, batch, jnp.float32, sm_scale=64**-0.5)
    # The race flag lives in a private module; check it where this jax version has it.
    interpreter = importlib.import_module("jax._src.pallas.mosaic.interpret.interpret_pallas_call")
    races = getattr(interpreter, "races", None)
    assert races is None or not races.races_found


def test_pick_block_sizes():
    queries, kv_tokens = TUNED_BLOCK_SIZES[("v6e", 128)]
    kw = dict(head_dim=128, page_size=16, pages_per_seq=1024)
    assert pick_block_sizes(**kw, num_tokens=4096, num_slots=64, device_kind="TPU v6 lite") == (
        queries,
        kv_tokens // 16,
    )
    # Decode buckets get one-token blocks; short tables and unknown devices are clamped.
    assert pick_block_sizes(**kw, num_tokens=64, num_slots=64, device_kind="TPU v6 lite")[0] == 1
    short = dict(kw, pages_per_seq=2)
    assert pick_block_sizes(**short, num_tokens=5, num_slots=2, device_kind="cpu") == (5, 2)


def test_rejects_mismatched_heads():
    q = jnp.zeros((4, 3, 64))
    pages = jnp.zeros((8, 16, 2, 64))
    lens = jnp.zeros(2, jnp.int32)
    with pytest.raises(ValueError, match="multiple of 2 KV heads"):
        ragged_paged_attention_tpu(
            q, pages, pages, lens, jnp.zeros((2, 4), jnp.int32), jnp.zeros(3, jnp.int32), lens[:1]
        )


@pytest.mark.parametrize(
    ("code_dtype", "dtype"),
    [(jnp.int8, jnp.bfloat16), (jnp.float8_e4m3fn, jnp.float32)],
    ids=["int8-pages-bf16", "fp8-pages-f32"],
)
def test_code_pages_match_the_reference(code_dtype, dtype):
    """int8 / float8_e4m3fn pages (a quantized cache) read as numbers, as the reference reads
    the same pages: a prefill chunk over three KV blocks, decodes, GQA."""
    batch = make_ragged_batch(
        np.random.default_rng(23), [(70, 9), (1, 1), (33, 1)], page_size=32, num_heads=4,
        num_kv_heads=1, head_dim=64, dtype=dtype, pad_tokens=2, pad_seqs=1,
    )  # fmt: skip
    inputs = with_code_pages(batch.inputs, code_dtype)
    options = dict(sm_scale=64**-0.5 / CODE_SCALE)
    out = ragged_paged_attention_tpu(
        **inputs, **options, num_queries_per_block=8, num_kv_pages_per_block=1, interpret=True
    )
    assert out.dtype == dtype
    expected = jax.jit(functools.partial(ragged_paged_attention_reference, **options))(**inputs)
    out, expected = (np.asarray(x.astype(jnp.float32)) for x in (out, expected))
    assert relative_error(out, expected) <= TOLERANCE[dtype]
    assert np.all(out[batch.num_real_tokens :] == 0), "padding tokens must produce zeros"


def test_rejects_unsupported_dtypes_and_one_byte_pages_off_their_tile():
    q = jnp.zeros((4, 2, 128), jnp.bfloat16)
    lens, table, cu = jnp.zeros(2, jnp.int32), jnp.zeros((2, 4), jnp.int32), jnp.zeros(3, jnp.int32)
    e5m2 = jnp.zeros((8, 32, 1, 128), jnp.float8_e5m2)
    with pytest.raises(ValueError, match="int8, float8_e4m3fn, got float8_e5m2"):
        ragged_paged_attention_tpu(q, e5m2, e5m2, lens, table, cu, lens[:1], interpret=True)
    int8 = jnp.zeros((8, 16, 1, 128), jnp.int8)
    with pytest.raises(ValueError, match="q must be one of float32, bfloat16, float16"):
        ragged_paged_attention_tpu(q.astype(jnp.int8), int8, int8, lens, table, cu, lens[:1])
    # Compiled, each 16-token page would land mid-way through a (32, 128) int8 VMEM tile.
    with pytest.raises(ValueError, match="int8 pages need a page_size that is a multiple of 32"):
        ragged_paged_attention_tpu(q, int8, int8, lens, table, cu, lens[:1])
