"""The theme: Gradio's CSS custom properties, derived from hues, sizes and fonts, served as
`/theme.css` for the page to read.

A theme starts from three hues (primary, secondary, neutral), three size scales and two font
stacks, which become the core variables (`primary_500`, `spacing_lg`, `font`, ...). Every other
variable (`webui.themes.variables`) defaults to a value in terms of those, and `.set()` overrides
it. A value may name another variable as `*name`, which becomes `var(--name)`. Variables that
have a `_dark` twin take it in the dark variant (the page's `dark` class); the rest keep their
light value there.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from webui.themes.utils import colors, sizes
from webui.themes.utils.colors import SHADES, Color
from webui.themes.utils.fonts import Font, font_stack
from webui.themes.utils.sizes import STEPS, Size
from webui.themes.variables import DARK, LIGHT

SANS = ("ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif")
MONO = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace")
_REFERENCE = re.compile(r"\*([A-Za-z0-9_]+)")

FontSpec = Font | str | Iterable[Font | str]


def _hue(value: Color | str, role: str) -> Color:
    if isinstance(value, Color):
        return value
    if isinstance(value, str) and value in colors.NAMED:
        return colors.NAMED[value]
    raise ValueError(f"unknown {role} {value!r}; the named hues are {sorted(colors.NAMED)}")


def _size(value: Size | str, kind: str, role: str) -> Size:
    if isinstance(value, Size):
        return value
    named = {n.removeprefix(f"{kind}_"): s for n, s in sizes.NAMED.items() if n.startswith(kind)}
    if isinstance(value, str) and value in named:
        return named[value]
    raise ValueError(f"unknown {role} {value!r}; choose one of {sorted(named)} or a Size")


def _css_value(value: str) -> str:
    """`*primary_500` -> `var(--primary-500)`, anywhere inside the value."""
    return _REFERENCE.sub(lambda m: f"var(--{_dashed(m.group(1))})", value)


def _dashed(key: str) -> str:
    return key.replace("_", "-")


class Base:
    """Gradio's base theme: blue hues on zinc greys, system fonts, medium sizes.

    Subclasses (the presets) change the starting hues and `.set()` their own overrides.
    """

    name = "base"

    def __init__(
        self,
        *,
        primary_hue: Color | str = colors.blue,
        secondary_hue: Color | str = colors.blue,
        neutral_hue: Color | str = colors.zinc,
        text_size: Size | str = sizes.text_md,
        spacing_size: Size | str = sizes.spacing_md,
        radius_size: Size | str = sizes.radius_md,
        font: FontSpec = SANS,
        font_mono: FontSpec = MONO,
    ):
        self._core: dict[str, str] = {}
        hues = {
            "primary": _hue(primary_hue, "primary_hue"),
            "secondary": _hue(secondary_hue, "secondary_hue"),
            "neutral": _hue(neutral_hue, "neutral_hue"),
        }
        for role, color in hues.items():
            for shade, value in zip(SHADES, color.expand(), strict=True):
                self._core[f"{role}_{shade}"] = value
        scales = {
            "text": _size(text_size, "text", "text_size"),
            "spacing": _size(spacing_size, "spacing", "spacing_size"),
            "radius": _size(radius_size, "radius", "radius_size"),
        }
        for kind, scale in scales.items():
            for step, value in zip(STEPS, scale.expand(), strict=True):
                self._core[f"{kind}_{step}"] = value
        self._core["font"], sans_sheets = font_stack(font)
        self._core["font_mono"], mono_sheets = font_stack(font_mono)
        self._stylesheets = list(dict.fromkeys(sans_sheets + mono_sheets))
        self._light: dict[str, str] = dict(LIGHT)
        self._dark: dict[str, str | None] = dict(DARK)

    @property
    def variables(self) -> dict[str, str]:
        """Every variable's value as `.set()` takes them, `_dark` twins included (a twin left
        at None shows the light value it falls back to)."""
        dark = {f"{k}_dark": v if v is not None else self._light[k] for k, v in self._dark.items()}
        return {**self._core, **self._light, **dark}

    @property
    def stylesheets(self) -> list[str]:
        """The URLs of the font stylesheets the theme imports (its GoogleFonts)."""
        return list(self._stylesheets)

    def set(self, **variables: str | None) -> Base:
        """Override variables (Gradio's names, `_dark` twins where Gradio has them); None leaves
        one as it is. Returns the theme so calls chain."""
        for key, value in variables.items():
            if value is None:
                continue
            if not isinstance(value, str):
                raise TypeError(f"theme variable {key} must be a string, got {value!r}")
            base = key.removesuffix("_dark")
            if key.endswith("_dark") and base in self._dark:
                if _REFERENCE.fullmatch(value) and value[1:] in (key, base):
                    raise ValueError(f"theme variable {key} cannot refer to {value}")
                self._dark[base] = value
            elif key in self._light:
                self._light[key] = value
            elif key in self._core:
                self._core[key] = value
            else:
                raise ValueError(
                    f"unknown theme variable {key!r}; the variables are {sorted(self._light)} "
                    f"and the core ones {sorted(self._core)}; these take a _dark twin: "
                    f"{sorted(self._dark)}"
                )
        return self

    def _dark_values(self) -> dict[str, str]:
        dark = {k: v for k, v in self._dark.items() if v is not None}
        return {**self._core, **self._light, **dark}

    def css(self) -> str:
        """The stylesheet: font imports, `:root` with the light values, `.dark` with the dark."""
        imports = "".join(f'@import url("{url}");\n' for url in self._stylesheets)
        light_values = {**self._core, **self._light}
        light = "".join(f"  --{_dashed(k)}: {_css_value(v)};\n" for k, v in light_values.items())
        dark = "".join(
            f"  --{_dashed(k)}: {_css_value(v)};\n" for k, v in self._dark_values().items()
        )
        return f"{imports}:root {{\n{light}}}\n:root.dark, :root .dark {{\n{dark}}}\n"

    def computed(self, key: str, *, dark: bool = False) -> str:
        """A variable's value with every `*reference` resolved (in the dark variant if `dark`)."""
        values = self._dark_values() if dark else {**self._core, **self._light}
        if key not in values:
            raise KeyError(f"unknown theme variable {key!r}")
        return self._resolve(key, values, 0)

    def _resolve(self, key: str, values: dict[str, str], depth: int) -> str:
        if depth > 20:
            raise ValueError(f"theme variable {key} refers to itself through *references")
        return _REFERENCE.sub(
            lambda m: self._resolve(m.group(1), values, depth + 1), values.get(key, "")
        )

    def body_css(self) -> dict[str, str]:
        """Resolved body colours for the first paint, keyed as in Gradio's config."""
        return {
            "body_background_fill": self.computed("body_background_fill"),
            "body_text_color": self.computed("body_text_color"),
            "body_background_fill_dark": self.computed("body_background_fill", dark=True),
            "body_text_color_dark": self.computed("body_text_color", dark=True),
        }

    def hash(self) -> str:
        """A digest of the stylesheet; the page uses it to cache `/theme.css`."""
        return hashlib.sha256(self.css().encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "variables": self.variables}
