"""Checks of Gradio's look options whose values webui must understand to show them."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

logger = logging.getLogger(__name__)


def check_buttons(
    *,
    type_name: str,
    given: Any,
    offered: Sequence[str],
    unsupported: Mapping[str, str] | None = None,
) -> None:
    """Refuse a `buttons=` the page cannot show: gr.Button instances (custom toolbar buttons)
    raise TypeError, Gradio buttons webui lacks (`unsupported`: name -> why) ValueError. A name
    Gradio's frontend does not know either is not shown by Gradio; webui says so with a
    warning rather than dropping it silently."""
    if given is None:
        return
    if isinstance(given, str) or not isinstance(given, Sequence):
        raise TypeError(f"{type_name} buttons must be a list of names, got {given!r}")
    for button in given:
        if not isinstance(button, str):
            raise TypeError(
                f"{type_name}(buttons=[{type(button).__name__}]): webui shows only its built-in "
                f"buttons {list(offered)}, not custom gr.Button instances"
            )
        if unsupported and button in unsupported:
            raise ValueError(
                f"{type_name}(buttons=[{button!r}]): webui has no {button} button "
                f"({unsupported[button]}); it offers {list(offered)}"
            )
        if button not in offered:
            logger.warning(
                "%s(buttons=[%r]): not one of its buttons %s, so not shown (as in Gradio)",
                type_name,
                button,
                list(offered),
            )
