"""A step that raises fails its own requests only; the engine, its pages and its cache go on."""

from __future__ import annotations

import pytest

from jaxserve.engine import faults
from jaxserve.engine.engine import EngineUnusable, StepFailed
from tests.jaxserve.engine.test_engine import GREEDY, ScriptedRunner, make_engine, run


class FailOnce:
    """A step hook that raises in the first step holding `victim`'s request."""

    def __init__(self, victim_prompt: list[int]):
        self.victim_prompt = victim_prompt
        self.fired = 0

    def __call__(self, requests):
        if not self.fired and any(r.prompt_token_ids == self.victim_prompt for r in requests):
            self.fired += 1
            raise RuntimeError("boom")


def test_failed_step_fails_only_its_requests_and_frees_their_pages():
    engine = make_engine()
    engine.scheduler.max_num_seqs = 1  # one request a step: the victim's step holds it alone
    before = engine.add_request([10, 11, 12], GREEDY)
    victim = engine.add_request([30, 31], GREEDY)
    after = engine.add_request([20, 21], GREEDY)
    engine.step_hook = FailOnce([30, 31])
    failures = []
    while engine.has_unfinished():
        try:
            engine.step()
        except StepFailed as e:
            failures.append(e)
    assert len(failures) == 1 and failures[0].requests == [victim]
    assert "RuntimeError: boom" in str(failures[0])
    assert victim.finish_reason == "error" and victim.output_token_ids == []
    assert before.output_token_ids == [13, 14, 15, 16, 17]
    assert after.output_token_ids == [22, 23, 24, 25, 26]
    assert engine.blocks.num_free_blocks == engine.blocks.capacity


def test_every_request_in_the_failed_step_ends_and_the_next_steps_run():
    engine = make_engine()
    running = [engine.add_request([5 + i, 6 + i], GREEDY) for i in range(3)]
    engine.step()  # all three prefill together
    engine.step_hook = FailOnce([5, 6])
    with pytest.raises(StepFailed) as e:
        engine.step()
    assert set(e.value.requests) == set(running)
    assert all(r.finish_reason == "error" for r in running)
    assert not engine.has_unfinished()
    assert engine.blocks.num_free_blocks == engine.blocks.capacity
    fresh = engine.add_request([40, 41], GREEDY)
    run(engine)
    assert fresh.output_token_ids == [42, 43, 44, 45, 46]


def test_pages_of_a_failed_step_leave_the_prefix_cache():
    prompt = list(range(10, 19))  # 9 tokens: two full pages of 4, then one more
    engine = make_engine()
    victim = engine.add_request(prompt, GREEDY)
    engine.step_hook = FailOnce(prompt)
    with pytest.raises(StepFailed):
        engine.step()
    assert victim.finish_reason == "error"
    retry = engine.add_request(prompt, GREEDY)
    run(engine)
    # The victim's pages were given a hash before the model ran; their contents are unknown.
    assert retry.num_cached_tokens == 0
    assert retry.output_token_ids == [19, 20, 21, 22, 23]
    again = engine.add_request(prompt, GREEDY)  # the retry's pages were computed: a hit
    run(engine)
    assert again.num_cached_tokens == 8


class BrokenRunner(ScriptedRunner):
    """Raises in its `fail_at`-th call; `lost_cache` says whether that took the KV cache."""

    def __init__(self, fail_at: int, *, lost_cache: bool):
        super().__init__()
        self.fail_at, self.lost_cache, self.calls = fail_at, lost_cache, 0

    def execute(self, chunks, sampling, mode):
        self.calls += 1
        if self.calls == self.fail_at:
            raise MemoryError("out of host memory")
        return super().execute(chunks, sampling, mode)

    def usable(self):
        return not (self.lost_cache and self.calls >= self.fail_at)


def test_fault_inside_the_runner_is_a_failed_step():
    engine = make_engine(BrokenRunner(2, lost_cache=False))
    first = engine.add_request([1, 3], GREEDY)
    engine.step()
    with pytest.raises(StepFailed, match="MemoryError: out of host memory"):
        engine.step()
    assert first.finish_reason == "error"
    second = engine.add_request([1, 3], GREEDY)
    run(engine)
    assert second.output_token_ids == [4, 5, 6, 7, 8]


def test_fault_that_takes_the_kv_cache_makes_the_engine_unusable():
    engine = make_engine(BrokenRunner(1, lost_cache=True))
    request = engine.add_request([1, 3], GREEDY)
    with pytest.raises(EngineUnusable, match="lost its KV cache"):
        engine.step()
    assert request.finish_reason == "error"
    assert engine.blocks.num_free_blocks == engine.blocks.capacity


def test_random_faults_from_the_environment():
    assert faults.from_environment({}) is None
    assert faults.from_environment({faults.ENV: " "}) is None
    always = faults.from_environment({faults.ENV: "1:3"})
    assert always is not None
    with pytest.raises(faults.InjectedFault, match="injected fault #1"):
        always([])
    never = faults.from_environment({faults.ENV: "0"})
    assert never is not None
    never([])
    half = faults.RandomFaults(0.5, seed=11)
    outcomes = []
    for _ in range(200):
        try:
            half([])
            outcomes.append(False)
        except faults.InjectedFault:
            outcomes.append(True)
    assert 60 < sum(outcomes) < 140 and half.injected == sum(outcomes)
    for bad in ("x", "0.5:y", "1.5"):
        with pytest.raises(ValueError, match="JAXSERVE_FAULT_INJECTION"):
            faults.from_environment({faults.ENV: bad})
