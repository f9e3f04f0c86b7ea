"""Images a user attaches in the playground: the files webui hands over, as OpenAI parts.

A vision-language model's Chat tab has a `gr.MultimodalTextbox`, whose value reaches the event
as `{"text", "files": [path, ...]}`, and the Chatbot hands back the conversation with each file
as a part `{"type": "file", "file": FileData}`. webui has already put every such path through
its app's file policy (its upload and cache folders), so the paths here are read as they come.
Each image becomes an OpenAI `image_url` part with a `data:` URL of the file's bytes; the
server decodes it as it does any API request's, and says why (a 400) where it cannot.
"""

from __future__ import annotations

import base64
import mimetypes
import os
from pathlib import Path
from typing import Any

import webui as gr

Part = dict[str, Any]


def attached_paths(files: list[Any] | None) -> list[str]:
    """The paths of a MultimodalTextbox's files (paths, or FileData dicts from a client)."""
    paths = []
    for file in files or []:
        path = file.get("path") if isinstance(file, dict) else file
        if not isinstance(path, str | os.PathLike):
            raise gr.Error(f"an attachment is a file path, not {type(file).__name__}")
        paths.append(os.fspath(path))
    return paths


def image_url_part(path: str, mime_type: str | None = None) -> Part:
    """The OpenAI `image_url` part of the image file at `path`, as a base64 `data:` URL.

    Args:
        path: a file webui handed over (already checked by its file policy).
        mime_type: the type webui recorded for it; guessed from the name when None.

    Raises:
        gr.Error: the file is not an image (by its type) or cannot be read; the message
            names the file by its name only, never its folder.
    """
    name = Path(path).name
    mime_type = mime_type or mimetypes.guess_type(name)[0]
    if not mime_type or not mime_type.startswith("image/"):
        raise gr.Error(
            f"{name} is not an image ({mime_type or 'unknown type'}); attach PNG, JPEG, WebP "
            "or another image"
        )
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise gr.Error(f"cannot read the attachment {name}: {e.strerror or e}") from None
    url = f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"
    return {"type": "image_url", "image_url": {"url": url}}


def shown_image(path: str) -> Part:
    """An image as a Chatbot message shows it (webui copies it into the app's cache)."""
    return {"path": path, "orig_name": Path(path).name, "alt_text": Path(path).name}


def file_part_as_image(part: Part) -> Part | None:
    """A Chatbot file part (`{"type": "file", "file": FileData}`) as an `image_url` part;
    None when the part holds no file path."""
    file = part.get("file")
    if not isinstance(file, dict) or not isinstance(file.get("path"), str) or not file["path"]:
        return None
    return image_url_part(file["path"], file.get("mime_type"))
