"""The query-block schedule shared by the GPU kernels' wrappers (plain jnp, outside the kernel).

Every sequence's queries are cut into blocks of `block_q` tokens, one sequence per block,
with a static block count `N = T // block_q + S`; the kernels run a grid over blocks and the
wrappers gather queries into blocks and scatter the outputs back to tokens.

Split-KV (flash-decoding): a decode step has one query block per sequence, too few programs
to keep a GPU's memory system busy when contexts are long. With `num_kv_splits > 1` each
block's KV tiles are dealt out over that many programs (`split_tile_range`), each leaving an
unnormalized partial (output, running max, running sum), and `combine_kv_splits` merges them.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from pallas_kernels.ragged_paged_attention.reference import token_sequence_ids


def block_schedule(cu_q_lens, kv_lens, num_seqs, *, num_tokens, block_q, sliding_window):
    """Per query block (static count N = T // block_q + S): sequence, first token and key range.

    Returns i32[N] arrays (seq, first_tok, q_count, q_start, kv_lo, kv_hi) and, per sequence,
    i32[S] `block_start`, the index of its first block. Blocks past the last real one have
    q_count = kv_hi = 0.
    """
    num_slots = kv_lens.shape[0]
    num_blocks = num_tokens // block_q + num_slots  # Σ ceil(q_len / block_q) never exceeds it
    q_lens = jnp.where(jnp.arange(num_slots) < num_seqs[0], cu_q_lens[1:] - cu_q_lens[:-1], 0)
    blocks_per_seq = (q_lens + block_q - 1) // block_q  # [S]
    block_end = jnp.cumsum(blocks_per_seq)  # [S]
    b = jnp.arange(num_blocks)
    seq = jnp.minimum(jnp.searchsorted(block_end, b, side="right"), num_slots - 1)  # [N]
    local = b - (block_end[seq] - blocks_per_seq[seq])  # block index within its sequence
    first_tok = cu_q_lens[seq] + local * block_q
    real = b < block_end[-1]
    q_count = jnp.where(real, jnp.minimum(block_q, cu_q_lens[seq + 1] - first_tok), 0)
    q_start = kv_lens[seq] - q_lens[seq] + local * block_q  # position of the block's token 0
    kv_hi = jnp.where(real, q_start + q_count, 0)  # the last query sees keys up to itself
    kv_lo = jnp.zeros_like(kv_hi)
    if sliding_window is not None:
        kv_lo = jnp.where(real, jnp.maximum(q_start - sliding_window + 1, 0), 0)
    block_start = block_end - blocks_per_seq
    return tuple(
        x.astype(jnp.int32) for x in (seq, first_tok, q_count, q_start, kv_lo, kv_hi, block_start)
    )


def gather_query_blocks(q, first_tok, q_count, *, block_q, num_kv_heads):
    """[T, H, D] -> [N, K, block_q * G, D]; rows past a block's q_count are zero."""
    num_tokens, num_heads, head_dim = q.shape
    group = num_heads // num_kv_heads
    offset = jnp.arange(block_q)[None, :]  # [1, block_q]
    tok = jnp.where(offset < q_count[:, None], first_tok[:, None] + offset, num_tokens)
    qb = jnp.take(q, tok, axis=0, mode="fill", fill_value=0)  # [N, block_q, H, D]
    qb = qb.reshape(-1, block_q, num_kv_heads, group, head_dim).transpose(0, 2, 1, 3, 4)
    return qb.reshape(-1, num_kv_heads, block_q * group, head_dim)


def scatter_query_blocks(out, cu_q_lens, num_seqs, block_start, *, num_tokens):
    """[N, K, block_q, G, D] per block -> [T, H, D] per token; padding tokens get zeros."""
    num_blocks, num_kv_heads, block_q, group, head_dim = out.shape
    out = out.transpose(0, 2, 1, 3, 4).reshape(num_blocks * block_q, num_kv_heads * group, head_dim)
    tok = jnp.arange(num_tokens)
    seq = token_sequence_ids(cu_q_lens, num_tokens)  # [T]
    offset = tok - cu_q_lens[seq]
    row = (block_start[seq] + offset // block_q) * block_q + offset % block_q  # [T]
    real = tok < cu_q_lens[num_seqs[0]]
    row = jnp.where(real, row, num_blocks * block_q)
    return jnp.take(out, row, axis=0, mode="fill", fill_value=0)


def pick_num_kv_splits(
    *, num_programs: int, target_programs: int, max_kv_len: int, min_split_tokens: int
) -> int:
    """KV splits so a grid of `num_programs` unsplit programs reaches `target_programs`.

    A power of two, the smallest that reaches the target, but no larger than leaves each
    split `min_split_tokens` of the longest possible context (`max_kv_len`, from the page
    table's width); 1 when `target_programs` is 0 (never split).
    """
    if target_programs <= 0 or num_programs <= 0:
        return 1
    wanted = 1 << max(0, math.ceil(math.log2(target_programs / num_programs)))
    most = 1 << max(0, (max_kv_len // max(1, min_split_tokens)).bit_length() - 1)
    return max(1, min(wanted, most))


def split_tile_range(first, last, split, num_kv_splits):
    """Tiles `[first, last)` dealt out in contiguous runs: split `split`'s run (maybe empty)."""
    per_split = (last - first + num_kv_splits - 1) // num_kv_splits
    lo = first + split * per_split
    return lo, jnp.maximum(lo, jnp.minimum(last, lo + per_split))


def combine_kv_splits(acc, m, denom):
    """Merges split partials: acc f32[..., X, R, D], m and denom f32[..., X, R] -> [..., R, D].

    `acc` is unnormalized (Σ exp(s - m) v), `m` the running max (-inf for a split that saw no
    tile), `denom` the running sum. Rows that saw no key at all come out zero, not 0 / 0.
    """
    top = jnp.max(m, axis=-2, keepdims=True)  # [..., 1, R]
    top = jnp.where(top == -jnp.inf, 0.0, top)
    weight = jnp.exp(m - top)  # [..., X, R]; 0 for empty splits
    total = jnp.sum(weight * denom, axis=-2)  # [..., R]
    out = jnp.sum(weight[..., None] * acc, axis=-3)  # [..., R, D]
    return out / jnp.where(total == 0.0, 1.0, total)[..., None]
