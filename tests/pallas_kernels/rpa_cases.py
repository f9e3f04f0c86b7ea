"""Random ragged paged-attention batches and a float64 dense oracle, for any kernel's tests."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

# Cache slots that hold no real token get this scale of noise, so a masking bug shows loudly.
GARBAGE_SCALE = 100.0


@dataclasses.dataclass(frozen=True)
class RaggedBatch:
    """Inputs of a ragged paged attention call, and what each sequence should produce."""

    inputs: dict[str, jax.Array]  # q, k_pages, v_pages, kv_lens, page_indices, cu_q_lens, num_seqs
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]]  # (q, k, v, q_start) float64
    num_real_tokens: int

    def expected(
        self,
        sm_scale: float,
        sliding_window: int | None = None,
        soft_cap: float | None = None,
        sinks: np.ndarray | None = None,
    ) -> np.ndarray:
        """[num_real_tokens, H, D] float64 dense attention of every real token."""
        head_shape = self.inputs["q"].shape[1:]
        outs = [
            dense_attention(q, k, v, s, sm_scale, sliding_window, soft_cap, sinks)
            for q, k, v, s in self.parts
        ]
        return np.concatenate([np.zeros((0, *head_shape)), *outs])


def dense_attention(q, k, v, q_start, sm_scale, sliding_window=None, soft_cap=None, sinks=None):
    """q: [Q, H, D] at positions q_start..; k, v: [L, K, D] -> [Q, H, D], float64 numpy.

    `soft_cap` caps the scaled scores with tanh; `sinks` ([H]) adds one value-less logit per
    head to every row's softmax, as a last column dropped after normalizing.
    """
    num_q, num_heads, _ = q.shape
    group = num_heads // k.shape[1]
    k = np.repeat(k, group, axis=1)
    v = np.repeat(v, group, axis=1)
    scores = np.einsum("qhd,lhd->hql", q, k) * sm_scale
    if soft_cap is not None:
        scores = soft_cap * np.tanh(scores / soft_cap)
    q_pos = q_start + np.arange(num_q)[:, None]
    kv_pos = np.arange(k.shape[0])[None, :]
    mask = kv_pos <= q_pos
    if sliding_window is not None:
        mask &= kv_pos > q_pos - sliding_window
    scores = np.where(mask[None], scores, -np.inf)
    if sinks is not None:
        column = np.broadcast_to(
            np.asarray(sinks, np.float64)[:, None, None], (*scores.shape[:2], 1)
        )
        scores = np.concatenate([scores, column], axis=-1)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    if sinks is not None:
        probs = probs[..., :-1]
    return np.einsum("hql,lhd->qhd", probs, v)


def _round(x: np.ndarray, dtype) -> np.ndarray:
    """x as `dtype` would store it, back in float64."""
    return np.asarray(jnp.asarray(x, dtype).astype(jnp.float32), np.float64)


def make_ragged_batch(
    rng: np.random.Generator,
    seqs: list[tuple[int, int]],
    *,
    page_size: int,
    num_heads: int,
    num_kv_heads: int,
    head_dim: int,
    dtype=jnp.float32,
    pad_tokens: int = 0,
    pad_seqs: int = 0,
    extra_pages: int = 3,
) -> RaggedBatch:
    """A batch of sequences given as (kv_len, q_len), laid out as a serving engine would.

    Pages are handed out in shuffled order; page-table entries past a sequence's length, the
    rows of padding slots (with random `kv_lens`) and unused cache slots hold junk that the
    attention must ignore. Padding slots repeat the last `cu_q_lens` entry.
    """
    pages_needed = [-(-kv // page_size) for kv, _ in seqs]
    pages_per_seq = max([*pages_needed, 1]) + 1
    num_pages = sum(pages_needed) + extra_pages
    order = rng.permutation(num_pages)
    shape = (num_pages, page_size, num_kv_heads, head_dim)
    k_pages = _round(rng.standard_normal(shape) * GARBAGE_SCALE, dtype)
    v_pages = _round(rng.standard_normal(shape) * GARBAGE_SCALE, dtype)
    num_slots = len(seqs) + pad_seqs
    page_indices = rng.integers(0, num_pages, (num_slots, pages_per_seq)).astype(np.int32)
    kv_lens = rng.integers(0, pages_per_seq * page_size + 1, num_slots).astype(np.int32)
    cu_q_lens = np.zeros(num_slots + 1, np.int32)
    queries, parts, cursor = [], [], 0
    for s, (kv_len, q_len) in enumerate(seqs):
        table = order[cursor : cursor + pages_needed[s]]
        cursor += pages_needed[s]
        page_indices[s, : len(table)] = table
        kv_lens[s] = kv_len
        cu_q_lens[s + 1] = cu_q_lens[s] + q_len
        k = rng.standard_normal((kv_len, num_kv_heads, head_dim))
        v = rng.standard_normal((kv_len, num_kv_heads, head_dim))
        pos = np.arange(kv_len)
        k_pages[table[pos // page_size], pos % page_size] = _round(k, dtype)
        v_pages[table[pos // page_size], pos % page_size] = _round(v, dtype)
        q = _round(rng.standard_normal((q_len, num_heads, head_dim)), dtype)
        queries.append(q)
        parts.append((q, _round(k, dtype), _round(v, dtype), kv_len - q_len))
    cu_q_lens[len(seqs) + 1 :] = cu_q_lens[len(seqs)]
    pad = rng.standard_normal((pad_tokens, num_heads, head_dim))
    q_all = np.concatenate([np.zeros((0, num_heads, head_dim)), *queries, pad])
    inputs = dict(
        q=jnp.asarray(q_all, dtype),
        k_pages=jnp.asarray(k_pages, dtype),
        v_pages=jnp.asarray(v_pages, dtype),
        kv_lens=jnp.asarray(kv_lens),
        page_indices=jnp.asarray(page_indices),
        cu_q_lens=jnp.asarray(cu_q_lens),
        num_seqs=jnp.asarray([len(seqs)], jnp.int32),
    )
    return RaggedBatch(inputs, parts, int(cu_q_lens[len(seqs)]))


# Unit-normal keys and values times this fill much of int8's code range; a kernel's sm_scale
# divides by it, as the model folds a key scale into its queries.
CODE_SCALE = 20.0


def with_code_pages(inputs: dict[str, jax.Array], dtype) -> dict[str, jax.Array]:
    """`inputs` with k/v pages as int8 or float8_e4m3fn codes of `CODE_SCALE` times the values.

    Codes saturate as the model's `quantize_kv` does, junk slots included: no NaN code appears.
    """
    top = 127.0 if jnp.dtype(dtype) == jnp.int8 else 448.0

    def codes(x: jax.Array) -> jax.Array:
        x = jnp.clip(x.astype(jnp.float32) * CODE_SCALE, -top, top)
        return (jnp.round(x) if jnp.dtype(dtype) == jnp.int8 else x).astype(dtype)

    return dict(inputs, k_pages=codes(inputs["k_pages"]), v_pages=codes(inputs["v_pages"]))
