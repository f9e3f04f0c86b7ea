"""The built-in themes (`Default`, `Soft`, `Monochrome`), and a theme from what `Blocks(theme=)`
and `launch(theme=)` take: a theme, a theme class, a name ("soft", "gradio/soft") or None."""

from __future__ import annotations

from typing import Any

from webui.themes.base import Base


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


def resolve_theme(theme: Base | type[Base] | str | None) -> Base:
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
