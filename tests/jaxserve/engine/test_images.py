"""Images in the engine, against a scripted runner and a counting encoder: the encoder cache
(pinned while needed, LRU after, off), the scheduler's encoder budget per step, image
embeddings and M-RoPE positions handed to the right token rows, and prefix-cache keys that
take the images' hashes."""

from __future__ import annotations

import numpy as np
import pytest

from jaxserve.engine.encoder_cache import EncoderCache
from jaxserve.multimodal.inputs import ImageFeatures, MultiModalInput, PlaceholderRange
from jaxserve.sampling_params import SamplingParams
from tests.jaxserve.engine.test_engine import ScriptedRunner, make_engine, run

IMAGE = 49  # the image token of these tests
WIDTH = 3  # embedding width


class CountingEncoder:
    """Embeddings whose every row says which image and row it is; records each call."""

    def __init__(self):
        self.calls: list[list[str]] = []

    def __call__(self, features):
        self.calls.append([f.content_hash for f in features])
        return [
            np.stack([np.full(WIDTH, hash(f.content_hash) % 1000 + i, np.float32)
                      for i in range(f.num_tokens)])
            for f in features
        ]  # fmt: skip

    @property
    def encoded(self) -> list[str]:
        return [h for call in self.calls for h in call]


def features(name: str, num_tokens: int) -> ImageFeatures:
    return ImageFeatures(np.zeros(1, np.float32), (), num_tokens, name)


def prompt_with(*parts: list[int] | tuple[str, int]):
    """Token ids and images: lists are text tokens, (name, size) an image's placeholder run."""
    ids, inputs = [], []
    for part in parts:
        if isinstance(part, tuple):
            name, size = part
            inputs.append(MultiModalInput(features(name, size), PlaceholderRange(len(ids), size)))
            ids += [IMAGE] * size
        else:
            ids += part
    return ids, inputs


def vlm_engine(encoder, **kwargs):
    options = dict(
        image_token_id=IMAGE, encode_images=encoder, max_model_len=80, max_num_batched_tokens=16
    )
    return make_engine(ScriptedRunner(num_pages=64), **{**options, **kwargs})


GREEDY = SamplingParams(temperature=0, max_tokens=3)


def test_the_cache_keeps_pinned_entries_and_evicts_the_least_recently_used():
    cache = EncoderCache(10)
    cache.pin("a", "r1")
    cache.put("a", np.zeros((6, 2)))
    cache.put("b", np.zeros((3, 2)))  # unpinned: kept while there is room
    assert "b" in cache and cache.num_tokens == 9
    assert not cache.can_fit(5) and cache.can_fit(4)  # pinned "a" stays; "b" could go
    cache.put("c", np.zeros((3, 2)))  # 12 > 10: evicts "b", the oldest unpinned
    assert "b" not in cache and "a" in cache and "c" in cache
    cache.unpin("a", "r1")
    cache.get("a")  # just used: "c" is now the oldest
    cache.put("d", np.zeros((4, 2)))
    assert "c" not in cache and {"a", "d"} <= {h for h in ("a", "d") if h in cache}
    assert (cache.queries, cache.hits, cache.encoded_images) == (1, 0, 4)


def test_the_cache_off_drops_entries_once_unpinned():
    cache = EncoderCache(100, keep_unpinned=False)
    cache.pin("a", "r1")
    cache.pin("a", "r2")
    cache.put("a", np.zeros((4, 2)))
    cache.unpin("a", "r1")
    assert "a" in cache  # r2 still needs it
    cache.unpin("a", "r2")
    assert "a" not in cache and cache.num_tokens == 0


def test_each_token_row_gets_its_images_rows_across_chunks():
    encoder = CountingEncoder()
    engine = vlm_engine(encoder, max_num_batched_tokens=8)
    ids, inputs = prompt_with([1, 5, 6], ("cat", 10), [7, 8])
    engine.add_request(ids, GREEDY, mm_inputs=inputs)
    run(engine)
    assert encoder.encoded == ["cat"]  # once, though three chunks reach it
    rows = encoder([features("cat", 10)])[0]
    placed = []
    for step in engine.runner.steps:
        for chunk in step:
            for first, block in chunk.embeds:
                start = chunk.start + first
                placed.append((start, block))
                assert all(chunk.token_ids[first + i] == IMAGE for i in range(len(block)))
    assert [s for s, _ in placed] == [3, 8]  # split where the 8-token chunks cut the image
    np.testing.assert_array_equal(np.concatenate([b for _, b in placed]), rows)


def test_a_repeated_image_is_encoded_once_and_the_cache_off_encodes_it_again():
    for enabled, expected in ((True, ["cat"]), (False, ["cat", "cat"])):
        encoder = CountingEncoder()
        engine = vlm_engine(encoder, enable_encoder_cache=enabled)
        for lead in ([1, 2], [3, 4]):  # other text first: no prefix-cache hit on the image
            ids, inputs = prompt_with(lead, ("cat", 6), [9])
            engine.add_request(ids, GREEDY, mm_inputs=inputs)
            run(engine)
        assert encoder.encoded == expected
        assert engine.encoder_cache.hits == (1 if enabled else 0)


