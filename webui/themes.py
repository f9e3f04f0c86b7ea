"""Themes: named sets of CSS custom properties that the served page reads (`GET /theme.css`).

A theme starts from hues (primary, secondary, neutral), fonts and sizes, derives every variable
from them, and takes overrides with `.set(**variables)`. A value may name another variable as
`*name` (`button_primary_background_fill="*primary_600"`), which becomes `var(--primary-600)`.
Each variable may have a `_dark` twin, used when the page carries the `dark` class.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

SHADES = ("50", "100", "200", "300", "400", "500", "600", "700", "800", "900", "950")


@dataclass(frozen=True)
class Color:
    """A hue as eleven shades, lightest (50) to darkest (950), as CSS colours."""

    name: str
    shades: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.shades) != len(SHADES):
            raise ValueError(
                f"Color {self.name!r} needs {len(SHADES)} shades ({', '.join(SHADES)}), "
                f"got {len(self.shades)}"
            )


def _color(name: str, shades: str) -> Color:
    return Color(name, tuple(f"#{s}" for s in shades.split()))


COLORS: dict[str, Color] = {
    c.name: c
    for c in (
        _color(
            "slate", "f8fafc f1f5f9 e2e8f0 cbd5e1 94a3b8 64748b 475569 334155 1e293b 0f172a 020617"
        ),
        _color(
            "gray", "f9fafb f3f4f6 e5e7eb d1d5db 9ca3af 6b7280 4b5563 374151 1f2937 111827 030712"
        ),
        _color(
            "zinc", "fafafa f4f4f5 e4e4e7 d4d4d8 a1a1aa 71717a 52525b 3f3f46 27272a 18181b 0f0f11"
        ),
        _color(
            "neutral",
            "fafafa f5f5f5 e5e5e5 d4d4d4 a3a3a3 737373 525252 404040 262626 171717 0f0f0f",
        ),
        _color(
            "red", "fef2f2 fee2e2 fecaca fca5a5 f87171 ef4444 dc2626 b91c1c 991b1b 7f1d1d 6c1e1e"
        ),
        _color(
            "orange", "fff7ed ffedd5 fed7aa fdba74 fb923c f97316 ea580c c2410c 9a3412 7c2d12 6c2e12"
        ),
        _color(
            "amber", "fffbeb fef3c7 fde68a fcd34d fbbf24 f59e0b d97706 b45309 92400e 78350f 6c370f"
        ),
        _color(
            "yellow", "fefce8 fef9c3 fef08a fde047 facc15 eab308 ca8a04 a16207 854d0e 713f12 653b12"
        ),
        _color(
            "green", "f0fdf4 dcfce7 bbf7d0 86efac 4ade80 22c55e 16a34a 15803d 166534 14532d 134e28"
        ),
        _color(
            "emerald",
            "ecfdf5 d1fae5 a7f3d0 6ee7b7 34d399 10b981 059669 047857 065f46 064e3b 054436",
        ),
        _color(
            "teal", "f0fdfa ccfbf1 99f6e4 5eead4 2dd4bf 14b8a6 0d9488 0f766e 115e59 134e4a 12443e"
        ),
        _color(
            "cyan", "ecfeff cffafe a5f3fc 67e8f9 22d3ee 06b6d4 0891b2 0e7490 155e75 164e63 14455b"
        ),
        _color(
            "sky", "f0f9ff e0f2fe bae6fd 7dd3fc 38bdf8 0ea5e9 0284c7 0369a1 075985 0c4a6e 0b4165"
        ),
        _color(
            "blue", "eff6ff dbeafe bfdbfe 93c5fd 60a5fa 3b82f6 2563eb 1d4ed8 1e40af 1e3a8a 1d3660"
        ),
        _color(
            "indigo", "eef2ff e0e7ff c7d2fe a5b4fc 818cf8 6366f1 4f46e5 4338ca 3730a3 312e81 2b2c5e"
        ),
        _color(
            "violet", "f5f3ff ede9fe ddd6fe c4b5fd a78bfa 8b5cf6 7c3aed 6d28d9 5b21b6 4c1d95 431d7f"
        ),
        _color(
            "purple", "faf5ff f3e8ff e9d5ff d8b4fe c084fc a855f7 9333ea 7e22ce 6b21a8 581c87 4c1d73"
        ),
        _color(
            "pink", "fdf2f8 fce7f3 fbcfe8 f9a8d4 f472b6 ec4899 db2777 be185d 9d174d 831843 6d1a36"
        ),
        _color(
            "rose", "fff1f2 ffe4e6 fecdd3 fda4af fb7185 f43f5e e11d48 be123c 9f1239 881337 771d3a"
        ),
    )
}

# Each size scale is (xxs, xs, sm, md, lg, xl, xxl); the theme picks one scale per kind.
RADIUS = {
    "none": ("0px",) * 7,
    "sm": ("1px", "1px", "2px", "4px", "6px", "8px", "12px"),
    "md": ("1px", "2px", "4px", "6px", "8px", "12px", "22px"),
    "lg": ("2px", "4px", "6px", "8px", "12px", "16px", "24px"),
}
SPACING = {
    "sm": ("1px", "2px", "4px", "6px", "8px", "12px", "16px"),
    "md": ("1px", "2px", "4px", "6px", "8px", "10px", "16px"),
    "lg": ("2px", "4px", "6px", "10px", "14px", "18px", "24px"),
}
TEXT = {
    "sm": ("8px", "9px", "11px", "13px", "16px", "20px", "24px"),
    "md": ("9px", "10px", "12px", "14px", "16px", "22px", "26px"),
    "lg": ("10px", "12px", "14px", "16px", "20px", "24px", "28px"),
}
STEPS = ("xxs", "xs", "sm", "md", "lg", "xl", "xxl")
SANS = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
MONO = "ui-monospace, 'SFMono-Regular', Menlo, Consolas, 'Liberation Mono', monospace"

# The semantic variables every theme defines, as (light, dark) defaults in terms of the scales.
SEMANTIC: dict[str, tuple[str, str]] = {
    "body_background_fill": ("*background_fill_primary", "*background_fill_primary"),
    "body_text_color": ("*neutral_800", "*neutral_100"),
    "body_text_color_subdued": ("*neutral_500", "*neutral_400"),
    "body_text_size": ("*text_md", "*text_md"),
    "background_fill_primary": ("white", "*neutral_950"),
    "background_fill_secondary": ("*neutral_50", "*neutral_900"),
    "border_color_primary": ("*neutral_200", "*neutral_700"),
    "border_color_accent": ("*primary_300", "*neutral_600"),
    "color_accent": ("*primary_500", "*primary_500"),
    "color_accent_soft": ("*primary_50", "*neutral_700"),
    "link_text_color": ("*secondary_600", "*secondary_500"),
    "link_text_color_hover": ("*secondary_700", "*secondary_400"),
    "code_background_fill": ("*neutral_100", "*neutral_800"),
    "block_background_fill": ("*background_fill_primary", "*neutral_800"),
    "block_border_color": ("*border_color_primary", "*border_color_primary"),
    "block_border_width": ("1px", "1px"),
    "block_radius": ("*radius_lg", "*radius_lg"),
    "block_padding": ("*spacing_xl", "*spacing_xl"),
    "block_shadow": ("none", "none"),
    "block_label_text_color": ("*neutral_500", "*neutral_200"),
    "block_label_text_size": ("*text_sm", "*text_sm"),
    "block_title_text_weight": ("400", "400"),
    "layout_gap": ("*spacing_xxl", "*spacing_xxl"),
    "panel_background_fill": ("*background_fill_secondary", "*background_fill_secondary"),
    "input_background_fill": ("white", "*neutral_700"),
    "input_background_fill_focus": ("*secondary_50", "*secondary_900"),
    "input_border_color": ("*border_color_primary", "*border_color_primary"),
    "input_border_color_focus": ("*secondary_300", "*neutral_500"),
    "input_border_width": ("1px", "1px"),
    "input_radius": ("*radius_lg", "*radius_lg"),
    "input_padding": ("*spacing_xl", "*spacing_xl"),
    "input_text_size": ("*text_md", "*text_md"),
    "checkbox_background_color_selected": ("*secondary_600", "*secondary_600"),
    "slider_color": ("*color_accent", "*color_accent"),
    "button_border_width": ("*input_border_width", "*input_border_width"),
    "button_large_radius": ("*radius_lg", "*radius_lg"),
    "button_large_padding": (
        "*spacing_lg calc(2 * *spacing_lg)",
        "*spacing_lg calc(2 * *spacing_lg)",
    ),
    "button_large_text_size": ("*text_lg", "*text_lg"),
    "button_large_text_weight": ("600", "600"),
    "button_primary_background_fill": ("*primary_500", "*primary_600"),
    "button_primary_background_fill_hover": ("*primary_600", "*primary_700"),
    "button_primary_text_color": ("white", "white"),
    "button_primary_border_color": ("*primary_500", "*primary_600"),
    "button_secondary_background_fill": ("*neutral_100", "*neutral_600"),
    "button_secondary_background_fill_hover": ("*neutral_200", "*neutral_700"),
    "button_secondary_text_color": ("*neutral_800", "white"),
    "button_secondary_border_color": ("*neutral_200", "*neutral_600"),
    "button_cancel_background_fill": ("#fee2e2", "#b91c1c"),
    "button_cancel_text_color": ("#dc2626", "white"),
    "table_even_background_fill": ("white", "*neutral_950"),
    "table_odd_background_fill": ("*neutral_50", "*neutral_900"),
    "table_border_color": ("*neutral_300", "*neutral_700"),
    "error_background_fill": ("#fef2f2", "*background_fill_primary"),
    "error_text_color": ("#b91c1c", "#ef4444"),
    "error_border_color": ("#fecaca", "#ef4444"),
    "shadow_drop": ("rgba(0,0,0,0.05) 0px 1px 2px 0px", "rgba(0,0,0,0.05) 0px 1px 2px 0px"),
    "font": (SANS, SANS),
    "font_mono": (MONO, MONO),
}
_REFERENCE = re.compile(r"\*([a-z0-9_]+)")


def _hue(value: str | Color, role: str) -> Color:
    if isinstance(value, Color):
        return value
    if value not in COLORS:
        raise ValueError(f"unknown {role} {value!r}; the named hues are {sorted(COLORS)}")
    return COLORS[value]


def _scale(table: dict[str, tuple[str, ...]], value: str, role: str) -> tuple[str, ...]:
    if value not in table:
        raise ValueError(f"unknown {role} {value!r}; choose one of {sorted(table)}")
    return table[value]


def _css_value(value: str) -> str:
    """`*primary_500` -> `var(--primary-500)`, anywhere inside the value."""
    return _REFERENCE.sub(lambda m: f"var(--{m.group(1).replace('_', '-')})", value)


class Base:
    """A theme: blue hues, system fonts, medium sizes. Subclasses change the starting point."""

    name = "base"

    def __init__(
        self,
        *,
        primary_hue: str | Color = "blue",
        secondary_hue: str | Color = "blue",
        neutral_hue: str | Color = "gray",
        text_size: str = "md",
        spacing_size: str = "md",
        radius_size: str = "md",
        font: str | list[str] | tuple[str, ...] = SANS,
        font_mono: str | list[str] | tuple[str, ...] = MONO,
    ):
        self._light: dict[str, str] = {}
        self._dark: dict[str, str] = {}
        hues = {
            "primary": _hue(primary_hue, "primary_hue"),
            "secondary": _hue(secondary_hue, "secondary_hue"),
            "neutral": _hue(neutral_hue, "neutral_hue"),
        }
        for role, color in hues.items():
            for shade, value in zip(SHADES, color.shades, strict=True):
                self._light[f"{role}_{shade}"] = value
        scales = {
            "text": _scale(TEXT, text_size, "text_size"),
            "spacing": _scale(SPACING, spacing_size, "spacing_size"),
            "radius": _scale(RADIUS, radius_size, "radius_size"),
        }
        for kind, values in scales.items():
            for step, value in zip(STEPS, values, strict=True):
                self._light[f"{kind}_{step}"] = value
        for key, (light, dark) in SEMANTIC.items():
            self._light[key] = light
            self._dark[key] = dark
        self._light["font"] = _font_stack(font)
        self._light["font_mono"] = _font_stack(font_mono)
        self._dark["font"] = self._light["font"]
        self._dark["font_mono"] = self._light["font_mono"]

    @property
    def variables(self) -> dict[str, str]:
        """Every variable's light value, `_dark` twins included, as `.set()` takes them."""
        return {**self._light, **{f"{k}_dark": v for k, v in self._dark.items()}}

    def set(self, **variables: str) -> Base:
        """Override variables (`name` or `name_dark`); returns the theme so calls chain."""
        for key, value in variables.items():
            if not isinstance(value, str):
                raise TypeError(f"theme variable {key} must be a string, got {value!r}")
            base = key.removesuffix("_dark")
            if base not in self._light:
                raise ValueError(
                    f"unknown theme variable {key!r}; the variables are {sorted(self._light)} "
                    "(each may take a _dark suffix)"
                )
            if key.endswith("_dark"):
                self._dark[base] = value
            else:
                self._light[base] = value
        return self

    def css(self) -> str:
        """The stylesheet: `:root` with the light values, `.dark` with the dark ones."""
        light = "".join(f"  --{_dashed(k)}: {_css_value(v)};\n" for k, v in self._light.items())
        dark = "".join(f"  --{_dashed(k)}: {_css_value(v)};\n" for k, v in self._dark.items())
        return f":root {{\n{light}}}\n:root.dark, :root .dark {{\n{dark}}}\n"

    def body_css(self) -> dict[str, str]:
        """Resolved body colours for the first paint, keyed as in Gradio's config."""
        return {
            "body_background_fill": self._resolve("body_background_fill", self._light),
            "body_text_color": self._resolve("body_text_color", self._light),
            "body_background_fill_dark": self._resolve("body_background_fill", self._dark),
            "body_text_color_dark": self._resolve("body_text_color", self._dark),
        }

    def _resolve(self, key: str, values: dict[str, str], depth: int = 0) -> str:
        value = values.get(key, self._light.get(key, ""))
        if depth > 10:
            raise ValueError(f"theme variable {key} refers to itself through *references")
        return _REFERENCE.sub(lambda m: self._resolve(m.group(1), values, depth + 1), value)

    def hash(self) -> str:
        """A digest of the stylesheet; the page uses it to cache `/theme.css`."""
        return hashlib.sha256(self.css().encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "variables": self.variables}


