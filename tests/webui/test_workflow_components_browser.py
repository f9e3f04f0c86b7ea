"""FileExplorer, Dialogue, ParamViewer, Walkthrough/Step, Draggable, DuplicateButton and File's
remove button in headless Chromium: each renders without console errors and does its job.
Skipped where chromium and chromium-driver are absent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1200,1600", console_errors=True) as driver:
        yield driver


# HTML5 drag and drop as the browser dispatches it (WebDriver's own drag sends mouse events).
DRAG = """
const [source, target] = arguments;
const data = new DataTransfer();
const box = target.getBoundingClientRect();
source.dispatchEvent(new DragEvent("dragstart", {bubbles: true, dataTransfer: data}));
target.dispatchEvent(new DragEvent("dragover", {
  bubbles: true, cancelable: true, dataTransfer: data, clientX: box.left + 2, clientY: box.top + 2,
}));
target.dispatchEvent(new DragEvent("drop", {bubbles: true, cancelable: true, dataTransfer: data}));
source.dispatchEvent(new DragEvent("dragend", {bubbles: true, dataTransfer: data}));
"""


def css(browser: Driver, selector: str) -> list:
    return browser.find_elements(By.CSS_SELECTOR, selector)


def build_app(root: Path, upload: Path) -> gr.Blocks:
    with gr.Blocks() as demo:
        with gr.Walkthrough(selected=0, elem_id="walk") as walk:
            with gr.Step("First", id=0):
                explorer = gr.FileExplorer(root_dir=root, glob="**/*.txt", elem_id="explorer")
                picked = gr.Textbox(elem_id="picked")
                explorer.change(lambda paths: ",".join(paths or []), explorer, picked)
                gr.Button("Docs", elem_id="docs").click(
                    lambda: gr.FileExplorer(root_dir=root / "docs"), None, explorer
                )
                gr.Button("Next", elem_id="next").click(
                    lambda: gr.Walkthrough(selected=1), outputs=walk
                )
            with gr.Step("Second", id=1, elem_id="second"):
                speech = gr.Dialogue(
                    [{"speaker": "Ada", "text": "hello"}],
                    speakers=["Ada", "Bob"],
                    tags=["(laughs)"],
                    interactive=True,
                    elem_id="speech",
                )
                said = gr.Textbox(elem_id="said")
                speech.submit(lambda text: text, speech, said)
        gr.ParamViewer(
            {"n": {"type": "int", "description": "How **many**", "default": "1"}},
            anchor_links=True,
            elem_id="params",
        )
        with gr.Draggable(orientation="column", elem_id="drag"):
            gr.Markdown("one", elem_id="one")
            gr.Markdown("two", elem_id="two")
        gr.DuplicateButton(elem_id="dup")
        files = gr.File([str(upload)], file_count="multiple", interactive=True, elem_id="files")
        removed = gr.Textbox(elem_id="removed")

        def deleted(evt: gr.DeletedFileData) -> str:
            return Path(evt.file.path).name

        files.delete(deleted, None, removed)
    return demo


def test_workflow_components_in_the_page(browser: Driver, serve: object, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "notes.txt").write_text("n")
    (root / "skip.py").write_text("s")
    (root / ".env").write_text("secret")
    upload = tmp_path / "report.txt"
    upload.write_text("report")
    browser.get(serve(build_app(root, upload)))  # type: ignore[operator]
    until(lambda: css(browser, "#explorer .webui-fileexplorer-entry"))
    assert css(browser, ".webui-unsupported") == []
    names = [e.text for e in css(browser, "#explorer .webui-fileexplorer-name")]
    assert names == ["docs"]  # no .env, and skip.py is outside the glob
    css(browser, "#explorer .webui-fileexplorer-toggle")[0].click()
    box = until(lambda: css(browser, "#explorer [data-path='docs/notes.txt'] input"))[0]
    box.click()
    until(lambda: css(browser, "#picked textarea, #picked input")[0].get_attribute("value"))
    value = css(browser, "#picked textarea, #picked input")[0].get_attribute("value")
    assert value == str(root / "docs" / "notes.txt")

    # an update to root_dir lists the new root (ls answers from the session's copy)
    css(browser, "#docs")[0].click()
    until(
        lambda: (
            [e.text for e in css(browser, "#explorer .webui-fileexplorer-name")] == ["notes.txt"]
        )
    )

    # the walkthrough shows one step; the event moves it to the second
    assert css(browser, "#second")[0].is_displayed() is False
    css(browser, "#next")[0].click()
    until(lambda: css(browser, "#second")[0].is_displayed())
    assert "webui-step-done" in css(browser, ".webui-step")[0].get_attribute("class")

    # a dialogue line: the speaker menu, a tag offered after ":", Enter submits the text
    line = css(browser, "#speech .webui-dialogue-words")[0]
    assert line.get_attribute("value") == "hello"
    line.send_keys(" :la")
    tag = until(
        lambda: [t for t in css(browser, "#speech .webui-dialogue-tag") if t.is_displayed()]
    )
    assert tag[0].text == "(laughs)"
    line.send_keys(Keys.ESCAPE)
    line.send_keys(Keys.ENTER)
    said = until(lambda: css(browser, "#said textarea, #said input")[0].get_attribute("value"))
    assert said.startswith("[Ada] hello")
    css(browser, "#speech .webui-dialogue-mode")[0].click()
    text = until(lambda: css(browser, "#speech .webui-dialogue-text")[0].get_attribute("value"))
    assert text.startswith("[Ada] hello")  # the server's format

    # ParamViewer: a row per parameter, its description as Markdown, an anchor
    assert css(browser, "#param-n .webui-param-name")[0].text == "n"
    css(browser, "#param-n summary")[0].click()
    assert css(browser, "#param-n .webui-param-description strong")[0].text == "many"

    # Draggable: dragging the second child over the top half of the first puts it first
    items = css(browser, "#drag .webui-draggable-item")
    assert len(items) == 2 and items[0].get_attribute("draggable") == "true"
    browser.execute_script(DRAG, items[1], items[0])
    order = [e.get_attribute("id") for e in css(browser, "#drag .webui-draggable-item")]
    assert order == ["two", "one"]

    # DuplicateButton off Spaces: shown, inert
    assert css(browser, "#dup button, #dup")[0].text == "Duplicate Space"

    # File: the remove button fires delete with the file
    css(browser, "#files .webui-file-remove")[0].click()
    removed = until(
        lambda: css(browser, "#removed textarea, #removed input")[0].get_attribute("value")
    )
    assert removed == "report.txt"
    errors = [e for e in browser.get_log("browser") if "favicon" not in e["message"]]
    assert errors == []
