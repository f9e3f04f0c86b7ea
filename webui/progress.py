"""Messages an event function sends while it runs: `Progress` bars and `Info`/`Warning` toasts.

The queue sets a `Reporter` for the event in a ContextVar before calling the function, and runs
sync code in a copy of that context, so `Progress()` and `Info()` find their event from any
depth of the call without being passed it. Messages go out on the event's SSE stream as
`{"msg": "progress", ...}` and `{"msg": "log", ...}`, which gradio_client reports in
`job.status()`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")
TQDM_INTERVAL_S = 0.1  # progress.tqdm sends at most this often, and always its last step


@dataclass(eq=False)
class Reporter:
    """Sends messages for one running event, from the event loop or any worker thread."""

    event_id: str
    sink: asyncio.Queue[dict[str, Any]]
    loop: asyncio.AbstractEventLoop

    def send(self, message: dict[str, Any]) -> None:
        message = {"event_id": self.event_id, **message}
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:  # a worker thread
            running = None
        if running is self.loop:
            self.sink.put_nowait(message)
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.sink.put_nowait, message)


current_reporter: ContextVar[Reporter | None] = ContextVar("webui_reporter", default=None)


class Progress:
    """A progress bar for the running event; declare it as a default: `progress=Progress()`.

    One instance serves any number of concurrent events: each call reports to the event that
    is running in the caller's context.
    """

    def __init__(self, track_tqdm: bool = False):
        if track_tqdm:
            logger.warning("Progress(track_tqdm=True) is not supported; use progress.tqdm()")
        self.track_tqdm = track_tqdm

    def __call__(
        self,
        progress: float | tuple[int, int | None] | None,
        desc: str | None = None,
        total: int | None = None,
        unit: str = "steps",
    ) -> float | tuple[int, int | None] | None:
        """Show `progress` (a fraction in [0, 1], or (done, total) steps) with `desc`."""
        if isinstance(progress, tuple):
            index, length = progress
            self._send(index=index, length=length, unit=unit, progress=None, desc=desc)
        else:
            if progress is not None and not 0 <= progress <= 1:
                raise ValueError(f"progress must be a fraction between 0 and 1, got {progress}")
            self._send(index=None, length=total, unit=unit, progress=progress, desc=desc)
        return progress

    def tqdm(
        self,
        iterable: Iterable[T],
        desc: str | None = None,
        total: int | None = None,
        unit: str = "steps",
    ) -> Iterator[T]:
        """Yield from `iterable`, reporting (done, total) steps as it goes."""
        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        last_sent = 0.0
        index = 0
        self._send(index=0, length=total, unit=unit, progress=None, desc=desc)
        for index, item in enumerate(iterable, start=1):
            yield item
            now = time.monotonic()
            if now - last_sent >= TQDM_INTERVAL_S:
                last_sent = now
                self._send(index=index, length=total, unit=unit, progress=None, desc=desc)
        self._send(index=index, length=total, unit=unit, progress=None, desc=desc)

    @staticmethod
    def _send(**unit: Any) -> None:
        reporter = current_reporter.get()
        if reporter is not None:
            reporter.send({"msg": "progress", "progress_data": [unit]})


def _log(level: str, message: str, duration: float | None, visible: bool, title: str) -> None:
    reporter = current_reporter.get()
    if reporter is None:
        logger.log(logging.WARNING if level == "warning" else logging.INFO, "%s", message)
        return
    reporter.send(
        {
            "msg": "log",
            "log": message,
            "level": level,
            "duration": duration,
            "visible": visible,
            "title": title,
        }
    )


def Info(
    message: str = "Info issued.",
    duration: float | None = 10,
    visible: bool = True,
    title: str = "",
) -> None:
    """Show `message` to the user of the running event as an info toast."""
    _log("info", message, duration, visible, title or "Info")


def Warning(
    message: str = "Warning issued.",
    duration: float | None = 10,
    visible: bool = True,
    title: str = "",
) -> None:
    """Show `message` to the user of the running event as a warning toast."""
    _log("warning", message, duration, visible, title or "Warning")


def Success(
    message: str = "Success.", duration: float | None = 10, visible: bool = True, title: str = ""
) -> None:
    """Show `message` to the user of the running event as a success toast."""
    _log("success", message, duration, visible, title or "Success")
