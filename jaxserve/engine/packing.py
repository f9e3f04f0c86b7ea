"""Packing one scheduled step into fixed-shape numpy arrays, padded to shape buckets.

Only a few shapes ever reach the compiler: the token count is rounded up to a power of two,
the sequence count to a power of two in decode steps and of four in steps that hold prompt
chunks, and every page table is as wide as `max_model_len` needs (attention loops over the
real lengths, so a wide table costs nothing). A server compiles a handful of programs at
start and never again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

MIN_TOKENS = 16
MIN_SEQS = 4
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
    # For prompt logprobs: the prompt token that follows each new token, as far as the prompt
    # goes (so possibly fewer than the tokens); empty when the sequence wants none.
    prompt_targets: Sequence[int] = ()
    # M-RoPE models: each new token's (temporal, height, width) position, i32[3, len]; None:
    # positions start .. start + len - 1 (on all three axes, for an M-RoPE model).
    mrope_positions: np.ndarray | None = None
    # Image embeddings that replace some of the new tokens' embeddings: (index of the first
    # token they replace among the new tokens, rows f32[n, E]).
    embeds: tuple[tuple[int, np.ndarray], ...] = ()

    @property
    def end(self) -> int:
        return self.start + len(self.token_ids)


@dataclasses.dataclass(frozen=True)
class PackedStep:
    """Host arrays with the fields of `StepBatch`."""

    token_ids: np.ndarray  # i32[T]
    positions: np.ndarray  # i32[T], or i32[3, T] for an M-RoPE model
    slot_mapping: np.ndarray  # i32[T]
    cu_q_lens: np.ndarray  # i32[S + 1]
    kv_lens: np.ndarray  # i32[S]
    page_indices: np.ndarray  # i32[S, pages_per_seq]
    num_seqs: np.ndarray  # i32[1]
    logits_indices: np.ndarray  # i32[R]
    # Only in steps that hold image embeddings: the rows f32[T, E] and which token rows take
    # them i32[T] (1: the image's, 0: the token's own embedding).
    mm_embeds: np.ndarray | None = None
    mm_mask: np.ndarray | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }


def step_bucket(num_tokens: int, num_seqs: int, decode_only: bool) -> tuple[int, int]:
    """(tokens, sequence slots) of the compiled step that holds such a step.

    A decode-only step has one token per sequence, so its tokens bucket is its slots bucket,
    from one: a single sequence decodes as one matmul row, not 4 or 16. At small batches every
    row costs its share of the weights' traffic in the kernels that stream them per row
    (int8 weights: 1.62x over bfloat16 at one row, against 1.50x at four), and the two extra
    decode programs (1 and 2 slots) compile quickly.
    """
    if decode_only:
        slots = bucket(num_seqs, 1)
        return max(slots, bucket(num_tokens, 1)), slots
    slots = bucket(num_seqs, MIN_SEQS)
    slots = 1 << (2 * (slots.bit_length() // 2))  # powers of four: fewer, larger programs
    return bucket(num_tokens, MIN_TOKENS), slots


def is_decode_only(chunks: Sequence[SequenceChunk]) -> bool:
    return all(len(c.token_ids) == 1 for c in chunks)


def pack_step(
    chunks: Sequence[SequenceChunk],
    page_size: int,
    pages_per_seq: int,
    *,
    all_logits: bool = False,
    mrope: bool = False,
    embed_width: int | None = None,
) -> PackedStep:
    """Flattens the chunks into one padded step.

    Args:
        chunks: one per sequence, in the order their outputs are wanted.
        page_size: tokens per KV page.
        pages_per_seq: width of the page table (pages for `max_model_len`).
        all_logits: logits for every token (prompt logits) rather than each chunk's last.
        mrope: the model takes 3-D positions (`SequenceChunk.mrope_positions`).
        embed_width: a vision-language model's embedding width E: every step carries image
            embeddings f32[T, E] (zeros where it has none), so one program per bucket serves
            steps with and without images. None: only steps with images carry them.
    """
    lens = [len(c.token_ids) for c in chunks]
    num_tokens, num_slots = step_bucket(sum(lens), len(chunks), is_decode_only(chunks))
    if any(-(-c.end // page_size) > pages_per_seq for c in chunks):
        raise ValueError(f"a sequence needs more than pages_per_seq={pages_per_seq} pages")

    token_ids = np.zeros(num_tokens, np.int32)
    positions = np.zeros((3, num_tokens) if mrope else num_tokens, np.int32)
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
        if mrope and chunk.mrope_positions is not None:
            positions[:, cursor : cursor + n] = chunk.mrope_positions
        else:
            positions[..., cursor : cursor + n] = pos
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
        *_pack_embeds(chunks, num_tokens, cu_q_lens, embed_width),
    )


def _pack_embeds(
    chunks: Sequence[SequenceChunk],
    num_tokens: int,
    cu_q_lens: np.ndarray,
    width: int | None,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The step's image embeddings f32[T, E] and mask i32[T]; (None, None) if it has none
    and `width` is None."""
    placed = [
        (int(cu_q_lens[s]) + first, rows)
        for s, chunk in enumerate(chunks)
        for first, rows in chunk.embeds
    ]
    if not placed and width is None:
        return None, None
    width = width if width is not None else placed[0][1].shape[1]
    embeds = np.zeros((num_tokens, width), np.float32)
    mask = np.zeros(num_tokens, np.int32)
    for row, rows in placed:
        embeds[row : row + len(rows)] = rows
        mask[row : row + len(rows)] = 1
    return embeds, mask


