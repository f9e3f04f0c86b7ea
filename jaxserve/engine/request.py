"""`Request`: one prompt's progress through the engine."""

from __future__ import annotations

import dataclasses

from jaxserve.outputs import FinishReason
from jaxserve.sampling_params import SamplingParams


@dataclasses.dataclass(eq=False)
class Request:
    request_id: str
    prompt_token_ids: list[int]
    params: SamplingParams
    max_tokens: int  # resolved: never past max_model_len
    eos_token_ids: frozenset[int]
    prompt: str | None = None
    output_token_ids: list[int] = dataclasses.field(default_factory=list)
    num_computed_tokens: int = 0  # tokens whose K/V are in the cache
    page_table: list[int] = dataclasses.field(default_factory=list)
    finish_reason: FinishReason | None = None
    stop_reason: int | str | None = None

    @property
    def all_token_ids(self) -> list[int]:
        return self.prompt_token_ids + self.output_token_ids

    @property
    def num_tokens(self) -> int:
        return len(self.prompt_token_ids) + len(self.output_token_ids)

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None

    def append_token(self, token: int) -> None:
        """Records a generated token and decides whether the request is done."""
        self.output_token_ids.append(token)
        produced = len(self.output_token_ids)
        if produced >= self.params.min_tokens:
            if token in self.params.stop_token_ids:
                self.finish_reason, self.stop_reason = "stop", token
                return
            if not self.params.ignore_eos and token in self.eos_token_ids:
                self.finish_reason = "stop"
                return
        if produced >= self.max_tokens:
            self.finish_reason = "length"
