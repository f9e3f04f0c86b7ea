"""Jupyter support without a kernel: detection, the iframe, and what launch() shows inline."""

from __future__ import annotations

import subprocess
import sys
import threading
import types

import httpx
import pytest

import webui as gr
import webui.blocks
from webui import notebook


def fake_ipython(shell: object) -> types.ModuleType:
    module = types.ModuleType("IPython")
    module.get_ipython = lambda: shell  # type: ignore[attr-defined]
    return module


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        (types.SimpleNamespace(kernel=object()), True),  # ZMQInteractiveShell: a Jupyter kernel
        (types.SimpleNamespace(), False),  # TerminalInteractiveShell: no kernel
        (None, False),  # IPython imported, but no shell running
    ],
)
def test_in_notebook_needs_a_kernel(monkeypatch, shell, expected) -> None:
    monkeypatch.setitem(sys.modules, "IPython", fake_ipython(shell))
    assert notebook.in_notebook() is expected


def test_not_in_notebook_when_ipython_was_never_imported(monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert notebook.in_notebook() is False
    assert notebook.interactive() is False  # pytest runs no prompt


def test_iframe_html_escapes_the_url_and_sizes() -> None:
    html = notebook.iframe_html('http://127.0.0.1:7860/?a="b"&c', height=320, width="80%")
    assert 'src="http://127.0.0.1:7860/?a=&quot;b&quot;&amp;c"' in html
    assert "height: 320px;" in html and "width: 80%;" in html
    assert html.count("<iframe") == 1


def test_webui_never_imports_ipython() -> None:
    code = (
        "import sys, webui as gr\n"
        "demo = gr.Blocks()\n"
        "demo.launch(prevent_thread_lock=True, quiet=True)\n"
        "demo.close()\n"
        "assert 'IPython' not in sys.modules, 'IPython imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_inline_without_ipython_warns_and_still_serves(monkeypatch, caplog) -> None:
    monkeypatch.setitem(sys.modules, "IPython.display", None)  # import fails
    demo = gr.Blocks()
    try:
        demo.launch(inline=True, prevent_thread_lock=True, quiet=True)
        assert "inline=True needs IPython" in caplog.text
        assert httpx.get(f"{demo.local_url}config").status_code == 200
    finally:
        demo.close()


@pytest.fixture
def displayed(monkeypatch) -> list[object]:
    """Pretends to be a Jupyter kernel; collects what is displayed in the cell's output."""
    display_module = pytest.importorskip("IPython.display")
    objects: list[object] = []
    monkeypatch.setattr(display_module, "display", lambda *values, **_: objects.extend(values))
    for module in (webui.blocks, notebook):
        monkeypatch.setattr(module, "in_notebook", lambda: True)
    return objects


def iframes(objects: list[object]) -> list[str]:
    return [o._repr_html_() for o in objects if hasattr(o, "_repr_html_")]


def echo_app() -> gr.Blocks:
    with gr.Blocks() as demo:
        box = gr.Textbox()
        box.submit(lambda text: text[::-1], box, box, api_name="reverse")
    return demo


def test_launch_in_a_notebook_shows_an_iframe_and_returns(displayed) -> None:
    demo = echo_app()
    returned: list[object] = []
    # prevent_thread_lock is left False: in a notebook launch() still must not block.
    thread = threading.Thread(
        target=lambda: returned.append(demo.launch(quiet=True, height=320)), daemon=True
    )
    thread.start()
    thread.join(30)
    try:
        assert returned, "launch() blocked the notebook"
        (html,) = iframes(displayed)
        assert f'<iframe src="{demo.local_url}"' in html and "height: 320px" in html
        assert httpx.get(f"{demo.local_url}config").status_code == 200
        assert hasattr(returned[0], "_ipython_display_")  # the tuple itself shows nothing
    finally:
        demo.close()


def test_inline_false_shows_nothing(displayed) -> None:
    demo = echo_app()
    try:
        demo.launch(inline=False, quiet=True)
        assert displayed == []
    finally:
        demo.close()


def test_displaying_a_blocks_launches_it_once(displayed) -> None:
    demo = echo_app()
    try:
        demo._ipython_display_()  # what Jupyter calls for a cell ending in `demo`
        url = demo.local_url
        assert url is not None and httpx.get(f"{url}config").status_code == 200
        demo._ipython_display_()
        assert demo.local_url == url
        assert [f'<iframe src="{url}"' in html for html in iframes(displayed)] == [True, True]
    finally:
        demo.close()


def test_displaying_outside_a_notebook_is_text(monkeypatch) -> None:
    display_module = pytest.importorskip("IPython.display")
    objects: list[object] = []
    monkeypatch.setattr(display_module, "display", lambda *values, **_: objects.extend(values))
    demo = echo_app()
    demo._ipython_display_()
    assert demo.local_url is None  # nothing launched
    assert objects == [{"text/plain": repr(demo)}]
