"""What fn may ask for besides its inputs: the event's data (`gr.SelectData`...) and the request.

As in Gradio, a positional parameter of fn annotated with `EventData` (or a subclass) receives
the event's `event_data` from the queue join body, and one annotated `Request` receives the
HTTP request that started the event; they are inserted at their position among the inputs.
"""

from __future__ import annotations

import contextlib
import inspect
import typing
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from webui.tree import Block


class EventData:
    """The event that triggered fn: `target` is the block that fired it; other fields of the
    browser's `event_data` are attributes (`evt.key`, ...), as Gradio's `__getattr__` gives."""

    def __init__(self, target: Block | None, data: Any):
        self.target = target
        self._data = data if isinstance(data, dict) else {}

    def __getattr__(self, name: str) -> Any:
        # Gradio reads any field of event_data this way; only called for missing attributes.
        data = self.__dict__.get("_data", {})
        if name in data:
            return data[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")


class SelectData(EventData):
    """`.select()`: `index` (a [row, col] pair in a Dataframe), `value`, `selected`, and for a
    Dataframe the whole `row_value` and `col_value`."""

    def __init__(self, target: Block | None, data: Any):
        super().__init__(target, data)
        self.index: Any = self._data.get("index")
        self.value: Any = self._data.get("value")
        self.row_value: Any = self._data.get("row_value")
        self.col_value: Any = self._data.get("col_value")
        self.selected: bool = self._data.get("selected", True)


class KeyUpData(EventData):
    """`.key_up()`: the `key` pressed and the box's `input_value`."""

    def __init__(self, target: Block | None, data: Any):
        super().__init__(target, data)
        self.key: str | None = self._data.get("key")
        self.input_value: str | None = self._data.get("input_value")


class LikeData(EventData):
    """`Chatbot.like()`: the message `index` and `value`, and `liked` (True, False or text)."""

    def __init__(self, target: Block | None, data: Any):
        super().__init__(target, data)
        self.index: Any = self._data.get("index")
        self.value: Any = self._data.get("value")
        self.liked: bool | str = self._data.get("liked", True)


class RetryData(EventData):
    """`Chatbot.retry()`: the `index` and `value` of the message to retry."""

    def __init__(self, target: Block | None, data: Any):
        super().__init__(target, data)
        self.index: Any = self._data.get("index")
        self.value: Any = self._data.get("value")


class UndoData(RetryData):
    """`Chatbot.undo()`: the `index` and `value` of the message undone."""


class EditData(EventData):
    """`Chatbot.edit()`: the message `index`, its `previous_value` and new `value`."""

    def __init__(self, target: Block | None, data: Any):
        super().__init__(target, data)
        self.index: Any = self._data.get("index")
        self.previous_value: Any = self._data.get("previous_value")
        self.value: Any = self._data.get("value")


class CopyData(EventData):
    """`.copy()`: the `value` copied."""

    def __init__(self, target: Block | None, data: Any):
        super().__init__(target, data)
        self.value: Any = self._data.get("value")


@dataclass(frozen=True, kw_only=True)
class EventFile:
    """A file named by an event's data (Gradio's FileData fields, read as attributes)."""

    path: str | None
    url: str | None = None
    orig_name: str | None = None
    size: int | None = None
    mime_type: str | None = None


class DeletedFileData(EventData):
    """`.delete()`: the `file` removed (`file.path`, `file.orig_name`, ...), from the page's
    `{"file": FileData}`. Its path is one the browser names, so it goes through the app's path
    policy first, as every FileData of an input does (a refused path fails the event)."""

    def __init__(self, target: Block | None, data: Any):
        super().__init__(target, data)
        sent = self._data.get("file")
        sent = sent if isinstance(sent, dict) else {}
        path = sent.get("path")
        root = getattr(target, "root", None)
        if path is not None and root is not None:
            path = str(root.files.check(path))
        size = sent.get("size")
        self.file = EventFile(
            path=path,
            url=sent.get("url") if isinstance(sent.get("url"), str) else None,
            orig_name=sent.get("orig_name") if isinstance(sent.get("orig_name"), str) else None,
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            mime_type=sent.get("mime_type") if isinstance(sent.get("mime_type"), str) else None,
        )


class DownloadData(DeletedFileData):
    """`.download()`: the `file` downloaded."""


@dataclass(frozen=True, kw_only=True)
class Client:
    host: str | None
    port: int | None


@dataclass(frozen=True, kw_only=True)
class Request:
    """The HTTP request that started an event (Gradio's `gr.Request`), a snapshot taken when
    the event joined: `headers` (any-case names), `client.host`, `query_params`, `cookies`,
    `session_hash`, and `username` when the app has a login."""

    headers: Mapping[str, str] = field(default_factory=dict)
    client: Client = field(default_factory=lambda: Client(host=None, port=None))
    query_params: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    path_params: Mapping[str, str] = field(default_factory=dict)
    url: str = ""
    session_hash: str | None = None
    username: str | None = None


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # an annotation naming something not importable: none counts
        return {}


def _special_class(hint: Any) -> type | None:
    """EventData (or a subclass) or Request when `hint` names one, `X | None` included."""
    candidates = typing.get_args(hint) if typing.get_origin(hint) is not None else (hint,)
    for candidate in candidates:
        if inspect.isclass(candidate) and issubclass(candidate, EventData | Request):
            return candidate
    return None


def special_parameters(fn: Callable[..., Any] | None) -> dict[int, type]:
    """Positions of fn's positional parameters that take EventData or Request, by class.

    Read once per function (signature and type hints cost more than the rest of an event's
    bookkeeping); the returned dict is shared, so callers must not change it."""
    if fn is None:
        return {}
    try:
        return _SPECIAL_BY_FN[fn]
    except (KeyError, TypeError):  # TypeError: fn cannot be weakly referenced or hashed
        pass
    found = _special_parameters(fn)
    with contextlib.suppress(TypeError):
        _SPECIAL_BY_FN[fn] = found
    return found


# Held weakly, so a gr.render function's per-session fns go with their events.
_SPECIAL_BY_FN: weakref.WeakKeyDictionary[Callable[..., Any], dict[int, type]] = (
    weakref.WeakKeyDictionary()
)


def _special_parameters(fn: Callable[..., Any]) -> dict[int, type]:
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return {}
    hints = _hints(fn)
    found: dict[int, type] = {}
    for index, parameter in enumerate(parameters):
        if parameter.kind not in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            break
        special = _special_class(hints.get(parameter.name))
        if special is not None:
            found[index] = special
    return found


def collects_event_data(fn: Callable[..., Any] | None) -> bool:
    """Whether the page must send `event_data` for this fn (Gradio's config flag)."""
    return any(issubclass(cls, EventData) for cls in special_parameters(fn).values())


def insert_special(
    fn: Callable[..., Any] | None,
    args: list[Any],
    *,
    target: Block | None,
    event_data: Any,
    request: Request | None,
) -> list[Any]:
    """`args` with the EventData and Request fn asks for inserted at their positions."""
    special = special_parameters(fn)
    args = list(args)
    if not special:
        return args
    for index, cls in sorted(special.items()):
        value = request if cls is Request else cls(target, event_data)
        args.insert(min(index, len(args)), value)
    return args
