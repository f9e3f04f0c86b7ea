"""The engine's host logic against a scripted runner: scheduling, stopping, pages."""

from __future__ import annotations

import numpy as np
import pytest

from jaxserve.engine.engine import Engine
from jaxserve.engine.sampling_rows import SampledTokens
from jaxserve.sampling_params import SamplingParams


class ScriptedRunner:
    """Next token = (last token + 1) % vocab; records every step's chunks."""

    def __init__(self, num_pages=32, page_size=4):
        self.num_pages, self.page_size = num_pages, page_size
        self.steps = []
        self.sampling = []

    def execute(self, chunks, sampling, mode):
        self.steps.append(list(chunks))
        self.sampling.append(sampling)
        n = len(chunks)
        tokens = np.array([(c.token_ids[-1] + 1) % 50 for c in chunks], np.int32)
        zeros = np.zeros((n, 0))
        prompt = ()
        if mode.prompt_logprobs is not None:  # zero logprobs for every token row
            t = sum(len(c.token_ids) for c in chunks)
            prompt = (
                np.zeros(t),
                np.ones(t, np.int32),
                np.zeros((t, 1), np.int32),
                np.zeros((t, 1)),
            )
        return SampledTokens(tokens, np.zeros(n), np.ones(n, np.int32), zeros, zeros, *prompt)

    def usable(self):
        return True


def make_engine(runner=None, **kwargs):
    options = dict(
        vocab_size=50,
        max_model_len=40,
        max_num_seqs=8,
        max_num_batched_tokens=16,
        eos_token_ids=[2],
    )
    options.update(kwargs)
    return Engine(runner or ScriptedRunner(), **options)


def run(engine):
    while engine.has_unfinished():
        engine.step()


GREEDY = SamplingParams(temperature=0, max_tokens=5)


def test_generates_until_max_tokens_and_frees_pages():
    engine = make_engine()
    request = engine.add_request([10, 11, 12], GREEDY)
    run(engine)
    assert request.output_token_ids == [13, 14, 15, 16, 17]
    assert request.finish_reason == "length"
    assert engine.blocks.num_free_blocks == engine.blocks.capacity


def test_eos_and_stop_token_ids():
    engine = make_engine()
    eos = engine.add_request([48], SamplingParams(temperature=0, max_tokens=10))
    ignored = engine.add_request([48], SamplingParams(temperature=0, max_tokens=5, ignore_eos=True))
    stop = engine.add_request([5], SamplingParams(temperature=0, max_tokens=10, stop_token_ids=[8]))
    run(engine)
    assert eos.output_token_ids == [49, 0, 1, 2] and eos.finish_reason == "stop"
    assert eos.stop_reason is None
    assert ignored.output_token_ids == [49, 0, 1, 2, 3]
    assert stop.output_token_ids == [6, 7, 8] and stop.stop_reason == 8


def test_long_prompts_are_chunked_within_the_budget():
    runner = ScriptedRunner()
    engine = make_engine(runner, max_num_batched_tokens=8)
    prompt = list(range(3, 23))  # 20 tokens: chunks of 8, 8, 4
    request = engine.add_request(prompt, GREEDY)
    run(engine)
    assert [sum(len(c.token_ids) for c in step) for step in runner.steps[:3]] == [8, 8, 4]
    assert [c.start for step in runner.steps[:3] for c in step] == [0, 8, 16]
    assert request.output_token_ids == [23, 24, 25, 26, 27]
    assert all(sum(len(c.token_ids) for c in step) <= 8 for step in runner.steps)


def test_running_requests_decode_beside_a_new_prefill():
    runner = ScriptedRunner()
    engine = make_engine(runner, max_num_seqs=2)
    first = engine.add_request([1, 2, 3], GREEDY)
    engine.step()
    second = engine.add_request([20, 21], GREEDY)
    third = engine.add_request([30], GREEDY)  # waits: max_num_seqs=2
    engine.step()
    assert [(len(c.token_ids), c.start) for c in runner.steps[1]] == [(1, 3), (2, 0)]
    run(engine)
    assert third.output_token_ids == [31, 32, 33, 34, 35]
    assert first.finished and second.finished


