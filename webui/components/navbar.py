"""Navbar: the links of a multipage app (Gradio's gr.Navbar), one per page at most.

The page draws the app's pages that `demo.route(..., show_in_navbar=True)` put in the navbar
(the main page named `main_page_name`, or left out when it is False), then the value's extra
`(name, path)` links: a path below the app's root ("second?option=a") or an http(s) URL. An
event may return new links. Without a Navbar, an app of several pages shows a default one.
"""

from __future__ import annotations

from typing import Any

from webui.component import Component
from webui.events import Changeable


def check_links(value: Any) -> list[tuple[str, str]] | None:
    """`value` as (name, path) pairs, or None."""
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(
        isinstance(pair, list | tuple) and len(pair) == 2 for pair in value
    ):
        raise ValueError(f"a Navbar value is a list of (page name, path) pairs, got {value!r}")
    return [(str(name), str(path)) for name, path in value]


class Navbar(Changeable, Component):
    block_type = "navbar"

    def __init__(
        self,
        value: list[tuple[str, str]] | None = None,
        *,
        visible: bool = True,
        main_page_name: str | bool = "Home",
        **kwargs: Any,
    ):
        if main_page_name is True or not isinstance(main_page_name, str | bool):
            raise ValueError(
                f"Navbar main_page_name must be a page title or False, got {main_page_name!r}"
            )
        self.main_page_name = main_page_name
        links = value if callable(value) else check_links(value)
        super().__init__(links, visible=visible, **kwargs)
        self._built = True
        self._check_one_per_page()

    def render(self) -> Navbar:
        rendered = super().render()
        if getattr(self, "_built", False):  # rendered later (render=False at first)
            self._check_one_per_page()
        return rendered  # type: ignore[return-value]

    def _check_one_per_page(self) -> None:
        """Gradio's rule: a page has at most one Navbar."""
        root = self.root
        if root is None or self._id is None:
            return
        page = root.pages.of_block(self._id)
        for block_id, block in root.blocks.items():
            if (
                isinstance(block, Navbar)
                and block_id != self._id
                and root.pages.of_block(block_id) == page
            ):
                raise ValueError(
                    "Only one gr.Navbar component can exist per page. Found multiple Navbar "
                    f"components on page '{page or 'Home'}'. Please remove the extra Navbar "
                    "components."
                )

    def preprocess(self, payload: Any) -> list[tuple[str, str]] | None:
        return check_links(payload)

    def postprocess(self, value: Any) -> list[tuple[str, str]] | None:
        return check_links(value)

    def api_info(self) -> dict[str, Any]:
        return {}

    def own_props(self) -> dict[str, Any]:
        pages = self.root.pages.pages if self.root is not None else []
        shown = [[p.path, p.name, p.show_in_navbar] for p in pages] or [["", "Home", True]]
        return {"main_page_name": self.main_page_name, "pages": shown}
