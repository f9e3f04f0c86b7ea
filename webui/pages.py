"""Pages of a multipage app, as Gradio's `demo.route(name, path)`.

Story: an app starts with one page, "" (named "Home"). `demo.route("Settings")` adds a page and
makes it current: the blocks and events created in the `with demo.route(...):` that follows
belong to it (Gradio's rule, so the page stays current until the next route). `/config` lists
the pages (`pages`) and, per page, the top-level layout, components and events (`page`); each
page is served at `/<path>` (the same shell as `/`), and the page's modules build only that
page and run only its load events. Every page's events are in the API.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

# First path segments the app's own routes use (Gradio's list, and webui's `file=`).
INTERNAL_ROUTES = frozenset(
    {
        "theme.css",
        "robots.txt",
        "pwa_icon",
        "manifest.json",
        "login",
        "logout",
        "svelte",
        "config",
        "static",
        "assets",
        "favicon.ico",
        "gradio_api",
        "monitoring",
    }
)
_PATH = re.compile(r"^[a-zA-Z0-9\-._~!$&'()*+,;=:@\[\]]+$")


def slugify(name: str) -> str:
    """A page path from its name: ASCII, lowercase, words joined by '-' (Gradio's rule)."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text.lower())
    return re.sub(r"[-\s]+", "-", text).strip("-_")


@dataclass(frozen=True)
class Page:
    path: str
    name: str
    show_in_navbar: bool


class Pages:
    """One app's pages, the current one, and the page of each block and event."""

    def __init__(self) -> None:
        self.pages: list[Page] = [Page("", "Home", True)]
        self.current = ""
        self._block_page: dict[int, str] = {}
        self._dependency_page: dict[int, str] = {}

    def add(self, name: str, path: str | None = None, show_in_navbar: bool = True) -> str:
        """Add a page and make it current; returns its path.

        Raises:
            ValueError: the path has characters a URL path segment cannot hold, or is one of
                the app's own routes, or no path can be made from the name.
        """
        if path:
            path = path.strip("/")
            if not _PATH.match(path):
                raise ValueError(
                    f"Path '{path}' contains invalid characters. Paths can only contain "
                    "alphanumeric characters and the following special characters: "
                    "-._~!$&'()*+,;=:@[]"
                )
            if path in INTERNAL_ROUTES:
                raise ValueError(f"Route with path '{path}' already exists")
        else:
            path = slugify(name)
            if not path:
                raise ValueError(f"Route with path '{name}' is not valid")
        taken = {page.path for page in self.pages}
        while path in INTERNAL_ROUTES or path in taken:
            path = "_" + path
        self.pages.append(Page(path, str(name), bool(show_in_navbar)))
        self.current = path
        return path

    def place_block(self, block_id: int) -> None:
        self._block_page[block_id] = self.current

    def place_dependency(self, dependency_id: int) -> None:
        self._dependency_page[dependency_id] = self.current

    def of_block(self, block_id: int) -> str:
        return self._block_page.get(block_id, "")

    def paths(self) -> list[str]:
        return [page.path for page in self.pages]

    def config(
        self,
        layout: dict[str, Any],
        components: list[dict[str, Any]],
        dependencies: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """`/config`'s `pages` and `page`: each page's top-level layout, components, events."""
        page: dict[str, Any] = {
            p.path: {
                "layout": {"id": layout["id"], "children": []},
                "components": [],
                "dependencies": [],
            }
            for p in self.pages
        }
        for child in layout.get("children", []):
            page[self.of_block(child["id"])]["layout"]["children"].append(child)
        for component in components:
            page[self.of_block(component["id"])]["components"].append(component["id"])
        for dependency in dependencies:
            where = self._dependency_page.get(dependency["id"], "")
            page[where]["dependencies"].append(dependency["id"])
        pages = [[p.path, p.name, p.show_in_navbar] for p in self.pages]
        return {"pages": pages, "page": page}
