"""Pure-jnp ragged paged attention: the reference every kernel is tested against.

A step's query tokens from all sequences are flattened into one `[T, H, D]` array; sequence
`s` owns tokens `cu_q_lens[s]:cu_q_lens[s + 1]`, which are the *last* `q_len` of its `kv_lens[s]`
tokens (their K/V must already be written into the pages). That one rule covers prefill
(q_len == kv_len), chunked prefill (q_len < kv_len) and decode (q_len == 1). Tokens past
`cu_q_lens[num_seqs]` are padding and produce zeros.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

# Large and finite, so a fully masked row softmaxes to a uniform row instead of NaN.
DEFAULT_MASK_VALUE = -0.7 * float(jnp.finfo(jnp.float32).max)


def token_sequence_ids(cu_q_lens: jax.Array, num_tokens: int) -> jax.Array:
    """i32[T]: the sequence each flattened query token belongs to (clamped for padding)."""
    num_slots = cu_q_lens.shape[0] - 1
    seq = jnp.searchsorted(cu_q_lens[1:], jnp.arange(num_tokens), side="right")
    return jnp.minimum(seq, num_slots - 1).astype(jnp.int32)


def ragged_paged_attention_reference(
    q: jax.Array,  # [T, H, D]
    k_pages: jax.Array,  # [P, page_size, K, D]
    v_pages: jax.Array,  # [P, page_size, K, D]
    kv_lens: jax.Array,  # i32[S]
    page_indices: jax.Array,  # i32[S, pages_per_seq]
    cu_q_lens: jax.Array,  # i32[S + 1]
    num_seqs: jax.Array,  # i32[1]
    *,
    sm_scale: float = 1.0,
    sliding_window: int | None = None,
    mask_value: float = DEFAULT_MASK_VALUE,
    block_q: int = 1,
) -> jax.Array:  # [T, H, D]
    """Causal attention of each query token over its own sequence's paged K/V.

    Args:
        q: queries, flattened over sequences.
        k_pages, v_pages: the page pool; sequence `s`'s token `i` lives in page
            `page_indices[s, i // page_size]` at offset `i % page_size`.
        kv_lens: tokens in each sequence's cache, counting this step's tokens.
        page_indices: each sequence's page table; entries past its length are ignored.
        cu_q_lens: cumulative query lengths; `cu_q_lens[0] == 0`.
        num_seqs: how many of the S sequence slots are real.
        sm_scale: multiplies the scores (usually `D ** -0.5`).
        sliding_window: if set, a query sees only the last `sliding_window` positions.
        mask_value: score given to masked positions.
        block_q: queries per block. 1 gathers each token's pages for it alone (best when
            every sequence has one query, as in decode); larger blocks share one gather of a
            sequence's pages among up to `block_q` of its queries (prefill chunks).

    Returns:
        The attention output in `q`'s dtype; rows of padding tokens are zero.
    """
    if block_q > 1:
        return _blocked(
            q,
            k_pages,
            v_pages,
            kv_lens,
            page_indices,
            cu_q_lens,
            num_seqs,
            sm_scale=sm_scale,
            sliding_window=sliding_window,
            mask_value=mask_value,
            block_q=block_q,
        )
    num_tokens, num_heads, head_dim = q.shape
    _, page_size, num_kv_heads, _ = k_pages.shape
    pages_per_seq = page_indices.shape[1]
    group = num_heads // num_kv_heads
    max_len = pages_per_seq * page_size

    tok = jnp.arange(num_tokens)
    seq = token_sequence_ids(cu_q_lens, num_tokens)  # [T]
    real = tok < cu_q_lens[num_seqs[0]]  # [T]
    q_len = cu_q_lens[seq + 1] - cu_q_lens[seq]  # [T]
    kv_len = kv_lens[seq]  # [T]
    q_pos = kv_len - q_len + (tok - cu_q_lens[seq])  # [T] absolute position of each query

    # Every token gathers its sequence's pages: exact and simple; kernels avoid the copy.
    pages = page_indices[seq]  # [T, pages_per_seq]
    k = k_pages[pages].reshape(num_tokens, max_len, num_kv_heads, head_dim)  # [T, L, K, D]
    v = v_pages[pages].reshape(num_tokens, max_len, num_kv_heads, head_dim)  # [T, L, K, D]

    qg = q.reshape(num_tokens, 1, num_kv_heads, group, head_dim)  # one query per "block"
    out = _attend(
        qg,
        k,
        v,
        q_pos[:, None],
        kv_len,
        real[:, None],
        sm_scale=sm_scale,
        sliding_window=sliding_window,
        mask_value=mask_value,
    )
    out = jnp.where(real[:, None, None, None], out[:, 0], 0.0)
    return out.reshape(num_tokens, num_heads, head_dim).astype(q.dtype)


def _attend(q, k, v, q_pos, kv_len, real, *, sm_scale, sliding_window, mask_value):
    """q: [N, B, K, G, D] at positions q_pos [N, B]; k, v: [N, L, K, D] -> [N, B, K, G, D]."""
    kv_pos = jnp.arange(k.shape[1])[None, None, :]  # [1, 1, L]
    mask = (kv_pos <= q_pos[..., None]) & (kv_pos < kv_len[:, None, None]) & real[..., None]
    if sliding_window is not None:
        mask &= kv_pos > q_pos[..., None] - sliding_window
    scores = jnp.einsum("nbkgd,nlkd->nkgbl", q.astype(jnp.float32), k.astype(jnp.float32))
    scores = jnp.where(mask[:, None, None], scores * sm_scale, mask_value)  # [N, K, G, B, L]
    probs = jax.nn.softmax(scores, axis=-1)
    return jnp.einsum("nkgbl,nlkd->nbkgd", probs, v.astype(jnp.float32))


def _blocked(
    q,
    k_pages,
    v_pages,
    kv_lens,
    page_indices,
    cu_q_lens,
    num_seqs,
    *,
    sm_scale,
    sliding_window,
    mask_value,
    block_q,
):
    """Queries grouped into blocks of one sequence each; one page gather per block."""
    num_tokens, num_heads, head_dim = q.shape
    _, page_size, num_kv_heads, _ = k_pages.shape
    num_slots, pages_per_seq = page_indices.shape
    group = num_heads // num_kv_heads
    num_blocks = num_tokens // block_q + num_slots  # enough for any split of T over S
    real_seq = jnp.arange(num_slots) < num_seqs[0]
    q_lens = jnp.where(real_seq, cu_q_lens[1:] - cu_q_lens[:-1], 0)  # [S]
    blocks_per_seq = -(-q_lens // block_q)  # [S]
    block_end = jnp.cumsum(blocks_per_seq)  # [S]
    b = jnp.arange(num_blocks)
    seq = jnp.minimum(jnp.searchsorted(block_end, b, side="right"), num_slots - 1)  # [N]
    first = cu_q_lens[seq] + (b - (block_end[seq] - blocks_per_seq[seq])) * block_q  # [N]
    tok = first[:, None] + jnp.arange(block_q)[None, :]  # [N, B]
    real = (b < block_end[-1])[:, None] & (tok < cu_q_lens[seq + 1][:, None])  # [N, B]
    kv_len = kv_lens[seq]  # [N]
    q_pos = kv_len[:, None] - q_lens[seq][:, None] + (tok - cu_q_lens[seq][:, None])

    safe_tok = jnp.where(real, tok, 0)
    qb = q[safe_tok].reshape(num_blocks, block_q, num_kv_heads, group, head_dim)
    pages = page_indices[seq]  # [N, pages_per_seq]
    shape = (num_blocks, pages_per_seq * page_size, num_kv_heads, head_dim)
    out = _attend(
        qb,
        k_pages[pages].reshape(shape),
        v_pages[pages].reshape(shape),
        q_pos,
        kv_len,
        real,
        sm_scale=sm_scale,
        sliding_window=sliding_window,
        mask_value=mask_value,
    )
    out = out.reshape(num_blocks * block_q, num_heads, head_dim)
    dest = jnp.where(real, tok, num_tokens).reshape(-1)  # padding rows are dropped
    return (
        jnp.zeros((num_tokens, num_heads, head_dim), jnp.float32)
        .at[dest]
        .set(out, mode="drop")
        .astype(q.dtype)
    )