class Default(Base):
    """Orange accents on zinc greys, as Gradio's default look."""

    name = "default"

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("primary_hue", "orange")
        kwargs.setdefault("neutral_hue", "zinc")
        super().__init__(**kwargs)
        self.set(
            button_primary_background_fill="*primary_200",
            button_primary_background_fill_hover="*primary_300",
            button_primary_text_color="*primary_700",
            button_primary_border_color="*primary_200",
            button_primary_background_fill_dark="*primary_700",
            button_primary_text_color_dark="white",
            checkbox_background_color_selected="*primary_600",
        )


class Soft(Base):
    """Indigo, rounded and borderless blocks on a tinted background."""

    name = "soft"

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("primary_hue", "indigo")
        kwargs.setdefault("secondary_hue", "indigo")
        kwargs.setdefault("neutral_hue", "gray")
        kwargs.setdefault("radius_size", "lg")
        super().__init__(**kwargs)
        self.set(
            body_background_fill="*neutral_50",
            background_fill_secondary="*neutral_100",
            block_border_width="0px",
            block_shadow="*shadow_drop",
            block_label_text_color="*primary_600",
            input_background_fill="*neutral_100",
            input_border_width="0px",
            button_primary_background_fill="*primary_600",
            button_primary_background_fill_hover="*primary_500",
            button_secondary_background_fill="*primary_100",
            button_secondary_text_color="*primary_700",
            slider_color="*primary_600",
        )


