"""Flagging: a Flag button that saves an Interface's inputs and outputs for later review.

`CSVLogger` is Gradio's default: rows go to `flagging_dir/dataset1.csv` (a new `datasetN.csv`
when the columns change), one column per component (its label), then `flag` when a flagging
option was chosen, then `timestamp`. Files in flagged values are copied into
`flagging_dir/<label>/` after the app's path policy accepted them, and the row names the copy.
Cells that a spreadsheet would run as a formula are escaped, as in Gradio.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import json
import logging
import re
import shutil
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from webui.components import Button
from webui.files import FILE_DATA_TYPE, safe_filename

if TYPE_CHECKING:
    from webui.component import Component

logger = logging.getLogger(__name__)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FLAGGING_MODES = ("never", "manual", "auto")


class FlaggingCallback(ABC):
    """What a Flag button calls: `setup` once when the app is built, `flag` for each flag."""

    @abstractmethod
    def setup(self, components: Sequence[Component], flagging_dir: str | Path) -> None: ...

    @abstractmethod
    def flag(
        self, flag_data: list[Any], flag_option: str | None = None, username: str | None = None
    ) -> int:
        """Save one sample (a payload per component); returns how many are saved in all."""


def sanitize_for_csv(value: Any) -> Any:
    """A cell a spreadsheet shows as text: formulas get a leading quote (CSV injection)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        value = str(value)
        if value.startswith(FORMULA_STARTS):
            return "'" + value
    return value


