"""Timer: fires `tick` every `value` seconds while active; the server drives the ticks."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

from webui.component import Component
from webui.events import Dependency, add_dependency


class Timer(Component):
    """Runs its `.tick` events every `value` seconds while `active`.

    A session starts a tick event once (the browser on page load, or a client's `submit`); the
    server then calls the event's fn each interval and streams every result over that event's
    SSE messages. Returning `Timer(active=False)` (or an update) to a Timer output stops its
    ticks for that session, and a new `value` changes their interval.
    """

    block_type = "timer"
    python_type = "float"
    example: ClassVar[Any] = 1

    def __init__(
        self,
        value: float = 1,
        *,
        active: bool = True,
        render: bool = True,
    ):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"Timer value is its interval in seconds, got {value!r}")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"Timer interval must be a positive number of seconds, got {value}")
        self.active = active
        super().__init__(value, render=render)

    def api_info(self) -> dict[str, Any]:
        return {"type": "number"}

    def own_props(self) -> dict[str, Any]:
        return {"active": self.active}

    def tick(
        self,
        fn: Callable[..., Any] | None = None,
        inputs: Any = None,
        outputs: Any = None,
        **options: Any,
    ) -> Dependency:
        """Call `fn(*inputs)` every tick and stream each result to `outputs`."""
        if self.root is None:
            raise RuntimeError("Timer.tick() needs the Timer rendered inside a Blocks")
        return add_dependency(
            self.root, [(self.id, "tick")], fn, inputs, outputs, timer=self, **options
        )