def test_requests_wait_for_pages():
    runner = ScriptedRunner(num_pages=5, page_size=4)  # 4 usable pages
    engine = make_engine(runner, enable_prefix_caching=False)
    a = engine.add_request([10] * 13, SamplingParams(temperature=0, max_tokens=3))  # 4 pages
    b = engine.add_request([10] * 2, GREEDY)
    engine.step()
    assert engine.scheduler.running == [a] and list(engine.scheduler.waiting) == [b]
    run(engine)
    assert a.finished and b.finished
    assert engine.blocks.num_free_blocks == 4


@pytest.mark.parametrize(
    ("prompt", "params", "message"),
    [
        ([], GREEDY, "prompt is empty"),
        ([1, 99], GREEDY, r"outside the vocabulary \[0, 50\)"),
        (list(range(40)), GREEDY, "40 tokens, but max_model_len is 40"),
        ([1], SamplingParams(temperature=0, n=2), "n > 1"),
    ],
)
def test_bad_requests_are_refused_without_side_effects(prompt, params, message):
    engine = make_engine()
    with pytest.raises(ValueError, match=message):
        engine.add_request(prompt, params)
    assert not engine.has_unfinished()


def test_budget_smaller_than_a_page_is_refused():
    with pytest.raises(ValueError, match=r"max_num_batched_tokens \(2\) must be at least the page"):
        make_engine(max_num_batched_tokens=2)


def test_abort_frees_pages_at_any_point():
    engine = make_engine()
    waiting = engine.add_request([10, 11], GREEDY)
    running = engine.add_request([20, 21, 22, 23, 24], GREEDY)
    engine.scheduler.max_num_seqs = 1
    engine.step()
    assert engine.abort(waiting.request_id) is waiting and waiting.finish_reason == "abort"
    assert engine.abort(running.request_id) is running and running.finish_reason == "abort"
    assert engine.abort("unknown") is None
    assert not engine.has_unfinished()
    assert engine.blocks.num_free_blocks == engine.blocks.capacity


def test_request_larger_than_the_cache_is_refused():
    engine = make_engine(ScriptedRunner(num_pages=3, page_size=4))
    with pytest.raises(ValueError, match="needs 4 KV pages but the cache holds 2"):
        engine.add_request([1] * 10, GREEDY)


def test_max_tokens_is_capped_by_max_model_len():
    engine = make_engine(max_model_len=12)
    request = engine.add_request([5] * 8, SamplingParams(temperature=0, max_tokens=None))
    run(engine)
    assert len(request.output_token_ids) == 4 and request.finish_reason == "length"


def test_the_runner_gets_one_sampling_row_per_chunk_and_pads_the_step_itself():
    runner = ScriptedRunner()
    engine = make_engine(runner)
    for prompt in ([10, 11], [20, 21, 22]):
        engine.add_request(prompt, GREEDY)
    engine.step()
    assert len(runner.steps[0]) == 2
    assert all(len(values) == 2 for values in runner.sampling[0].values())


def test_chunks_carry_the_prompt_tokens_they_predict_for_prompt_logprobs():
    runner = ScriptedRunner()
    engine = make_engine(runner, max_num_batched_tokens=4)
    engine.add_request([10, 11, 12, 13, 14, 15], SamplingParams(max_tokens=1, prompt_logprobs=1))
    engine.add_request([20, 21], GREEDY)
    run(engine)
    first, last, other = runner.steps[0][0], runner.steps[1][0], runner.steps[1][1]
    assert list(first.token_ids) == [10, 11, 12, 13]
    assert list(first.prompt_targets) == [11, 12, 13, 14]
    assert list(last.token_ids) == [14, 15] and list(last.prompt_targets) == [15]
    assert list(other.token_ids) == [20, 21] and list(other.prompt_targets) == []
