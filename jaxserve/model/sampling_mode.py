"""`SamplingMode`: the static part of a step's sampling work (plain Python, no jax).

The host decides it from the scheduled requests; the jitted step takes it as a static
argument, so each distinct mode compiles once.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class SamplingMode:
    greedy_only: bool = True
    penalties: bool = False
    logit_bias: bool = False
    token_mask: bool = False  # some row may draw only the tokens its mask allows
    candidates: int = 0  # 0: draw from the whole vocabulary unfiltered; else top candidates kept
    logprobs: bool = False  # some row wants its sampled token's logprob and rank
    num_logprobs: int = 0  # top logprobs returned per row (0: only the sampled token's)
    prompt_logprobs: int | None = None  # top logprobs per prompt token; None: not computed

    @property
    def uses_sampling_rows(self) -> bool:
        """Whether the draw reads the per-row sampling arrays (a plain greedy step does not)."""
        return not self.greedy_only or self.penalties or self.logit_bias or self.token_mask
