"""A Chatbot's messages between what apps write and the wire form.

Apps write `{"role", "content"}` dicts or `ChatMessage`s whose content is text, a file
(`{"path": ...}`), a component, or a list of these. On the wire, and as `fn` receives a
Chatbot's value, every message is Gradio 6's normalised form
`{"role", "metadata", "content": [part, ...], "options"}` where a part is
`{"type": "text", "text"}`, `{"type": "file", "file": FileData, "alt_text"}` or
`{"type": "component", "component", "value", "constructor_args", "props"}`.
"""

from __future__ import annotations

import inspect
import mimetypes
import os
from typing import TYPE_CHECKING, Any

from webui.components.chat_message import ChatMessage
from webui.components.filedata import input_path, output_file_data
from webui.errors import Error
from webui.files import FILE_DATA_TYPE

if TYPE_CHECKING:
    from webui.components.base import Component

ROLES = ("user", "assistant", "system")
Message = dict[str, Any]


def as_message_dict(message: Any) -> Message:
    """A message as a dict with `role` and `content`; ChatMessage fields are shared, not copied."""
    if isinstance(message, ChatMessage):
        return message.as_dict()
    if not isinstance(message, dict) or "role" not in message or "content" not in message:
        raise Error(
            "Data incompatible with messages format: each message should be a dictionary with "
            f"'role' and 'content' keys or a ChatMessage object, got {message!r}"
        )
    return message


def wire_metadata(metadata: Any) -> dict[str, Any] | None:
    """Metadata with Gradio's keys checked (a duration as a float, a known status). Other keys
    are kept, unlike Gradio's, which drops them: apps keep their own notes there (jaxserve's
    playground keeps a reply's footer) and no Gradio app depends on the dropping."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise Error(f"a chat message's metadata is a dict, got {metadata!r}")
    kept = dict(metadata)
    duration = kept.get("duration")
    if isinstance(duration, int) and not isinstance(duration, bool):
        kept["duration"] = float(duration)
    if kept.get("status", "done") not in ("pending", "done"):
        raise Error(f"a thought's status is 'pending' or 'done', got {kept['status']!r}")
    return kept


def wire_options(options: Any) -> list[dict[str, Any]] | None:
    if options is None:
        return None
    if not isinstance(options, list) or not all(
        isinstance(o, dict) and isinstance(o.get("value"), str) for o in options
    ):
        raise Error(f"a chat message's options are [{{'value': str, 'label': str}}]: {options!r}")
    return [{k: o[k] for k in ("value", "label") if k in o} for o in options]


def _file_part(file: dict[str, Any], alt_text: Any) -> dict[str, Any]:
    return {"type": "file", "file": file, "alt_text": alt_text}


def _component_part(chatbot: Component, shown: Component) -> dict[str, Any]:
    """A component in a message: its name, its value as a payload, and its props."""
    from webui.components.base import Component

    args = {k: v for k, v in shown.constructor_args.items() if k not in ("value", "render")}
    bare = type(shown)(**args, render=False)  # props without a value: no files served twice
    valued = type(shown)(**{**args, "value": shown.constructor_args.get("value")}, render=False)
    valued.root = chatbot.root  # files go into the app's cache
    value = valued.postprocess(valued.value) if valued.value is not None else None
    name = type(shown).__name__.lower()
    if name == "file" and value is not None and not isinstance(value, list):
        value = [value]  # as Gradio: a file component's value in a message is a list
    props = Component.props(bare)
    props["value"] = value
    return {
        "type": "component",
        "component": name,
        "value": value,
        "constructor_args": {**args, "render": False},
        "props": props,
    }


def wire_part(chatbot: Component, part: Any) -> dict[str, Any]:
    """One content part in wire form; text an app wrote as a string loses its common indent."""
    from webui.components.base import Component

    if isinstance(part, str):
        return {"type": "text", "text": inspect.cleandoc(part)}
    if isinstance(part, Component):
        return _component_part(chatbot, part)
    if isinstance(part, dict):
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            return {"type": "text", "text": part["text"]}
        if kind == "component" and isinstance(part.get("component"), str):
            return {
                "type": "component",
                **{k: part.get(k) for k in ("component", "value", "constructor_args", "props")},
            }
        if isinstance(part.get("file"), dict):
            return _file_part(output_file_data(chatbot, part["file"]), part.get("alt_text"))
        if isinstance(part.get("path"), str | os.PathLike):
            return _file_part(output_file_data(chatbot, part), part.get("alt_text"))
    raise Error(f"Invalid message for Chatbot component: {part!r}")


def wire_message(chatbot: Component, message: Any) -> Message | None:
    """A message in wire form, or None when it has no content to show."""
    message = as_message_dict(message)
    if message["role"] not in ROLES:
        raise Error(f"a chat message role must be one of {ROLES}, got {message['role']!r}")
    content = message["content"]
    if content is None:
        return None
    parts = content if isinstance(content, list) else [content]
    wired = [wire_part(chatbot, part) for part in parts if part is not None]
    if not wired:
        return None
    return {
        "role": message["role"],
        "metadata": wire_metadata(message.get("metadata")),
        "content": wired,
        "options": wire_options(message.get("options")),
    }


def _checked_file(chatbot: Component, file: Any) -> dict[str, Any]:
    """A FileData a client sent, its path checked by the app's path policy."""
    path = input_path(chatbot, file)
    return {
        **file,
        "path": str(path),
        "mime_type": file.get("mime_type") or mimetypes.guess_type(str(path))[0],
        "meta": {"_type": FILE_DATA_TYPE},
    }


