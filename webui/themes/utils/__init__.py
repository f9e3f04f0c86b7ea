"""The building blocks of a theme, under Gradio's module names: hues (`colors`), size scales
(`sizes`) and font families (`fonts`)."""

from webui.themes.utils import colors, fonts, sizes

__all__ = ["colors", "fonts", "sizes"]
