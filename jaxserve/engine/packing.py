"""Packing one scheduled step into fixed-shape numpy arrays, padded to shape buckets.

Only a few shapes ever reach the compiler: token count, sequence count and pages per
sequence are each rounded up to a power of two (with a floor), so a server compiles a
handful of programs and then reuses them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

MIN_TOKENS = 16
MIN_SEQS = 4
MIN_PAGES = 4
NULL_PAGE = 0  # reserved: padding tokens write here and no sequence reads it


def bucket(n: int, floor: int) -> int:
    """The smallest power of two >= max(n, floor)."""
    n = max(n, floor)
    return 1 << (n - 1).bit_length()


@dataclasses.dataclass(frozen=True)
class SequenceChunk:
    """The tokens one sequence computes in a step and where its cache lives."""

    token_ids: Sequence[int]  # the new tokens, at positions start .. start + len - 1
    start: int  # tokens already in the cache
    page_table: Sequence[int]  # pages covering at least start + len tokens

    @property
    def end(self) -> int:
        return self.start + len(self.token_ids)


@dataclasses.dataclass(frozen=True)
class PackedStep:
    """Host arrays with the fields of `StepBatch`."""

    token_ids: np.ndarray  # i32[T]
    positions: np.ndarray  # i32[T]
    slot_mapping: np.ndarray  # i32[T]
    cu_q_lens: np.ndarray  # i32[S + 1]
    kv_lens: np.ndarray  # i32[S]
    page_indices: np.ndarray  # i32[S, pages_per_seq]
    num_seqs: np.ndarray  # i32[1]
    logits_indices: np.ndarray  # i32[R]

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def pack_step(
    chunks: Sequence[SequenceChunk], page_size: int, *, all_logits: bool = False
) -> PackedStep:
    """Flattens the chunks into one padded step.

    Args:
        chunks: one per sequence, in the order their outputs are wanted.
        page_size: tokens per KV page.
        all_logits: logits for every token (prompt logits) rather than each chunk's last.
    """
    lens = [len(c.token_ids) for c in chunks]
    num_tokens = bucket(sum(lens), MIN_TOKENS)
    num_slots = bucket(len(chunks), MIN_SEQS)
    pages_per_seq = bucket(max(-(-c.end // page_size) for c in chunks), MIN_PAGES)

    token_ids = np.zeros(num_tokens, np.int32)
    positions = np.zeros(num_tokens, np.int32)
    slot_mapping = np.full(num_tokens, NULL_PAGE * page_size, np.int32)
    cu_q_lens = np.zeros(num_slots + 1, np.int32)
    kv_lens = np.zeros(num_slots, np.int32)
    page_indices = np.full((num_slots, pages_per_seq), NULL_PAGE, np.int32)

    cursor = 0
    for s, chunk in enumerate(chunks):
        n = lens[s]
        pos = np.arange(chunk.start, chunk.end, dtype=np.int32)
        table = np.asarray(chunk.page_table, np.int32)
        token_ids[cursor : cursor + n] = chunk.token_ids
        positions[cursor : cursor + n] = pos
        slot_mapping[cursor : cursor + n] = table[pos // page_size] * page_size + pos % page_size
        used = table[: -(-chunk.end // page_size)]
        page_indices[s, : len(used)] = used
        kv_lens[s] = chunk.end
        cursor += n
        cu_q_lens[s + 1] = cursor
    cu_q_lens[len(chunks) + 1 :] = cursor

    if all_logits:
        logits_indices = np.arange(num_tokens, dtype=np.int32)
    else:
        logits_indices = np.zeros(num_slots, np.int32)
        logits_indices[: len(chunks)] = cu_q_lens[1 : len(chunks) + 1] - 1
    return PackedStep(
        token_ids,
        positions,
        slot_mapping,
        cu_q_lens,
        kv_lens,
        page_indices,
        np.array([len(chunks)], np.int32),
        logits_indices,
    )


def pack_padding(num_tokens: int, num_slots: int, pages_per_seq: int, page_size: int) -> PackedStep:
    """A step of the given bucket that holds only padding (to compile that bucket ahead)."""
    return PackedStep(
        token_ids=np.zeros(num_tokens, np.int32),
        positions=np.zeros(num_tokens, np.int32),
        slot_mapping=np.full(num_tokens, NULL_PAGE * page_size, np.int32),
        cu_q_lens=np.zeros(num_slots + 1, np.int32),
        kv_lens=np.zeros(num_slots, np.int32),
        page_indices=np.full((num_slots, pages_per_seq), NULL_PAGE, np.int32),
        num_seqs=np.zeros(1, np.int32),
        logits_indices=np.zeros(num_slots, np.int32),
    )


def warmup_buckets(
    max_num_seqs: int, max_num_batched_tokens: int
) -> list[tuple[int, int, int, bool]]:
    """(tokens, sequences, pages per sequence, decode only) buckets worth compiling at start.

    Decode steps of every batch size and prefill steps of every chunk size, at the smallest
    page bucket; longer contexts compile on first use (and then come from the disk cache).
    """
    shapes = {
        (bucket(s, MIN_TOKENS), s, MIN_PAGES, True)
        for s in _powers(MIN_SEQS, bucket(max_num_seqs, MIN_SEQS))
    }
    shapes |= {
        (t, MIN_SEQS, MIN_PAGES, False)
        for t in _powers(MIN_TOKENS, bucket(max_num_batched_tokens, MIN_TOKENS))
    }
    return sorted(shapes)


def _powers(low: int, high: int) -> list[int]:
    out = []
    while low <= high:
        out.append(low)
        low *= 2
    return out