def pad_rows(rows: dict[str, np.ndarray], num_slots: int) -> dict[str, np.ndarray]:
    """Per-sequence arrays (one row per chunk) padded to the step's `num_slots` sequence slots.

    Padding rows repeat the first row (a valid row of every field); their draws are discarded.
    """
    out = {}
    for name, values in rows.items():
        index = np.zeros(num_slots, np.intp)
        index[: len(values)] = np.arange(len(values))
        out[name] = values[index]
    return out


def pack_prompt_targets(chunks: Sequence[SequenceChunk], num_tokens: int, vocab: int) -> np.ndarray:
    """i32[T]: each token row's `prompt_targets` entry, `vocab` where it has none."""
    targets = np.full(num_tokens, vocab, np.int32)
    row = 0
    for chunk in chunks:
        targets[row : row + len(chunk.prompt_targets)] = chunk.prompt_targets
        row += len(chunk.token_ids)
    return targets


def pack_padding(
    num_tokens: int,
    num_slots: int,
    pages_per_seq: int,
    page_size: int,
    *,
    mrope: bool = False,
    embed_width: int | None = None,
) -> PackedStep:
    """A step of the given bucket that holds only padding (to compile that bucket ahead)."""
    embeds, mask = _pack_embeds([], num_tokens, np.zeros(1, np.int32), embed_width)
    return PackedStep(
        token_ids=np.zeros(num_tokens, np.int32),
        positions=np.zeros((3, num_tokens) if mrope else num_tokens, np.int32),
        slot_mapping=np.full(num_tokens, NULL_PAGE * page_size, np.int32),
        cu_q_lens=np.zeros(num_slots + 1, np.int32),
        kv_lens=np.zeros(num_slots, np.int32),
        page_indices=np.full((num_slots, pages_per_seq), NULL_PAGE, np.int32),
        num_seqs=np.zeros(1, np.int32),
        logits_indices=np.zeros(num_slots, np.int32),
        mm_embeds=embeds,
        mm_mask=mask,
    )


def warmup_buckets(max_num_seqs: int, max_num_batched_tokens: int) -> list[tuple[int, int, bool]]:
    """Every (tokens, sequence slots, decode only) bucket the scheduler's limits can produce."""
    max_tokens = bucket(max_num_batched_tokens, MIN_TOKENS)
    shapes = set()
    for seqs in range(1, max_num_seqs + 1):
        shapes.add((*step_bucket(seqs, seqs, True), True))
        for tokens in _powers(MIN_TOKENS, max_tokens):
            if seqs < tokens:  # a step with a chunk has more tokens than sequences
                shapes.add((*step_bucket(tokens, seqs, False), False))
    return sorted(shapes)


def _powers(low: int, high: int) -> list[int]:
    out = []
    while low <= high:
        out.append(low)
        low *= 2
    return out