def test_the_encoder_budget_spreads_images_over_steps_while_others_decode():
    encoder = CountingEncoder()
    engine = vlm_engine(encoder, max_num_encoder_tokens=8, max_num_batched_tokens=64)
    chat = engine.add_request([1, 2, 3], SamplingParams(temperature=0, max_tokens=6))
    engine.step()  # the chat is decoding
    ids, inputs = prompt_with([1], ("a", 6), [2], ("b", 6), [3], ("c", 6), [4])
    engine.add_request(ids, GREEDY, mm_inputs=inputs)
    decoded_per_step = []
    while engine.has_unfinished():
        before = len(chat.output_token_ids)
        engine.step()
        decoded_per_step.append(len(chat.output_token_ids) - before)
    assert encoder.calls[:3] == [["a"], ["b"], ["c"]]  # 6 + 6 > 8: one image a step
    assert decoded_per_step[:3] == [1, 1, 1]  # the chat never waited


def test_an_image_larger_than_the_budget_still_goes_alone():
    encoder = CountingEncoder()
    engine = vlm_engine(encoder, max_num_encoder_tokens=4)
    ids, inputs = prompt_with([1], ("big", 12), [2])
    engine.add_request(ids, GREEDY, mm_inputs=inputs)
    run(engine)
    assert encoder.calls == [["big"]]


def test_an_image_waits_for_room_in_the_cache():
    encoder = CountingEncoder()
    engine = vlm_engine(encoder, encoder_cache_tokens=8, max_num_batched_tokens=64)
    first = prompt_with([1], ("a", 6), [2])
    second = prompt_with([3], ("b", 6), [4])
    for ids, inputs in (first, second):
        engine.add_request(ids, GREEDY, mm_inputs=inputs)
    engine.step()
    # "a" is pinned until its tokens are computed: "b" has no room, so the second prompt
    # ran only up to its image.
    assert encoder.calls == [["a"]]
    run(engine)
    assert encoder.encoded == ["a", "b"]


def test_an_image_larger_than_the_cache_is_refused():
    engine = vlm_engine(CountingEncoder(), encoder_cache_tokens=8)
    ids, inputs = prompt_with([1], ("huge", 9), [2])
    with pytest.raises(ValueError, match="larger than the encoder cache"):
        engine.add_request(ids, GREEDY, mm_inputs=inputs)


@pytest.mark.parametrize(
    ("ids", "inputs", "says"),
    [
        ([1, IMAGE, IMAGE, 2], [], "holds 2 image tokens, but its images fill 0"),
        ([1, IMAGE, 2], [MultiModalInput(features("a", 2), PlaceholderRange(1, 2))], "2"),
        ([1, 5, 6, 2], [MultiModalInput(features("a", 2), PlaceholderRange(1, 2))], "holds 0"),
    ],
)
def test_misplaced_images_are_refused(ids, inputs, says):
    engine = vlm_engine(CountingEncoder())
    with pytest.raises(ValueError, match=says):
        engine.add_request(ids, GREEDY, mm_inputs=inputs)


def test_a_text_engine_refuses_images():
    engine = make_engine()
    ids, inputs = prompt_with([1], ("a", 2))
    with pytest.raises(ValueError, match="takes no images"):
        engine.add_request(ids, GREEDY, mm_inputs=inputs)


def test_prefix_cache_keys_take_the_images():
    encoder = CountingEncoder()
    engine = vlm_engine(encoder)  # pages of 4 tokens
    text = [1, 2, 3, 4, 5, 6, 7, 8]  # two whole pages before the image
    for name in ("cat", "dog", "cat"):
        ids, inputs = prompt_with(text, (name, 8), [9, 10])
        request = engine.add_request(ids, GREEDY, mm_inputs=inputs)
        run(engine)
        cached = request.num_cached_tokens
    assert cached == 16  # the third prompt reuses the first's pages, image included
    ids, inputs = prompt_with(text, ("dog", 8), [9, 10])
    engine.add_request(ids, GREEDY, mm_inputs=inputs)
    hits_before = engine.blocks.prefix_hits
    engine.step()
    assert engine.blocks.prefix_hits - hits_before == 16  # the latest "dog" pages: hit
    ids, inputs = prompt_with(text, ("fox", 8), [9, 10])
    request = engine.add_request(ids, GREEDY, mm_inputs=inputs)
    run(engine)
    assert request.num_cached_tokens == 8  # only the text pages before the new image


def test_mrope_positions_follow_the_prompt_then_step_on_by_the_delta():
    engine = vlm_engine(CountingEncoder(), mrope=True)
    ids, inputs = prompt_with([1, 2], ("cat", 4), [3])
    positions = np.array([[0, 1, 2, 2, 2, 2, 4], [0, 1, 2, 2, 3, 3, 4], [0, 1, 2, 3, 2, 3, 4]])
    engine.add_request(ids, GREEDY, mm_inputs=inputs, mrope_positions=positions, mrope_delta=-2)
    run(engine)
    chunks = [c for step in engine.runner.steps for c in step]
    np.testing.assert_array_equal(chunks[0].mrope_positions, positions)
    assert [c.mrope_positions[:, 0].tolist() for c in chunks[1:]] == [[5, 5, 5], [6, 6, 6]]