class Monochrome(Base):
    """Black, white and greys with square corners."""

    name = "monochrome"

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("primary_hue", "neutral")
        kwargs.setdefault("secondary_hue", "neutral")
        kwargs.setdefault("neutral_hue", "neutral")
        kwargs.setdefault("radius_size", "sm")
        super().__init__(**kwargs)
        self.set(
            button_primary_background_fill="*neutral_900",
            button_primary_background_fill_hover="*neutral_700",
            button_primary_border_color="*neutral_900",
            button_primary_background_fill_dark="*neutral_100",
            button_primary_text_color_dark="*neutral_900",
            color_accent="*neutral_900",
            link_text_color="*neutral_900",
        )


THEMES: dict[str, type[Base]] = {t.name: t for t in (Base, Default, Soft, Monochrome)}


def resolve_theme(theme: Base | str | None) -> Base:
    """A theme object from what `Blocks(theme=...)` accepts: None, a name, or a theme."""
    if theme is None:
        return Default()
    if isinstance(theme, Base):
        return theme
    if isinstance(theme, type) and issubclass(theme, Base):
        return theme()
    if isinstance(theme, str):
        key = theme.lower().removeprefix("gradio/")
        if key in THEMES:
            return THEMES[key]()
        raise ValueError(f"unknown theme {theme!r}; the built-in themes are {sorted(THEMES)}")
    raise TypeError(f"theme must be a theme object, a theme name or None, got {theme!r}")


def _font_stack(font: str | list[str] | tuple[str, ...]) -> str:
    if isinstance(font, str):
        return font
    return ", ".join(f if f in {"sans-serif", "serif", "monospace"} else f"'{f}'" for f in font)


def _dashed(key: str) -> str:
    return key.replace("_", "-")
