"""Fonts of a theme: a family by name (`Font`), or one served by Google Fonts (`GoogleFont`).

A theme's `font=` is a font, a string or a list of them, first choice first; strings are CSS as
written (`"ui-sans-serif"`). A `GoogleFont` adds an `@import` of its Google Fonts stylesheet to
the theme's CSS, so the browser fetches it from Google; offline, the page falls back to the next
family in the list.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable

GENERIC_FAMILIES = frozenset({"sans-serif", "serif", "monospace", "cursive", "fantasy"})
_FAMILY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _-]*")


class Font:
    """A font family the browser finds by name (installed, or loaded by other CSS)."""

    def __init__(self, name: str):
        if not isinstance(name, str) or not _FAMILY_NAME.fullmatch(name):
            raise ValueError(f"font name must be letters, digits, spaces, '-' or '_', got {name!r}")
        self.name = name

    def __str__(self) -> str:
        return self.name if self.name in GENERIC_FAMILIES else f"'{self.name}'"

    def stylesheet(self) -> dict[str, str | None]:
        """Where the browser loads the font from: a stylesheet `url`, or None for a system font."""
        return {"url": None, "css": None}

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Font)
            and self.name == other.name
            and self.stylesheet() == other.stylesheet()
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class GoogleFont(Font):
    """A family from Google Fonts in the given weights (Gradio's default: 400 and 600)."""

    def __init__(self, name: str, weights: Iterable[int] = (400, 600)):
        super().__init__(name)
        self.weights = tuple(weights)
        for weight in self.weights:
            if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= 1000:
                raise ValueError(f"GoogleFont weights must be ints in 1..1000, got {weight!r}")

    def stylesheet(self) -> dict[str, str | None]:
        family = urllib.parse.quote_plus(self.name)
        weights = ";".join(str(w) for w in sorted(set(self.weights)))
        url = f"https://fonts.googleapis.com/css2?family={family}:wght@{weights}&display=swap"
        return {"url": url, "css": None}

    def __repr__(self) -> str:
        return f"GoogleFont({self.name!r}, weights={self.weights!r})"


def font_stack(font: Font | str | Iterable[Font | str]) -> tuple[str, list[str]]:
    """The CSS `font-family` value of a theme's `font=`, and the stylesheet URLs it needs."""
    fonts = [font] if isinstance(font, Font | str) else list(font)
    urls: list[str] = []
    for item in fonts:
        if not isinstance(item, Font | str):
            raise TypeError(f"a theme font must be a Font or a string, got {item!r}")
        url = item.stylesheet()["url"] if isinstance(item, Font) else None
        if url is not None and url not in urls:
            urls.append(url)
    return ", ".join(str(item) for item in fonts), urls
