"""The sanitizer's files: vendored marked and DOMPurify, their licences, and who writes HTML.

Browser behaviour (payloads that must not run) is in `test_sanitize_browser.py`; these checks
need no browser.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

from starlette.testclient import TestClient

import webui as gr
from webui.page import STATIC_DIR

REPO = Path(__file__).resolve().parents[2]
VENDOR = STATIC_DIR / "vendor"
# vendored module -> (its licence files, the version its header names)
VENDORED = {
    "marked.esm.js": (["marked.LICENSE"], re.compile(r"marked v(\d+\.\d+\.\d+)")),
    "purify.es.mjs": (
        ["dompurify.LICENSE", "dompurify.LICENSE-MPL"],
        re.compile(r"DOMPurify (\d+\.\d+\.\d+)"),
    ),
}
# Modules that may hand a string to the HTML parser, and why.
RAW_HTML = {
    "components/html.js": "gr.HTML shows the app's own markup, as Gradio's does",
    "extras.js": "launch(head=...) is the app's own <head> markup, as Gradio's is",
}
HTML_SINKS = re.compile(r"\.innerHTML\s*=|\.outerHTML\s*=|insertAdjacentHTML|document\.write")


def test_markdown_renders_with_the_vendored_modules_and_no_url_filter_of_its_own():
    markdown = (STATIC_DIR / "markdown.js").read_text()
    sanitize = (STATIC_DIR / "sanitize.js").read_text()
    assert 'from "./vendor/marked.esm.js";' in markdown
    assert 'from "./sanitize.js";' in markdown
    assert 'from "./vendor/purify.es.mjs";' in sanitize
    assert "javascript" not in markdown.lower() and "safeUrl" not in markdown
    assert "ALLOWED_URI_REGEXP" in sanitize  # the URL policy is DOMPurify's configuration


def test_vendored_modules_carry_licences_and_the_versions_the_readme_names():
    readme = (VENDOR / "README.md").read_text()
    for module, (licences, version) in VENDORED.items():
        header = (VENDOR / module).read_text()[:1000]
        found = version.search(header)
        assert found is not None, f"{module} names no version in its header"
        row = next(line for line in readme.splitlines() if f"`{module}`" in line)
        assert f"| {found.group(1)} |" in row, f"README names another version of {module}"
        for licence in licences:
            assert (VENDOR / licence).stat().st_size > 500, licence
            assert f"`{licence}`" in row


def test_vendored_files_are_package_data():
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["webui"]
    files = [p.relative_to(STATIC_DIR.parent).as_posix() for p in VENDOR.iterdir()]
    assert {"static/vendor/marked.esm.js", "static/vendor/purify.es.mjs"} <= set(files)
    for name in files:
        assert any(fnmatch.fnmatch(name, p) for p in patterns), f"{name} is not package data"


def test_vendored_modules_are_served_as_javascript():
    with gr.Blocks() as demo:
        gr.Markdown("**x**")
    with TestClient(demo.app) as http:
        for module in [*VENDORED, "../sanitize.js", "../markdown.js"]:
            reply = http.get(f"/static/vendor/{module}".replace("vendor/../", ""))
            assert reply.status_code == 200, module
            assert "javascript" in reply.headers["content-type"], module


def test_only_the_raw_html_component_hands_strings_to_the_html_parser():
    writers = {
        path.relative_to(STATIC_DIR).as_posix()
        for path in STATIC_DIR.rglob("*.js")
        if "vendor" not in path.parts and HTML_SINKS.search(path.read_text())
    }
    assert writers == set(RAW_HTML), "untrusted text goes through textContent or sanitize.js"
