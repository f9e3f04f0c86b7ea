"""Packing a step into padded, bucketed arrays."""

from __future__ import annotations

import numpy as np
import pytest

from jaxserve.engine.packing import (
    NULL_PAGE,
    SequenceChunk,
    bucket,
    pack_padding,
    pack_prompt_targets,
    pack_step,
    pad_rows,
    step_bucket,
    warmup_buckets,
)


@pytest.mark.parametrize(
    ("n", "floor", "expected"), [(1, 16, 16), (16, 16, 16), (17, 16, 32), (100, 4, 128), (3, 4, 4)]
)
def test_bucket(n, floor, expected):
    assert bucket(n, floor) == expected


def test_packs_a_mixed_batch():
    page_size = 4
    chunks = [
        SequenceChunk([11, 12, 13, 14, 15, 16], 0, [7, 3]),  # prefill of 6 tokens
        SequenceChunk([21], 9, [2, 5, 9, 1]),  # decode at position 9
        SequenceChunk([31, 32], 4, [6, 8, 4]),  # chunk of a prompt at positions 4, 5
    ]
    packed = pack_step(chunks, page_size, pages_per_seq=5)
    assert packed.token_ids.shape == (16,)
    assert packed.cu_q_lens.shape == (5,) and packed.kv_lens.shape == (4,)
    assert packed.page_indices.shape == (4, 5)
    np.testing.assert_array_equal(packed.token_ids[:9], [11, 12, 13, 14, 15, 16, 21, 31, 32])
    np.testing.assert_array_equal(packed.positions[:9], [0, 1, 2, 3, 4, 5, 9, 4, 5])
    np.testing.assert_array_equal(
        packed.slot_mapping[:9], [28, 29, 30, 31, 12, 13, 9 * 4 + 1, 8 * 4, 8 * 4 + 1]
    )
    assert np.all(packed.slot_mapping[9:] // page_size == NULL_PAGE)
    np.testing.assert_array_equal(packed.cu_q_lens, [0, 6, 7, 9, 9])
    np.testing.assert_array_equal(packed.kv_lens, [6, 10, 6, 0])
    np.testing.assert_array_equal(packed.page_indices[0], [7, 3, 0, 0, 0])
    np.testing.assert_array_equal(packed.page_indices[1], [2, 5, 9, 0, 0])  # page 1 unused yet
    np.testing.assert_array_equal(packed.num_seqs, [3])
    np.testing.assert_array_equal(packed.logits_indices, [5, 6, 8, 0])


def test_all_logits_covers_every_token():
    packed = pack_step([SequenceChunk([1, 2, 3], 0, [1])], 8, 4, all_logits=True)
    np.testing.assert_array_equal(packed.logits_indices, np.arange(16))


def test_padding_step_has_the_requested_bucket():
    packed = pack_padding(32, 8, 4, 16)
    assert packed.token_ids.shape == (32,) and packed.page_indices.shape == (8, 4)
    assert packed.num_seqs[0] == 0 and np.all(packed.slot_mapping // 16 == NULL_PAGE)


def test_a_sequence_longer_than_the_table_is_refused():
    with pytest.raises(ValueError, match="pages_per_seq=2"):
        pack_step([SequenceChunk(list(range(9)), 0, [1, 2, 3])], 4, pages_per_seq=2)


@pytest.mark.parametrize(
    ("tokens", "seqs", "decode", "expected"),
    [
        (3, 3, True, (4, 4)),
        (1, 1, True, (1, 1)),  # one sequence decodes as one row
        (2, 2, True, (2, 2)),
        (6, 6, True, (8, 8)),
        (40, 40, True, (64, 64)),
        (20, 5, False, (32, 16)),
        (300, 33, False, (512, 64)),
        (17, 3, False, (32, 4)),
    ],
)
def test_step_bucket(tokens, seqs, decode, expected):
    assert step_bucket(tokens, seqs, decode) == expected


def test_warmup_buckets_cover_every_step_the_limits_allow():
    shapes = set(warmup_buckets(max_num_seqs=64, max_num_batched_tokens=512))
    for seqs in range(1, 65):
        assert (*step_bucket(seqs, seqs, True), True) in shapes
        for tokens in range(seqs + 1, 513):
            assert (*step_bucket(tokens, seqs, False), False) in shapes
    decode = {(t, s) for t, s, is_decode in shapes if is_decode}
    assert decode == {(1, 1), (2, 2), (4, 4), (8, 8), (16, 16), (32, 32), (64, 64)}
    assert all(s in (4, 16, 64) for _, s, is_decode in shapes if not is_decode)


def test_sampling_rows_are_padded_to_the_step_slots_by_repeating_the_first():
    rows = {"temperature": np.array([0.5, 0.0], np.float32), "ids": np.array([[1, 2], [3, 4]])}
    padded = pad_rows(rows, 4)
    np.testing.assert_array_equal(padded["temperature"], [0.5, 0.0, 0.5, 0.5])
    np.testing.assert_array_equal(padded["ids"], [[1, 2], [3, 4], [1, 2], [1, 2]])


def test_prompt_targets_fill_each_chunk_rows_and_the_rest_is_none():
    vocab = 99
    chunks = [
        SequenceChunk([11, 12, 13], 0, [1], prompt_targets=[12, 13, 14]),  # mid-prompt chunk
        SequenceChunk([21], 5, [2]),  # a decode row that wants none
        SequenceChunk([31, 32], 0, [3], prompt_targets=[32]),  # the prompt's last token: none
    ]
    targets = pack_prompt_targets(chunks, 8, vocab)
    np.testing.assert_array_equal(targets, [12, 13, 14, vocab, 32, vocab, vocab, vocab])
