"""The ragged paged attention reference against dense causal attention in float64."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pallas_kernels.ragged_paged_attention import (
    ragged_paged_attention_reference,
    write_kv_pages,
)
from tests.pallas_kernels.rpa_cases import make_ragged_batch

pytestmark = pytest.mark.cpu

HEAD_DIM = 16
NUM_KV_HEADS = 2


def dense_attention(q, k, v, q_start, sm_scale, sliding_window=None):
    """q: [Q, H, D] at positions q_start..; k, v: [L, K, D]. float64 numpy."""
    num_q, num_heads, _ = q.shape
    group = num_heads // k.shape[1]
    k = np.repeat(k, group, axis=1)
    v = np.repeat(v, group, axis=1)
    scores = np.einsum("qhd,lhd->hql", q, k) * sm_scale
    q_pos = q_start + np.arange(num_q)[:, None]
    kv_pos = np.arange(k.shape[0])[None, :]
    mask = kv_pos <= q_pos
    if sliding_window is not None:
        mask &= kv_pos > q_pos - sliding_window
    scores = np.where(mask[None], scores, -np.inf)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return np.einsum("hql,lhd->qhd", probs, v)


def make_batch(rng, seqs, page_size, num_heads, *, pad_tokens=5, pad_seqs=2):
    """seqs: list of (kv_len, q_len). Returns kernel inputs and the dense expectation."""
    pages_needed = [-(-kv // page_size) for kv, _ in seqs]
    pages_per_seq = max(pages_needed) + 1
    num_pages = sum(pages_needed) + 3
    order = rng.permutation(np.arange(1, num_pages))  # shuffled; page 0 stays unused
    k_pages = rng.standard_normal((num_pages, page_size, NUM_KV_HEADS, HEAD_DIM))
    v_pages = rng.standard_normal((num_pages, page_size, NUM_KV_HEADS, HEAD_DIM))
    num_slots = len(seqs) + pad_seqs
    page_indices = np.zeros((num_slots, pages_per_seq), np.int32)
    kv_lens = np.zeros(num_slots, np.int32)
    cu_q_lens = np.zeros(num_slots + 1, np.int32)
    queries, expected_parts, cursor = [], [], 0
    for s, (kv_len, q_len) in enumerate(seqs):
        table = order[cursor : cursor + pages_needed[s]]
        cursor += pages_needed[s]
        page_indices[s, : len(table)] = table
        kv_lens[s] = kv_len
        cu_q_lens[s + 1] = cu_q_lens[s] + q_len
        k = k_pages[table].reshape(-1, NUM_KV_HEADS, HEAD_DIM)[:kv_len]
        v = v_pages[table].reshape(-1, NUM_KV_HEADS, HEAD_DIM)[:kv_len]
        q = rng.standard_normal((q_len, num_heads, HEAD_DIM))
        queries.append(q)
        expected_parts.append((q, k, v, kv_len - q_len))
    cu_q_lens[len(seqs) + 1 :] = cu_q_lens[len(seqs)]
    q = np.concatenate([*queries, rng.standard_normal((pad_tokens, num_heads, HEAD_DIM))])
    inputs = dict(
        q=jnp.asarray(q, jnp.float32),
        k_pages=jnp.asarray(k_pages, jnp.float32),
        v_pages=jnp.asarray(v_pages, jnp.float32),
        kv_lens=jnp.asarray(kv_lens),
        page_indices=jnp.asarray(page_indices),
        cu_q_lens=jnp.asarray(cu_q_lens),
        num_seqs=jnp.asarray([len(seqs)], jnp.int32),
    )
    return inputs, expected_parts, int(cu_q_lens[len(seqs)])


@pytest.mark.parametrize("page_size", [8, 16, 32])
@pytest.mark.parametrize("group", [1, 2, 4])
@pytest.mark.parametrize("block_q", [1, 8])
def test_matches_dense_attention_on_mixed_batches(page_size, group, block_q):
    """Decode tokens, a whole prefill and chunked prefills, lengths off page boundaries."""
    rng = np.random.default_rng(page_size * 10 + group)
    num_heads = NUM_KV_HEADS * group
    seqs = [(1, 1), (37, 1), (23, 23), (50, 13), (page_size * 2, 1), (page_size + 3, 7)]
    rng.shuffle(seqs)
    inputs, parts, num_real = make_batch(rng, seqs, page_size, num_heads)
    sm_scale = HEAD_DIM**-0.5
    out = np.asarray(
        jax.jit(ragged_paged_attention_reference, static_argnames=("sm_scale", "block_q"))(
            **inputs, sm_scale=sm_scale, block_q=block_q
        )
    )
    expected = np.concatenate(
        [dense_attention(q, k, v, start, sm_scale) for q, k, v, start in parts]
    )
    np.testing.assert_allclose(out[:num_real], expected, rtol=2e-5, atol=2e-5)
    assert np.all(out[num_real:] == 0), "padding tokens must produce zeros"


@pytest.mark.parametrize("window", [1, 4, 9])
@pytest.mark.parametrize("block_q", [1, 4])
def test_sliding_window(window, block_q):
    rng = np.random.default_rng(window)
    seqs = [(30, 30), (17, 1), (40, 6)]
    inputs, parts, num_real = make_batch(rng, seqs, 8, 4)
    out = np.asarray(
        ragged_paged_attention_reference(
            **inputs, sm_scale=0.25, sliding_window=window, block_q=block_q
        )
    )
    expected = np.concatenate(
        [dense_attention(q, k, v, start, 0.25, window) for q, k, v, start in parts]
    )
    np.testing.assert_allclose(out[:num_real], expected, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("window", [None, 5])
@pytest.mark.parametrize("block_q", [1, 4])
def test_soft_cap_and_sinks(window, block_q):
    """Gemma 2's tanh score cap and gpt-oss's per-head sinks, alone and together."""
    rng = np.random.default_rng(11)
    batch = make_ragged_batch(
        rng,
        [(30, 30), (17, 1), (40, 6)],
        page_size=8,
        num_heads=4,
        num_kv_heads=2,
        head_dim=HEAD_DIM,
        pad_tokens=3,
    )
    sinks = rng.standard_normal(4) * 2
    attend = jax.jit(
        ragged_paged_attention_reference,
        static_argnames=("sm_scale", "sliding_window", "soft_cap", "block_q"),
    )
    for soft_cap, head_sinks in ((3.0, None), (None, sinks), (2.0, sinks)):
        out = np.asarray(
            attend(
                **batch.inputs,
                sm_scale=0.5,
                sliding_window=window,
                soft_cap=soft_cap,
                sinks=None if head_sinks is None else jnp.asarray(head_sinks, jnp.float32),
                block_q=block_q,
            )
        )
        expected = batch.expected(0.5, window, soft_cap, head_sinks)
        np.testing.assert_allclose(out[: batch.num_real_tokens], expected, rtol=2e-5, atol=2e-5)
        assert np.all(out[batch.num_real_tokens :] == 0)


def test_score_options_are_checked():
    batch = make_ragged_batch(
        np.random.default_rng(0),
        [(5, 5)],
        page_size=8,
        num_heads=4,
        num_kv_heads=2,
        head_dim=HEAD_DIM,
    )
    with pytest.raises(ValueError, match="soft_cap must be positive"):
        ragged_paged_attention_reference(**batch.inputs, soft_cap=0.0)
    with pytest.raises(ValueError, match="one logit per query head"):
        ragged_paged_attention_reference(**batch.inputs, sinks=jnp.zeros(2))


def test_random_batches_sweep():
    rng = np.random.default_rng(7)
    attend = jax.jit(ragged_paged_attention_reference, static_argnames=("sm_scale", "block_q"))
    for trial in range(8):
        page_size = int(rng.choice([8, 16, 32]))
        group = int(rng.choice([1, 2, 4]))
        seqs = []
        for _ in range(int(rng.integers(1, 6))):
            kv_len = int(rng.integers(1, 90))
            seqs.append((kv_len, int(rng.integers(1, kv_len + 1))))
        inputs, parts, num_real = make_batch(
            rng, seqs, page_size, NUM_KV_HEADS * group, pad_tokens=int(rng.integers(0, 4))
        )
        block_q = int(rng.choice([1, 2, 16]))
        out = np.asarray(attend(**inputs, sm_scale=0.3, block_q=block_q))
        expected = np.concatenate([dense_attention(q, k, v, s, 0.3) for q, k, v, s in parts])
        np.testing.assert_allclose(
            out[:num_real],
            expected,
            rtol=2e-5,
            atol=2e-5,
            err_msg=f"trial {trial}: {seqs}, page {page_size}",
        )


def test_write_kv_pages_places_tokens_at_their_slots():
    rng = np.random.default_rng(0)
    num_pages, page_size = 6, 4
    k_pages = jnp.zeros((num_pages, page_size, NUM_KV_HEADS, HEAD_DIM))
    v_pages = jnp.zeros_like(k_pages)
    k = rng.standard_normal((5, NUM_KV_HEADS, HEAD_DIM)).astype(np.float32)
    v = rng.standard_normal((5, NUM_KV_HEADS, HEAD_DIM)).astype(np.float32)
    slots = np.array([3 * page_size + 1, 5 * page_size + 0, 1 * page_size + 3, 2, 23], np.int32)
    k_new, v_new = write_kv_pages(
        k_pages, v_pages, jnp.asarray(k), jnp.asarray(v), jnp.asarray(slots)
    )
    k_flat = np.asarray(k_new).reshape(-1, NUM_KV_HEADS, HEAD_DIM)
    v_flat = np.asarray(v_new).reshape(-1, NUM_KV_HEADS, HEAD_DIM)
    np.testing.assert_array_equal(k_flat[slots], k)
    np.testing.assert_array_equal(v_flat[slots], v)
    untouched = np.setdiff1d(np.arange(num_pages * page_size), slots)
    assert not k_flat[untouched].any() and not v_flat[untouched].any()


def test_write_then_attend_equals_dense():
    """K/V written by `write_kv_pages` through a page table is what attention reads back."""
    rng = np.random.default_rng(3)
    page_size, kv_len, num_heads = 8, 21, 4
    table = np.array([5, 2, 7], np.int32)
    k = rng.standard_normal((kv_len, NUM_KV_HEADS, HEAD_DIM)).astype(np.float32)
    v = rng.standard_normal((kv_len, NUM_KV_HEADS, HEAD_DIM)).astype(np.float32)
    q = rng.standard_normal((kv_len, num_heads, HEAD_DIM)).astype(np.float32)
    pos = np.arange(kv_len)
    slots = table[pos // page_size] * page_size + pos % page_size
    pages = jnp.zeros((8, page_size, NUM_KV_HEADS, HEAD_DIM))
    k_pages, v_pages = write_kv_pages(
        pages, pages, jnp.asarray(k), jnp.asarray(v), jnp.asarray(slots)
    )
    out = ragged_paged_attention_reference(
        jnp.asarray(q),
        k_pages,
        v_pages,
        jnp.asarray([kv_len], jnp.int32),
        jnp.asarray(table[None]),
        jnp.asarray([0, kv_len], jnp.int32),
        jnp.asarray([1], jnp.int32),
        sm_scale=0.25,
    )
    np.testing.assert_allclose(
        np.asarray(out), dense_attention(q, k, v, 0, 0.25), rtol=2e-5, atol=2e-5
    )
