"""The page routes: the HTML shell, its static modules, package data, custom component modules."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from starlette.testclient import TestClient

import webui as gr
from webui.page import STATIC_DIR, custom_modules

REPO = Path(__file__).resolve().parents[2]
IMPORT = re.compile(r"""^import\s[^'"]*?from\s+["'](\.[^"']+)["'];""", re.M | re.S)


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "custom_component_app", REPO / "examples" / "custom_component" / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def http() -> Iterator[TestClient]:
    with gr.Blocks(title="<Demo & co>") as demo:
        gr.Textbox()
    with TestClient(demo.app) as client:
        yield client


def test_page_is_a_shell_that_loads_the_app_module(http: TestClient):
    reply = http.get("/")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/html")
    page = reply.text
    assert "<title>&lt;Demo &amp; co&gt;</title>" in page
    assert '<script type="module" src="static/app.js"></script>' in page
    assert 'href="static/webui.css"' in page and 'href="theme.css?v=' in page
    modules = re.search(r'id="webui-custom-modules">(.*?)</script>', page)
    assert modules is not None and json.loads(modules.group(1)) == {}
    assert "https://" not in page and "http://" not in page  # works offline: nothing external


def test_static_modules_are_served_and_every_import_resolves(http: TestClient):
    scripts = sorted(STATIC_DIR.rglob("*.js"))
    assert {"app.js", "protocol.js", "events.js", "diff.js", "markdown.js"} <= {
        p.name for p in scripts
    }
    for script in scripts:
        url = f"/static/{script.relative_to(STATIC_DIR).as_posix()}"
        reply = http.get(url)
        assert reply.status_code == 200, url
        assert "javascript" in reply.headers["content-type"], url
        for target in IMPORT.findall(script.read_text()):
            assert (script.parent / target).resolve().is_file(), f"{script.name} imports {target}"
        assert "cdn" not in script.read_text().lower()  # no fetches outside the app
    assert http.get("/static/webui.css").headers["content-type"].startswith("text/css")


def test_static_route_refuses_what_is_not_there(http: TestClient):
    assert http.get("/static/missing.js").status_code == 404
    assert http.get("/static/../page.py").status_code == 404
    assert http.get("/static/..%2fpage.py").status_code == 404


def test_package_data_ships_every_static_file():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["webui"]
    for path in STATIC_DIR.rglob("*"):
        if path.is_file():
            name = path.relative_to(STATIC_DIR.parent).as_posix()
            assert any(fnmatch.fnmatch(name, p) for p in patterns), f"{name} is not package data"


def test_custom_component_module_is_named_in_the_page_and_served():
    example = load_example()
    with TestClient(example.demo.app) as http:
        page = http.get("/").text
        modules = json.loads(re.search(r'id="webui-custom-modules">(.*?)</script>', page).group(1))
        assert modules == {"counter": "gradio_api/custom_component/counter/counter.js"}
        reply = http.get("/" + modules["counter"])
        assert reply.status_code == 200 and reply.headers["content-type"].startswith(
            "text/javascript"
        )
        assert "export function create(props, ctx)" in reply.text
        types = {c["type"] for c in http.get("/config").json()["components"]}
        assert "counter" in types
        for bad in ("app.py", "..%2fapp.py", ".hidden.js", "missing.js", "sub%2fx.js"):
            assert http.get(f"/gradio_api/custom_component/counter/{bad}").status_code == 404, bad
        assert http.get("/gradio_api/custom_component/slider/index.js").status_code == 404


def test_custom_component_reaches_python_through_the_queue():
    example = load_example()
    with TestClient(example.demo.app) as http:
        reply = http.post("/gradio_api/run/describe", json={"data": [5]})
        assert reply.status_code == 200 and reply.json()["data"] == ["5 × 2 = 10"]


def test_custom_modules_report_bad_declarations(tmp_path: Path):
    module = tmp_path / "widget.js"
    module.write_text("export function create() {}")

    def app_with(block_type: str, js_module: Path) -> gr.Blocks:
        widget = type("Widget", (gr.Textbox,), {"block_type": block_type, "js_module": js_module})
        with gr.Blocks() as demo:
            widget()
        return demo

    assert custom_modules(app_with("widget", module)) == {"widget": module.resolve()}
    with pytest.raises(ValueError, match=r"Widget.js_module must be an existing .js"):
        custom_modules(app_with("widget", tmp_path / "absent.js"))
    with pytest.raises(ValueError, match=r"Widget.js_module must be an existing .js"):
        custom_modules(app_with("widget", tmp_path))
    with pytest.raises(ValueError, match=r"block_type 'Wid-get' must be lowercase"):
        custom_modules(app_with("Wid-get", module))
