"""The events a `gr.render` run declares belong to one session: the capture that collects them.

Low in webui's layers so that the root and `dependency` can ask "is a render running?" without
importing `webui.render`, which builds layouts and events on top of them.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from webui.dependency import Dependency


@dataclass(eq=False)
class RenderCapture:
    """The events one run of a render function declares, numbered for its session."""

    ids: itertools.count
    render_id: int
    dependencies: list[Dependency] = field(default_factory=list)

    def add(self, dependency: Dependency) -> Dependency:
        dependency.id = next(self.ids)
        if dependency.concurrency_id == str(id(dependency.fn)):
            # Each run makes new fns (lambdas): key their concurrency group by place instead,
            # or the queue would keep one semaphore per render forever.
            dependency.concurrency_id = f"render{self.render_id}:{len(self.dependencies)}"
        self.dependencies.append(dependency)
        return dependency


_capture: ContextVar[RenderCapture | None] = ContextVar("webui_render_capture", default=None)


def current_capture() -> RenderCapture | None:
    """The render being run on this thread, if any: its events belong to one session."""
    return _capture.get()


@contextlib.contextmanager
def capturing(capture: RenderCapture) -> Iterator[RenderCapture]:
    """Collect the events declared inside the block into `capture`."""
    token = _capture.set(capture)
    try:
        yield capture
    finally:
        _capture.reset(token)
