"""DateTime: a date (and time) entered as text, passed to `fn` as a timestamp, a datetime or
the text, as Gradio's gr.DateTime. Time zones come from the standard library's zoneinfo."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from webui.components.base import Component
from webui.errors import Error
from webui.events import Changeable, Submittable

_NOW = re.compile(r"^(?:\s*now\s*(?:-\s*(\d+)\s*([dmhs]))?)?\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


class DateTime(Changeable, Submittable, Component):
    block_type = "datetime"
    python_type = "str"
    example: ClassVar[Any] = "2020-10-01 05:20:15"
    _TYPES = ("timestamp", "datetime", "string")

    def __init__(
        self,
        value: float | str | datetime | None = None,
        *,
        include_time: bool = True,
        type: str = "timestamp",
        timezone: str | None = None,
        info: str | None = None,
        **kwargs: Any,
    ):
        if type not in self._TYPES:
            raise ValueError(f"DateTime type must be one of {self._TYPES}, got {type!r}")
        self.zone = None
        if timezone is not None:
            try:
                self.zone = ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"DateTime timezone {timezone!r} is no IANA time zone") from None
        self.type = type
        self.include_time = include_time
        self.timezone = timezone
        self.info = info
        self.time_format = "%Y-%m-%d %H:%M:%S" if include_time else "%Y-%m-%d"
        super().__init__(value, **kwargs)

    def parse(self, text: str) -> datetime:
        """A datetime from the text the browser sends: the format, "now" or "now - 5m"."""
        if "now" in text:
            match = _NOW.match(text)
            if match is None:
                raise Error(f"DateTime cannot read {text!r}; use 'now' or 'now - 5m' (d h m s)")
            delta = timedelta(**{_UNITS[match.group(2) or "s"]: int(match.group(1) or 0)})
            return datetime.now() - delta
        try:
            parsed = datetime.strptime(text, self.time_format)
        except ValueError:
            raise Error(f"DateTime expects {self.time_format}, got {text!r}") from None
        return parsed.replace(tzinfo=self.zone) if self.zone else parsed

    def preprocess(self, payload: Any) -> str | float | datetime | None:
        if payload is None or str(payload).strip() == "":
            return None
        payload = str(payload)
        if self.type == "string" and "now" not in payload:
            return payload
        parsed = self.parse(payload)
        if self.type == "string":
            return parsed.strftime(self.time_format)
        return parsed if self.type == "datetime" else parsed.timestamp()

    def postprocess(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.strftime(self.time_format)
        if isinstance(value, str):
            return value
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, tz=self.zone).strftime(self.time_format)
        raise Error(f"DateTime shows a datetime, a timestamp or text, not {type(value).__name__}")

    def api_info(self) -> dict[str, Any]:
        time = " HH:MM:SS" if self.include_time else ""
        return {"type": "string", "description": f"Formatted as YYYY-MM-DD{time}"}

    def own_props(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            "include_time": self.include_time,
            "type": self.type,
            "timezone": self.timezone,
        }
        if self.info is not None:
            props["info"] = self.info
        return props
