"""Pure-jnp ragged paged attention: the reference every kernel is tested against.

A step's query tokens from all sequences are flattened into one `[T, H, D]` array; sequence
`s` owns tokens `cu_q_lens[s]:cu_q_lens[s + 1]`, which are the *last* `q_len` of its `kv_lens[s]`
tokens (their K/V must already be written into the pages). That one rule covers prefill
(q_len == kv_len), chunked prefill (q_len < kv_len) and decode (q_len == 1). Tokens past
`cu_q_lens[num_seqs]` are padding and produce zeros.

Queries are grouped into blocks of one sequence each; a loop walks the KV positions a few
pages at a time with an online softmax, gathering only those pages for every block. The
loop runs as many times as the longest sequence in the step needs (a dynamic trip count), so
the cost follows the real lengths rather than the width of the page table, and the gathered
slice stays small enough to live in cache (on CPU, 2-4 pages per step were twice as fast as
gathering a sequence's whole context at once).
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
    soft_cap: float | None = None,
    sinks: jax.Array | None = None,  # f32[H]
    mask_value: float = DEFAULT_MASK_VALUE,
    block_q: int = 1,
    kv_pages_per_block: int = 4,
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
        soft_cap: if set, scores (after `sm_scale`) become `soft_cap * tanh(s / soft_cap)`
            before masking (Gemma 2's attention logit softcapping).
        sinks: if set, one logit per query head that joins each row's softmax denominator
            but has no value (gpt-oss's attention sinks): a row's weights then sum to less
            than one.
        mask_value: score given to masked positions.
        block_q: queries per block. 1 gives every token its own block (best when every
            sequence has one query, as in decode); larger blocks share each page gather
            among up to `block_q` queries of one sequence (prefill chunks).
        kv_pages_per_block: pages gathered per loop iteration.

    Returns:
        The attention output in `q`'s dtype; rows of padding tokens are zero.
    """
    num_tokens, num_heads, head_dim = q.shape
    num_kv_heads = k_pages.shape[2]
    group = num_heads // num_kv_heads
    check_score_options(num_heads, soft_cap, sinks)
    if block_q == 1:
        seq = token_sequence_ids(cu_q_lens, num_tokens)  # [T]
        tok = jnp.arange(num_tokens)[:, None]  # [N=T, 1]
        real = tok < cu_q_lens[num_seqs[0]]
        q_len = cu_q_lens[seq + 1] - cu_q_lens[seq]
        q_pos = (kv_lens[seq] - q_len)[:, None] + tok - cu_q_lens[seq][:, None]
    else:
        seq, tok, real, q_pos = _query_blocks(
            cu_q_lens, kv_lens, num_seqs, num_tokens, page_indices.shape[0], block_q
        )
    safe_tok = jnp.where(real, tok, 0)
    qb = q[safe_tok].reshape(*tok.shape, num_kv_heads, group, head_dim)  # [N, B, K, G, D]
    out = _flash(
        qb,
        k_pages,
        v_pages,
        page_indices[seq],
        q_pos,
        jnp.where(real[:, 0], kv_lens[seq], 0),
        real,
        sm_scale=sm_scale,
        sliding_window=sliding_window,
        soft_cap=soft_cap,
        sinks=None if sinks is None else sinks.reshape(num_kv_heads, group),
        mask_value=mask_value,
        kv_pages_per_block=kv_pages_per_block,
    )  # [N, B, K, G, D] float32
    out = jnp.where(real[:, :, None, None, None], out, 0.0)
    out = out.reshape(-1, num_heads, head_dim)
    if block_q > 1:  # blocks back to token order; padding rows are dropped
        dest = jnp.where(real, tok, num_tokens).reshape(-1)
        out = jnp.zeros((num_tokens, num_heads, head_dim), out.dtype).at[dest].set(out, mode="drop")
    return out.astype(q.dtype)


# What the Pallas kernels multiply: queries in a float compute dtype; pages in one too, or as
# int8 / float8_e4m3fn codes (a quantized KV cache, its scales folded outside attention) that a
# kernel converts to the queries' dtype as it loads them, exactly for both code types.
QUERY_DTYPES = (jnp.float32, jnp.bfloat16, jnp.float16)
PAGE_DTYPES = (*QUERY_DTYPES, jnp.int8, jnp.float8_e4m3fn)


def check_kernel_dtypes(q: jax.Array, k_pages: jax.Array, v_pages: jax.Array) -> None:
    """Refuses dtypes a Pallas kernel does not read, naming the ones it does."""
    if q.dtype not in QUERY_DTYPES:
        raise ValueError(f"q must be one of {_names(QUERY_DTYPES)}, got {q.dtype}")
    if k_pages.dtype != v_pages.dtype or k_pages.dtype not in PAGE_DTYPES:
        raise ValueError(
            f"k_pages and v_pages must share one of {_names(PAGE_DTYPES)}, got "
            f"{k_pages.dtype} and {v_pages.dtype}"
        )


def _names(dtypes: tuple) -> str:
    return ", ".join(jnp.dtype(d).name for d in dtypes)


def check_score_options(num_heads: int, soft_cap: float | None, sinks: jax.Array | None) -> None:
    """Refuses a `soft_cap` or `sinks` that no implementation could honour."""
    if soft_cap is not None and not soft_cap > 0:
        raise ValueError(f"soft_cap must be positive, got {soft_cap}")
    if sinks is not None and sinks.shape != (num_heads,):
        raise ValueError(
            f"sinks must hold one logit per query head ({num_heads}), got {sinks.shape}"
        )


