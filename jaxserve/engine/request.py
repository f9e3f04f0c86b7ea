"""`Request`: one sequence's progress through the engine, and its lifecycle states.

    WAITING ──schedule──▶ RUNNING ──finish──▶ FINISHED_{STOPPED,LENGTH}
       ▲                     │
       └──── PREEMPTED ◀─────┘ (pages freed; resumes by recompute)

Any unfinished state can move to FINISHED_ABORTED or FINISHED_ERROR. Finished is final.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from typing import TYPE_CHECKING

import numpy as np

from jaxserve.engine.detokenizer import IncrementalDetokenizer
from jaxserve.multimodal.inputs import MultiModalInput
from jaxserve.outputs import FinishReason, Logprob
from jaxserve.sampling_params import SamplingParams

if TYPE_CHECKING:
    from llguidance import LLMatcher


class RequestStatus(enum.Enum):
    WAITING = "waiting"
    RUNNING = "running"
    PREEMPTED = "preempted"
    FINISHED_STOPPED = "finished_stopped"
    FINISHED_LENGTH = "finished_length"
    FINISHED_ABORTED = "finished_aborted"
    FINISHED_ERROR = "finished_error"

    @property
    def finished(self) -> bool:
        return self in FINISH_REASONS


FINISH_REASONS: dict[RequestStatus, FinishReason] = {
    RequestStatus.FINISHED_STOPPED: "stop",
    RequestStatus.FINISHED_LENGTH: "length",
    RequestStatus.FINISHED_ABORTED: "abort",
    RequestStatus.FINISHED_ERROR: "error",
}

_ENDINGS = frozenset(FINISH_REASONS)
LEGAL_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.WAITING: frozenset({RequestStatus.RUNNING}) | _ENDINGS,
    RequestStatus.RUNNING: frozenset({RequestStatus.PREEMPTED}) | _ENDINGS,
    RequestStatus.PREEMPTED: frozenset({RequestStatus.RUNNING}) | _ENDINGS,
    **{s: frozenset() for s in _ENDINGS},
}


class IllegalTransition(RuntimeError):
    """An engine bug: a request was moved along an edge the lifecycle does not have."""


@dataclasses.dataclass(eq=False)
class Request:
    request_id: str
    prompt_token_ids: list[int]
    params: SamplingParams
    max_tokens: int  # resolved: never past max_model_len
    eos_token_ids: frozenset[int]
    prompt: str | None = None
    cache_salt: str | None = None
    priority: int = 0  # lower runs first under the priority policy
    seed: int = 0  # of this request's random draws
    arrival_time: float = dataclasses.field(default_factory=time.monotonic)
    first_token_time: float | None = None
    finish_time: float | None = None
    status: RequestStatus = RequestStatus.WAITING
    output_token_ids: list[int] = dataclasses.field(default_factory=list)
    num_computed_tokens: int = 0  # tokens whose K/V are in the cache
    num_cached_tokens: int = 0  # prompt tokens found in the prefix cache at admission
    num_preemptions: int = 0
    block_hashes: list[bytes] = dataclasses.field(default_factory=list)  # of its full blocks
    logprobs: list[dict[int, Logprob]] = dataclasses.field(default_factory=list)
    prompt_logprobs: list[dict[int, Logprob] | None] = dataclasses.field(default_factory=list)
    detokenizer: IncrementalDetokenizer | None = None
    bad_word_ids: list[list[int]] = dataclasses.field(default_factory=list)  # tokenized
    grammar: LLMatcher | None = None  # its structured output's matcher, past the output so far
    grammar_done: bool = False  # the grammar admits no further token: the output is complete
    allowed_mask: np.ndarray | None = None  # i32[ceil(V / 32)] of params.allowed_token_ids
    cumulative_logprob: float = 0.0
    stop_reason: int | str | None = None
    # Images: each one's features and the prompt tokens its embeddings replace, in order.
    mm_inputs: tuple[MultiModalInput, ...] = ()
    # M-RoPE models: the prompt's positions i32[3, prompt tokens]; the token at index i past
    # the prompt has position i + mrope_delta on all three axes.
    mrope_positions: np.ndarray | None = None
    mrope_delta: int = 0

    @property
    def all_token_ids(self) -> list[int]:
        return self.prompt_token_ids + self.output_token_ids

    @property
    def num_tokens(self) -> int:
        return len(self.prompt_token_ids) + len(self.output_token_ids)

    @property
    def num_prompt_tokens(self) -> int:
        return len(self.prompt_token_ids)

    @property
    def finished(self) -> bool:
        return self.status.finished

    @property
    def text(self) -> str:
        return self.detokenizer.text if self.detokenizer is not None else ""

    @property
    def finish_reason(self) -> FinishReason | None:
        return FINISH_REASONS.get(self.status)

    def move_to(self, status: RequestStatus) -> None:
        if status not in LEGAL_TRANSITIONS[self.status]:
            raise IllegalTransition(
                f"request {self.request_id}: {self.status.value} -> {status.value} is not allowed"
            )
        self.status = status
        if status.finished:
            self.finish_time = time.monotonic()

    def append_token(self, token: int) -> None:
        if self.first_token_time is None:
            self.first_token_time = time.monotonic()
        self.output_token_ids.append(token)

    def check_stop(self, stop_string: str | None = None) -> None:
        """Finishes the request if its last token (or the text it completed) says so."""
        token = self.output_token_ids[-1]
        produced = len(self.output_token_ids)
        if produced >= self.params.min_tokens:
            if stop_string is not None:
                self.stop_reason = stop_string
                self.move_to(RequestStatus.FINISHED_STOPPED)
                return
            if token in self.params.stop_ids:
                self.stop_reason = token
                self.move_to(RequestStatus.FINISHED_STOPPED)
                return
            if not self.params.ignore_eos and token in self.eos_token_ids:
                self.move_to(RequestStatus.FINISHED_STOPPED)
                return
        if self.grammar_done:  # nothing could follow, whatever min_tokens asks
            self.move_to(RequestStatus.FINISHED_STOPPED)
            return
        if produced >= self.max_tokens:
            self.move_to(RequestStatus.FINISHED_LENGTH)
