"""The end of a session: `Blocks.unload` events, State `delete_callback`s, per-session caches,
and the `Blocks(delete_cache=)` sweep of old files.

A page, like gradio_client, holds `GET /gradio_api/heartbeat/{session_hash}` open while it
lives. When the last such stream of a session closes, the app's unload events run for that
session at once and its per-session `gr.cache` entries go, as in Gradio. The session's State
values are kept `closed_ttl_s` longer (an hour, as Gradio keeps them for a page that comes
back); then, unless a heartbeat came back, each goes to its State's `delete_callback` and the
session is forgotten. A session the queue drops for age or room (`EventQueue.session_state`)
has its values passed to the callbacks the same way (`delete_state_values`).

Everything here runs on the server's event loop: the heartbeat handler calls `opened` and
`closed`, and the delays are `loop.call_later` timers; the callbacks, which may block, run on
the app's executor.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from webui.caching import end_session

if TYPE_CHECKING:
    from webui.processing import SessionState, Trigger
    from webui.queue import EventQueue
    from webui.root import Root

logger = logging.getLogger(__name__)
CLOSED_TTL_S = 3600.0  # Gradio's STATE_TTL_WHEN_CLOSED


def delete_state_values(blocks: Root, state: SessionState) -> None:
    """Pass each State value of a session that is going away to its `delete_callback`."""
    for block_id, value in list(state.values.items()):
        callback = getattr(blocks.blocks.get(block_id), "delete_callback", None)
        if callback is None:
            continue
        try:
            callback(value)
        except Exception:  # one failing callback must not keep the others from running
            logger.exception("the delete_callback of State %s failed", block_id)
    state.values.clear()


class SessionEnds:
    """Tracks each session's open heartbeats and ends the session when they are gone."""

    def __init__(self, blocks: Root, queue: EventQueue, *, closed_ttl_s: float = CLOSED_TTL_S):
        self.blocks = blocks
        self.queue = queue
        self.closed_ttl_s = closed_ttl_s
        self.open: Counter[str] = Counter()
        self._forget_timers: dict[str, asyncio.TimerHandle] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def opened(self, session_hash: str) -> None:
        """A heartbeat of the session connected: it lives (again)."""
        self.open[session_hash] += 1
        timer = self._forget_timers.pop(session_hash, None)
        if timer is not None:
            timer.cancel()
        self.start_sweeping()

    def closed(self, session_hash: str, trigger: Trigger) -> None:
        """A heartbeat of the session went away; with the last one, the session ends."""
        self.open[session_hash] -= 1
        if self.open[session_hash] > 0:
            return
        del self.open[session_hash]
        for dependency in self.blocks.dependencies:
            if (self.blocks.id, "unload") in dependency.targets:
                self.queue.join(dependency, [], session_hash, sink=asyncio.Queue(), trigger=trigger)
        end_session(session_hash)  # per-session cache entries go at once, as in Gradio
        loop = asyncio.get_running_loop()
        self._forget_timers[session_hash] = loop.call_later(
            self.closed_ttl_s, self.forget, session_hash
        )

    def forget(self, session_hash: str) -> None:
        """Drop the session: its State values go to their callbacks."""
        self._forget_timers.pop(session_hash, None)
        state = self.queue.states.pop(session_hash, None)
        if state is not None and state.values:
            asyncio.get_running_loop().run_in_executor(
                self.blocks.executor, delete_state_values, self.blocks, state
            )

    def start_sweeping(self) -> None:
        """Start the `delete_cache` sweep on this loop, once (a no-op without delete_cache)."""
        if self.blocks.delete_cache is None or self._sweeper is not None:
            return
        frequency, age = self.blocks.delete_cache
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep(frequency, age))

    async def _sweep(self, frequency: float, age: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(frequency)
            removed = await loop.run_in_executor(self.blocks.executor, self.delete_old_files, age)
            logger.debug("delete_cache removed %d files older than %ss", removed, age)

    def delete_old_files(self, age: float) -> int:
        """Remove the app's uploaded and cached files last changed more than `age` s ago."""
        files = self.blocks.files
        cutoff = time.time() - age
        removed = 0
        for folder in (files.upload_dir, files.cache_dir):
            for path in sorted(folder.rglob("*"), reverse=True):  # files before their folders
                removed += _remove_if_older(path, cutoff)
        return removed

    def stop(self) -> None:
        """Cancel the timers and the sweep (the server stops)."""
        for timer in self._forget_timers.values():
            timer.cancel()
        self._forget_timers.clear()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None


def _remove_if_older(path: Path, cutoff: float) -> int:
    try:
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink()
            return 1
        if path.is_dir() and not any(path.iterdir()):
            os.rmdir(path)
    except OSError:  # gone meanwhile, or in use: the next sweep tries again
        pass
    return 0