def _checked_value(chatbot: Component, value: Any) -> Any:
    """A component part's value with every FileData in it checked."""
    if isinstance(value, list):
        return [_checked_value(chatbot, item) for item in value]
    if isinstance(value, dict) and isinstance(value.get("meta"), dict):
        return _checked_file(chatbot, value)
    return value


def fn_part(chatbot: Component, part: Any) -> dict[str, Any]:
    """One part a client sent, as `fn` sees it; file paths pass the app's path policy."""
    if isinstance(part, str):
        return {"text": part, "type": "text"}
    if not isinstance(part, dict):
        raise Error(f"a chat message part is a dict with a 'type', got {part!r}")
    kind = part.get("type", "file" if "file" in part else None)
    if kind == "text" and isinstance(part.get("text"), str):
        return {"text": part["text"], "type": "text"}
    if kind == "file" and isinstance(part.get("file"), dict):
        file = _checked_file(chatbot, part["file"])
        return {"file": file, "alt_text": part.get("alt_text"), "type": "file"}
    if kind == "component" and isinstance(part.get("component"), str):
        return {
            "component": part["component"],
            "value": _checked_value(chatbot, part.get("value")),
            "constructor_args": dict(part.get("constructor_args") or {}),
            "props": dict(part.get("props") or {}),
            "type": "component",
        }
    raise Error(f"Invalid message part for the Chatbot component: {part!r}")


def fn_message(chatbot: Component, message: Any) -> Message:
    """A message a client sent, in the normalised form `fn` receives."""
    if not isinstance(message, dict) or "role" not in message or "content" not in message:
        raise Error("Data incompatible with the messages format")
    if message["role"] not in ROLES:
        raise Error(f"a chat message role must be one of {ROLES}, got {message['role']!r}")
    content = message["content"]
    parts = content if isinstance(content, list) else [content]
    return {
        "role": message["role"],
        "metadata": wire_metadata(message.get("metadata")),
        "content": [fn_part(chatbot, part) for part in parts],
        "options": wire_options(message.get("options")),
    }


def plain_content(parts: list[dict[str, Any]]) -> Any:
    """Content as the older pairs format holds it: a string when the message is text only."""
    if all(p.get("type") == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def served_file(chatbot: Component, file: Any) -> dict[str, Any] | None:
    """A picture or file the app gave (avatar, example): a URL as it is (the browser loads
    it), a path served from the app's cache."""
    if file is None:
        return None
    if isinstance(file, str) and file.startswith(("http://", "https://")):
        return {"path": file, "url": file, "meta": {"_type": FILE_DATA_TYPE}}
    return output_file_data(chatbot, file)


def shown_example(chatbot: Component, example: dict[str, Any]) -> dict[str, Any]:
    """An example message as the page shows it: its icon and files served."""
    shown = dict(example)
    if shown.get("icon") is not None:
        shown["icon"] = served_file(chatbot, shown["icon"])
    if shown.get("files") is not None:
        if not isinstance(shown["files"], list):
            raise Error("a chat example's 'files' is a list of file paths")
        shown["files"] = [served_file(chatbot, f) for f in shown["files"]]
    return shown
