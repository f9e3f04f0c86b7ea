"""Themes, under Gradio's names: `gr.themes.Soft()`, `gr.themes.Base`, `gr.themes.GoogleFont`,
and the modules `webui.themes.base` and `webui.themes.utils` (colors, fonts, sizes)."""

from webui.themes import base, utils
from webui.themes.base import Base
from webui.themes.presets import THEMES, Default, Monochrome, Soft, resolve_theme
from webui.themes.utils import colors, fonts, sizes
from webui.themes.utils.colors import Color
from webui.themes.utils.fonts import Font, GoogleFont
from webui.themes.utils.sizes import Size

__all__ = [
    "THEMES",
    "Base",
    "Color",
    "Default",
    "Font",
    "GoogleFont",
    "Monochrome",
    "Size",
    "Soft",
    "base",
    "colors",
    "fonts",
    "resolve_theme",
    "sizes",
    "utils",
]