class CSVLogger(FlaggingCallback):
    """Gradio's default flagging callback: one CSV row per flag, files copied beside it."""

    def __init__(self, *, dataset_file_name: str | None = None, verbose: bool = True):
        self.dataset_file_name = dataset_file_name
        self.verbose = verbose
        self._lock = threading.Lock()
        self.components: list[Component] = []
        self.flagging_dir = Path(".gradio/flagged")
        self.dataset_filepath: Path | None = None

    def setup(self, components: Sequence[Component], flagging_dir: str | Path) -> None:
        self.components = list(components)
        self.flagging_dir = Path(flagging_dir)
        self.dataset_filepath = None  # chosen at the first flag, when the columns are known

    def _labels(self) -> list[str]:
        return [c.label or f"component {i}" for i, c in enumerate(self.components)]

    def _dataset_file(self, headers: list[Any]) -> Path:
        self.flagging_dir.mkdir(parents=True, exist_ok=True)
        if self.dataset_file_name:
            path = self.flagging_dir / self.dataset_file_name
        else:
            numbered = {
                int(m.group(1)): p
                for p in self.flagging_dir.glob("dataset*.csv")
                if (m := re.fullmatch(r"dataset(\d+)", p.stem))
            }
            if not numbered:
                path = self.flagging_dir / "dataset1.csv"
            else:
                latest = max(numbered)
                with open(numbered[latest], newline="", encoding="utf-8") as f:
                    same = next(csv.reader(f), None) == [str(h) for h in headers]
                path = numbered[latest] if same else self.flagging_dir / f"dataset{latest + 1}.csv"
        if not path.exists():
            with open(path, "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerow(headers)
            if self.verbose:
                logger.info("created the flagging dataset file %s", path)
        return path

    def flag(
        self, flag_data: list[Any], flag_option: str | None = None, username: str | None = None
    ) -> int:
        labels = self._labels()
        cells = [
            "" if sample is None else _cell(sample, self.flagging_dir / safe_filename(label))
            for label, sample in zip(labels, flag_data, strict=False)
        ]
        extra = [("flag", flag_option), ("username", username)]
        headers = labels + [name for name, value in extra if value is not None] + ["timestamp"]
        cells += [value for _, value in extra if value is not None]
        cells.append(str(datetime.datetime.now()))
        with self._lock:
            if self.dataset_filepath is None:
                sanitized = [sanitize_for_csv(h) for h in headers]
                self.dataset_filepath = self._dataset_file(sanitized)
            with open(self.dataset_filepath, "a", newline="", encoding="utf-8") as f:
                csv.writer(f).writerow([sanitize_for_csv(c) for c in cells])
            with open(self.dataset_filepath, newline="", encoding="utf-8") as f:
                return sum(1 for _ in csv.reader(f)) - 1


class SimpleCSVLogger(FlaggingCallback):
    """Gradio's minimal logger: rows without a header in `flagging_dir/log.csv`, files copied
    into `flagging_dir/<label>/` as CSVLogger copies them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.components: list[Component] = []
        self.flagging_dir = Path(".gradio/flagged")

    def setup(self, components: Sequence[Component], flagging_dir: str | Path) -> None:
        self.components = list(components)
        self.flagging_dir = Path(flagging_dir)

    def flag(
        self, flag_data: list[Any], flag_option: str | None = None, username: str | None = None
    ) -> int:
        cells = []
        for i, (component, sample) in enumerate(zip(self.components, flag_data, strict=False)):
            label = safe_filename(component.label or f"component {i}")
            cells.append("" if sample is None else _cell(sample, self.flagging_dir / label))
        with self._lock:
            self.flagging_dir.mkdir(parents=True, exist_ok=True)
            log = self.flagging_dir / "log.csv"
            with open(log, "a", newline="", encoding="utf-8") as f:
                csv.writer(f).writerow([sanitize_for_csv(c) for c in cells])
            with open(log, newline="", encoding="utf-8") as f:
                return sum(1 for _ in csv.reader(f))


def _cell(sample: Any, save_dir: Path) -> Any:
    """A payload as one CSV cell: text as it is, files as the path of their copy, other values
    as JSON."""
    if isinstance(sample, str | int | float):
        return sample
    copied = _copy_files(sample, save_dir)
    return copied if isinstance(copied, str) else json.dumps(copied)


def _copy_files(value: Any, save_dir: Path) -> Any:
    """`value` with every FileData replaced by the path of its copy under `save_dir`.

    The paths were checked by the app's policy before the flag event ran (every input payload
    is), so only uploaded, cached or allowed files are ever copied.
    """
    if isinstance(value, dict):
        meta = value.get("meta")
        if isinstance(meta, dict) and meta.get("_type") == FILE_DATA_TYPE:
            source = Path(value["path"])
            digest = hashlib.sha256(source.read_bytes()).hexdigest()[:20]
            target = save_dir / digest / safe_filename(value.get("orig_name") or source.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                shutil.copyfile(source, target)
            return str(target)
        return {k: _copy_files(v, save_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_files(v, save_dir) for v in value]
    return value


class FlagMethod:
    """The Flag button's function: saves its raw payloads with `flagging_callback`.

    With `visual_feedback` (a Flag button, not auto flagging) it answers the button's next
    state, as Gradio's: its label again after a pause the user can see, or "Error!".
    """

    FEEDBACK_SECONDS = 0.8  # Gradio's: long enough to see the button say "Saving..."

    def __init__(
        self,
        callback: FlaggingCallback,
        label: str,
        value: str | None,
        visual_feedback: bool = True,
    ):
        self.callback, self.label, self.value = callback, label, value
        self.visual_feedback = visual_feedback
        self.__name__ = "Flag"

    def __call__(self, *flag_data: Any) -> Any:
        try:
            self.callback.flag(list(flag_data), flag_option=self.value)
        except Exception:
            if not self.visual_feedback:
                raise
            logger.exception("flagging failed")
            return "Error!"
        if not self.visual_feedback:
            return None
        time.sleep(self.FEEDBACK_SECONDS)
        return self.reset()

    def reset(self) -> Any:
        """The Flag button as it was: its label, clickable."""
        return Button(value=self.label, interactive=True, render=False)


def flagging_options(options: Any) -> list[tuple[str, str | None]]:
    """Gradio's forms: None (one "Flag" button), ["X", ...] ("Flag as X"), or (label, value)."""
    if options is None:
        return [("Flag", None)]
    if not isinstance(options, list) or not options:
        raise ValueError("flagging_options must be a list of strings or of (label, value) pairs")
    if all(isinstance(x, str) for x in options):
        return [(f"Flag as {x}", x) for x in options]
    if all(isinstance(x, tuple) and len(x) == 2 and all(isinstance(y, str) for y in x)
           for x in options):  # fmt: skip
        return list(options)
    raise ValueError("flagging_options must be a list of strings or of (label, value) pairs")
