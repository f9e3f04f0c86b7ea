"""Progress bars where someone watches: a terminal or a notebook, never a log file or CI.

`tqdm.auto` already draws a widget in a Jupyter kernel that has ipywidgets. Without them it
falls back to a text bar, and tqdm's `disable=None` (off where the stream is not a terminal)
would hide it, as a kernel's stderr is not a TTY. So a bar here is on in a kernel, on in a
terminal, and off in redirected output, where each redraw would only add a line of noise.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def in_notebook() -> bool:
    """True inside a Jupyter kernel (webui has its own copy: it imports nothing of jaxserve)."""
    get_ipython = getattr(sys.modules.get("IPython"), "get_ipython", None)
    if get_ipython is None:  # no IPython loaded, so no kernel (and no import to find out)
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def progress_bar(
    iterable: Iterable[T] | None = None,
    *,
    desc: str,
    unit: str,
    total: int | None = None,
    enabled: bool = True,
) -> tqdm[T]:
    """A tqdm bar over `iterable` (or to `update()` by hand up to `total`).

    Args:
        iterable: the items to iterate over, or None for a bar updated by hand.
        desc: what the wait is for, e.g. "loading weights".
        unit: what one step counts, e.g. "tensor".
        total: the number of steps, if `iterable` has no length.
        enabled: False turns the bar off whatever the output is.
    """
    disable: bool | None = None  # tqdm's rule outside notebooks: shown only on a terminal
    if not enabled:
        disable = True
    elif in_notebook():
        disable = False
    return tqdm(iterable, desc=desc, unit=unit, total=total, disable=disable)
