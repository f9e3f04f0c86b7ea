"""Checks of Gradio's look options whose values webui must understand to show them."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from webui.tree import Block

logger = logging.getLogger(__name__)


def _to_toolbar(type_name: str, button: Block) -> None:
    """Hide a gr.Button given to `buttons=` from its place in the layout, as Gradio takes it
    out: the component's toolbar shows it and a click there fires its listeners."""
    if button._id is None:
        raise ValueError(
            f"{type_name}(buttons=[gr.Button]): make the Button inside the Blocks (not "
            "render=False), where its click listeners live"
        )
    button.visible = False


def check_buttons(
    *,
    type_name: str,
    given: Any,
    offered: Sequence[str],
    unsupported: Mapping[str, str] | None = None,
    custom: bool = False,
) -> None:
    """Refuse a `buttons=` the page cannot show: gr.Button instances raise TypeError unless
    the class shows them in its toolbar (`custom`), Gradio buttons webui lacks (`unsupported`:
    name -> why) ValueError. A name Gradio's frontend does not know either is not shown by
    Gradio; webui says so with a warning rather than dropping it silently."""
    if given is None:
        return
    if isinstance(given, str) or not isinstance(given, Sequence):
        raise TypeError(f"{type_name} buttons must be a list of names, got {given!r}")
    for button in given:
        if custom and isinstance(button, Block) and button.block_type == "button":
            _to_toolbar(type_name, button)
            continue
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