def _query_blocks(cu_q_lens, kv_lens, num_seqs, num_tokens, num_slots, block_q):
    """Splits each sequence's queries into blocks of `block_q`.

    Returns `seq` i32[N] (each block's sequence), `tok` i32[N, B] (its token indices),
    `real` bool[N, B] and `q_pos` i32[N, B] (absolute positions), with
    N = T // block_q + S blocks: enough for any split of T tokens over S sequences.
    """
    num_blocks = num_tokens // block_q + num_slots
    real_seq = jnp.arange(num_slots) < num_seqs[0]
    q_lens = jnp.where(real_seq, cu_q_lens[1:] - cu_q_lens[:-1], 0)  # [S]
    blocks_per_seq = -(-q_lens // block_q)  # [S]
    block_end = jnp.cumsum(blocks_per_seq)  # [S]
    b = jnp.arange(num_blocks)
    seq = jnp.minimum(jnp.searchsorted(block_end, b, side="right"), num_slots - 1)  # [N]
    first = cu_q_lens[seq] + (b - (block_end[seq] - blocks_per_seq[seq])) * block_q  # [N]
    tok = first[:, None] + jnp.arange(block_q)[None, :]  # [N, B]
    real = (b < block_end[-1])[:, None] & (tok < cu_q_lens[seq + 1][:, None])  # [N, B]
    q_pos = (kv_lens[seq] - q_lens[seq] - cu_q_lens[seq])[:, None] + tok
    return seq, tok, real, q_pos


def _flash(
    q,
    k_pages,
    v_pages,
    tables,
    q_pos,
    kv_len,
    real,
    *,
    sm_scale,
    sliding_window,
    soft_cap,
    sinks,
    mask_value,
    kv_pages_per_block,
):
    """Online-softmax attention of query blocks over their sequences' pages.

    q: [N, B, K, G, D]; tables: i32[N, pages_per_seq]; q_pos: i32[N, B]; kv_len: i32[N]
    (0 for empty blocks); real: bool[N, B]; sinks: [K, G] or None. Returns f32[N, B, K, G, D].

    A sink starts each row's running maximum at its logit and its denominator at one
    (exp(sink - sink)), so it weighs in the softmax without adding a value.
    """
    num_blocks, block_q, num_kv_heads, group, head_dim = q.shape
    page_size = k_pages.shape[1]
    bp = kv_pages_per_block
    span = bp * page_size  # KV positions per iteration
    pad = -tables.shape[1] % bp
    tables = jnp.pad(tables, ((0, 0), (0, pad)))  # page 0 fills the tail; it is masked out
    # Float32 attention is computed at float32 precision on every platform (XLA's default
    # would use TF32 on an NVIDIA GPU, bfloat16 passes on a TPU), so the reference can serve
    # as an oracle at float32 tolerances; narrower inputs keep the platform's default.
    precision = jax.lax.Precision.HIGHEST if q.dtype == jnp.float32 else None
    q = q.astype(jnp.float32) * sm_scale
    if sliding_window is None:
        first_needed = jnp.zeros((), jnp.int32)
    else:  # iterations wholly before every block's window are skipped
        lowest = jnp.min(jnp.where(real, q_pos, jnp.iinfo(jnp.int32).max))
        first_needed = jnp.maximum(lowest - sliding_window + 1, 0) // span
    num_iters = (jnp.max(kv_len) + span - 1) // span

    def body(i, carry):
        m, denom, acc = carry  # [N, K, G, B], [N, K, G, B], [N, K, G, B, D]
        pages = jax.lax.dynamic_slice_in_dim(tables, i * bp, bp, axis=1)  # [N, bp]
        k = k_pages[pages].reshape(num_blocks, span, num_kv_heads, head_dim)
        v = v_pages[pages].reshape(num_blocks, span, num_kv_heads, head_dim)
        kv_pos = i * span + jnp.arange(span)  # [span]
        mask = (kv_pos <= q_pos[..., None]) & (kv_pos < kv_len[:, None, None])  # [N, B, span]
        if sliding_window is not None:
            mask &= kv_pos > q_pos[..., None] - sliding_window
        s = jnp.einsum("nbkgd,nlkd->nkgbl", q, k.astype(jnp.float32), precision=precision)
        if soft_cap is not None:
            s = soft_cap * jnp.tanh(s / soft_cap)
        s = jnp.where(mask[:, None, None], s, mask_value)  # [N, K, G, B, span]
        m_new = jnp.maximum(m, s.max(-1))
        alpha = jnp.exp(m - m_new)
        p = jnp.exp(s - m_new[..., None])
        denom = denom * alpha + p.sum(-1)
        pv = jnp.einsum("nkgbl,nlkd->nkgbd", p, v.astype(jnp.float32), precision=precision)
        return m_new, denom, acc * alpha[..., None] + pv

    stats = (num_blocks, num_kv_heads, group, block_q)
    if sinks is None:
        m0, denom0 = jnp.full(stats, mask_value, jnp.float32), jnp.zeros(stats, jnp.float32)
    else:
        m0 = jnp.broadcast_to(sinks.astype(jnp.float32)[None, :, :, None], stats)
        denom0 = jnp.ones(stats, jnp.float32)
    init = (m0, denom0, jnp.zeros((*stats, head_dim), jnp.float32))
    _, denom, acc = jax.lax.fori_loop(first_needed, num_iters, body, init)
    out = acc / jnp.maximum(denom, 1e-30)[..., None]  # [N, K, G, B, D]
    return out.transpose(0, 3, 1, 2, 4)  # [N, B, K, G, D]
