"""ChatCSVLogger: one CSV row per reaction, formulas escaped, set up before use."""

from __future__ import annotations

import csv
import json

import pytest

from webui.chat_flagging import ChatCSVLogger
from webui.event_data import LikeData


def test_reactions_are_appended_with_the_conversation(tmp_path) -> None:
    logger = ChatCSVLogger()
    with pytest.raises(RuntimeError, match="before setup"):
        logger.flag(LikeData(None, {"index": 0, "liked": True}), [])
    logger.setup(tmp_path / "flags")
    messages = [{"role": "assistant", "content": "=SUM(A1)"}]
    logger.flag(LikeData(None, {"index": 0, "liked": False}), messages)
    logger.flag(LikeData(None, {"index": 0, "liked": "=cmd"}), messages)
    with open(tmp_path / "flags" / "log.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["conversation", "index", "flag", "timestamp"]
    assert json.loads(rows[1][0]) == messages and rows[1][1:3] == ["0", "Dislike"]
    assert rows[2][2] == "'=cmd"  # a spreadsheet shows it as text
