"""Jupyter support: where `launch()` runs, and the iframe that shows an app in a notebook.

IPython stays optional: nothing here imports it unless the process already has (a kernel or
an IPython shell), or a caller asks to display inline.
"""

from __future__ import annotations

import html
import logging
import sys

logger = logging.getLogger(__name__)

DEFAULT_HEIGHT = 500  # pixels, as in Gradio
DEFAULT_WIDTH = "100%"


def in_notebook() -> bool:
    """True inside a Jupyter kernel (notebook, JupyterLab, VS Code, Colab), where a cell's
    output can show HTML; False in a script or a terminal IPython."""
    get_ipython = getattr(sys.modules.get("IPython"), "get_ipython", None)
    if get_ipython is None:  # no IPython loaded, so no kernel (and no import to find out)
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def interactive() -> bool:
    """True in a Python or IPython prompt or a notebook, where `launch()` must not block."""
    return hasattr(sys, "ps1") or bool(sys.flags.interactive) or in_notebook()


def iframe_html(
    url: str, *, height: int | str = DEFAULT_HEIGHT, width: int | str = DEFAULT_WIDTH
) -> str:
    """The HTML that embeds the app at `url`; `height` and `width` are pixels or CSS sizes."""

    def size(value: int | str) -> str:
        return f"{value}px" if isinstance(value, int) else str(value)

    style = f"width: {size(width)}; height: {size(height)}; border: 0;"
    return (
        f'<div class="webui-inline"><iframe src="{html.escape(url, quote=True)}" '
        f'style="{html.escape(style, quote=True)}" '
        'allow="autoplay; camera; microphone; clipboard-read; clipboard-write; fullscreen" '
        "allowfullscreen></iframe></div>"
    )


def show_inline(url: str, *, height: int | str, width: int | str) -> bool:
    """Displays the app at `url` in the current cell's output; False if IPython is missing."""
    try:
        from IPython.display import HTML, display
    except ImportError:
        logger.warning("inline=True needs IPython (run in Jupyter); the app is at %s", url)
        return False
    display(HTML(iframe_html(url, height=height, width=width)))
    return True


def show_text(text: str) -> None:
    """Displays plain text as a cell's output (what a terminal IPython prints for a value)."""
    from IPython.display import display

    display({"text/plain": text}, raw=True)
