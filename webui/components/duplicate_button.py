"""DuplicateButton: a Button that duplicates the Hugging Face Space the app runs in.

As Gradio's: on a Space (`SYSTEM=spaces` and `SPACE_ID` set in the environment when the button
is made) a click opens `https://huggingface.co/spaces/<SPACE_ID>?duplicate=true` in a new tab,
through a `js=` listener that makes no request. Anywhere else the button is shown and does
nothing, and Gradio's frontend does not hide it either.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from webui.components.misc import Button

# A Space id is `owner/name` of letters, digits, '-', '_' and '.'; anything else is not put
# into the page's JavaScript.
_SPACE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")


def space_id() -> str | None:
    """The id of the Hugging Face Space this process runs in, or None (Gradio's rule)."""
    if os.environ.get("SYSTEM") != "spaces":
        return None
    return os.environ.get("SPACE_ID") or None


def duplicate_url(space: str) -> str:
    if not _SPACE_ID.fullmatch(space):
        raise ValueError(f"SPACE_ID {space!r} is not a Space id like 'owner/name'")
    return f"https://huggingface.co/spaces/{space}?duplicate=true"


class DuplicateButton(Button):
    """A small "Duplicate Space" button (Gradio's variant "huggingface", scale 0)."""

    is_template = True  # as Gradio's: the config and API info name it "Button"

    def __init__(
        self,
        value: str = "Duplicate Space",
        *,
        variant: str = "huggingface",
        size: str = "sm",
        scale: int | None = 0,
        _activate: bool = True,
        **kwargs: Any,
    ):
        super().__init__(value, variant=variant, size=size, scale=scale, **kwargs)
        if _activate and self.root is not None:
            self.activate()

    def activate(self) -> None:
        """On a Space, make a click open the Space's duplication page; elsewhere do nothing."""
        space = space_id()
        if space is None:
            return
        url = json.dumps(duplicate_url(space))
        self.click(None, js=f"() => {{ window.open({url}, '_blank'); }}")
