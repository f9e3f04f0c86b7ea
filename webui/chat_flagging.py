"""ChatInterface(flagging_mode="manual"): a reaction to a message is logged to `log.csv`.

The Chatbot offers `flagging_options` under each reply ("Like"/"Dislike" as thumbs); choosing
one runs the `/flag` event, which appends the conversation (as JSON), the message's index, the
reaction and the time to `flagging_dir/log.csv`, formulas escaped as in `webui.flagging`.
"""

from __future__ import annotations

import csv
import datetime
import json
import threading
from pathlib import Path
from typing import Any

from webui.event_data import LikeData
from webui.flagging import sanitize_for_csv

LOG_FILE = "log.csv"
HEADER = ["conversation", "index", "flag", "timestamp"]


class ChatCSVLogger:
    """Appends flagged chat messages to `flagging_dir/log.csv`."""

    def __init__(self) -> None:
        self.flagging_dir: Path | None = None
        self._lock = threading.Lock()  # rows from concurrent events never interleave

    def setup(self, flagging_dir: str | Path) -> None:
        self.flagging_dir = Path(flagging_dir)
        self.flagging_dir.mkdir(parents=True, exist_ok=True)

    def flag(self, like_data: LikeData, messages: list[Any]) -> None:
        """Logs one reaction: `like_data.liked` True is "Like", False "Dislike", text itself."""
        if self.flagging_dir is None:
            raise RuntimeError("ChatCSVLogger.flag() before setup()")
        liked = like_data.liked
        reaction = "Like" if liked is True else "Dislike" if liked is False else str(liked)
        row = [json.dumps(messages), like_data.index, reaction, str(datetime.datetime.now())]
        log = self.flagging_dir / LOG_FILE
        with self._lock:
            is_new = not log.exists()
            with open(log, "a", encoding="utf-8", newline="") as f:
                writer = csv.writer(f)
                if is_new:
                    writer.writerow(HEADER)
                writer.writerow([sanitize_for_csv(value) for value in row])
