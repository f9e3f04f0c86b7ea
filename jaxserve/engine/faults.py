"""Fault injection into engine steps, for soak tests: `JAXSERVE_FAULT_INJECTION=RATE[:SEED]`.

Each step raises `InjectedFault` with probability RATE (drawn from a generator seeded with
SEED, 0 by default) before the model runs, after the scheduler has given the step its pages,
which is where a real fault in the runner would leave things. The engine must then fail only
that step's requests (see `Engine.step`). Off unless the variable is set; never for serving.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Mapping, Sequence

from jaxserve.engine.request import Request

ENV = "JAXSERVE_FAULT_INJECTION"
logger = logging.getLogger(__name__)


class InjectedFault(RuntimeError):
    """The fault a test asked for; its message says so, so clients can tell it apart."""


class RandomFaults:
    """A step hook that fails steps at random with probability `rate`."""

    def __init__(self, rate: float, seed: int = 0):
        if not 0 <= rate <= 1:
            raise ValueError(f"the fault rate must be in [0, 1], got {rate}")
        self.rate = rate
        self._random = random.Random(seed)
        self.injected = 0

    def __call__(self, requests: Sequence[Request]) -> None:
        if self._random.random() < self.rate:
            self.injected += 1
            raise InjectedFault(
                f"injected fault #{self.injected} ({ENV}) in a step of {len(requests)} sequence(s)"
            )


def from_environment(environ: Mapping[str, str] = os.environ) -> RandomFaults | None:
    """The hook `JAXSERVE_FAULT_INJECTION` asks for, or None when it is unset or empty.

    Raises:
        ValueError: the value is not `RATE` or `RATE:SEED` (a float in [0, 1], an int).
    """
    value = environ.get(ENV, "").strip()
    if not value:
        return None
    rate, _, seed = value.partition(":")
    try:
        hook = RandomFaults(float(rate), int(seed or 0))
    except ValueError as e:
        raise ValueError(f"{ENV}={value!r}: expected RATE[:SEED], e.g. 0.01:7 ({e})") from None
    logger.warning("%s=%s: engine steps fail at random (a test setting)", ENV, value)
    return hook
