"""The browser side's routes: the page at `/`, its static modules, `/theme.css`, custom modules.

The page is a small HTML shell; `static/app.js` fetches `/config` and builds the UI from it. A
component class that sets `js_module` (a path to an ES module file) is a custom component: its
module is served from `/gradio_api/custom_component/{block_type}/{file}` and the page imports it
to render blocks of that type (see the README's "Custom components" section).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from webui.urls import API_PREFIX

if TYPE_CHECKING:
    from webui.root import Root

STATIC_DIR = Path(__file__).parent / "static"
_BLOCK_TYPE = re.compile(r"^[a-z][a-z0-9_]*$")
_MODULE_FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_MEDIA_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css"}
NO_CACHE = {"Cache-Control": "no-cache"}


def custom_modules(blocks: Root) -> dict[str, Path]:
    """`{block_type: module file}` for every custom component class used in `blocks`.

    Raises:
        ValueError: a `js_module` is missing, is not a `.js`/`.mjs` file, or its block type
            cannot appear in a URL.
    """
    modules: dict[str, Path] = {}
    for block in blocks.blocks.values():
        module = getattr(type(block), "js_module", None)
        if module is None:
            continue
        block_type = block.block_type
        name = type(block).__name__
        if not _BLOCK_TYPE.match(block_type):
            raise ValueError(
                f"{name}.block_type {block_type!r} must be lowercase letters, digits and _"
            )
        path = Path(module).resolve()
        if path.suffix not in (".js", ".mjs") or not path.is_file():
            raise ValueError(f"{name}.js_module must be an existing .js or .mjs file: {module}")
        if modules.setdefault(block_type, path) != path:
            raise ValueError(f"two component classes use block_type {block_type!r}")
    return modules


def page_html(blocks: Root) -> str:
    """The HTML shell; everything visible is built by the modules it loads."""
    modules = {
        block_type: f"{API_PREFIX.lstrip('/')}/custom_component/{block_type}/{path.name}"
        for block_type, path in custom_modules(blocks).items()
    }
    return _shell(blocks, blocks.title, modules)


def login_page_html(blocks: Root) -> str:
    """The shell served at `/` to a visitor without a session: nothing of the app but its theme.

    Its modules find `/config` answering 401 and show the login form (`static/login.js`).
    """
    return _shell(blocks, "Log in", {})


def _shell(blocks: Root, title: str, modules: dict[str, str]) -> str:
    # `</` inside a script element would end it early; JSON allows `<\/` for the same text.
    module_json = json.dumps(modules).replace("</", "<\\/")
    theme_hash = blocks.theme.hash()[:16]
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="theme.css?v={theme_hash}">
<link rel="stylesheet" href="static/webui.css">
<script type="application/json" id="webui-custom-modules">{module_json}</script>
<script type="module" src="static/app.js"></script>
</head>
<body>
<div id="webui-app" class="webui-app"><p class="webui-loading">Loading…</p></div>
<noscript>This app needs JavaScript.</noscript>
</body>
</html>
"""


class PageRoutes:
    """Handlers for the page, its theme and custom component modules of one Blocks app."""

    def __init__(self, blocks: Root):
        self.blocks = blocks

    async def page(self, request: Request) -> Response:
        return HTMLResponse(page_html(self.blocks), headers=NO_CACHE)

    async def theme_css(self, request: Request) -> Response:
        return Response(self.blocks.theme.css(), media_type="text/css", headers=NO_CACHE)

    async def custom_component(self, request: Request) -> Response:
        block_type = request.path_params["block_type"]
        file_name = request.path_params["file_name"]
        module = custom_modules(self.blocks).get(block_type)
        if module is None:
            return JSONResponse({"detail": f"no custom component {block_type!r}"}, 404)
        # Only plain names of files beside the module: no sub-folders, no `..`, no dotfiles.
        path = module.parent / file_name
        if (
            not _MODULE_FILE.match(file_name)
            or path.suffix not in _MEDIA_TYPES
            or not path.is_file()
            or path.resolve().parent != module.parent
        ):
            return JSONResponse({"detail": f"{block_type} has no module file {file_name!r}"}, 404)
        return FileResponse(path, media_type=_MEDIA_TYPES[path.suffix], headers=NO_CACHE)


def page_routes(blocks: Root) -> list[BaseRoute]:
    """The routes to add to the app beside the protocol routes."""
    routes = PageRoutes(blocks)
    # Each page of a multipage app (demo.route) is the same shell at its own path.
    pages = [Route(f"/{path}", routes.page) for path in blocks.pages.paths() if path]
    return [
        Route("/", routes.page),
        *pages,
        Route("/theme.css", routes.theme_css),
        Route(f"{API_PREFIX}/theme.css", routes.theme_css),
        Route(
            f"{API_PREFIX}/custom_component/{{block_type}}/{{file_name}}", routes.custom_component
        ),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
