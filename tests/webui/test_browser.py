"""The served page in headless Chromium: typing, clicking, streaming, tables, uploads, themes.

Needs Debian's `chromium` and `chromium-driver` (CI installs them in `.ci/run`); the module is
skipped where they are absent. The driver is the system one, so nothing is ever downloaded.
"""

from __future__ import annotations

import importlib.util
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1200,1000") as driver:
        yield driver


@pytest.fixture
def page(browser: Driver, serve: Callable[[gr.Blocks], str]) -> Callable[[gr.Blocks], Driver]:
    """Serve an app and open it; returns the browser once the page has built the UI."""

    def open_page(demo: gr.Blocks) -> Driver:
        browser.get(serve(demo))
        until(lambda: browser.execute_script("return window.webui !== undefined"))
        return browser

    return open_page


def value_of(driver: Driver, selector: str) -> str:
    return driver.execute_script(f"return document.querySelector({selector!r}).value")


def test_type_click_chain_errors_logs_updates_and_timer(page: Callable[[gr.Blocks], Driver]):
    def greet(name: str) -> str:
        if not name:
            raise gr.Error("name is empty")
        gr.Info(f"greeting {name}")
        return f"Hello {name}!"

    def hide() -> dict[str, Any]:
        return gr.update(visible=False)

    def tick(count: int) -> tuple[int, str]:
        return count + 1, str(count + 1)

    def offer() -> dict[str, Any]:
        return gr.update(choices=["tea", "milk"], value="milk", label="Drinks")

    with gr.Blocks() as demo:
        with gr.Tab("Main"):
            name = gr.Textbox(label="Name", elem_id="name")
            out = gr.Textbox(label="Greeting", elem_id="out")
            shout = gr.Textbox(label="Shout", elem_id="shout")
            greet_event = gr.Button("Greet", elem_id="greet").click(greet, name, out)
            greet_event.success(lambda text: text.upper(), out, shout)
            gr.Button("Hide", elem_id="hide").click(hide, None, shout)
        with gr.Tab("More", render_children=True):  # in the page, hidden, before it is shown
            count = gr.State(0)
            ticks = gr.Textbox(label="Ticks", elem_id="ticks")
            gr.Timer(0.2).tick(tick, count, [count, ticks])
            drinks = gr.Dropdown(["water"], label="Drink", elem_id="drinks")
            gr.Button("Offer", elem_id="offer").click(offer, None, drinks)
            loaded = gr.Textbox(label="Loaded", elem_id="loaded")
        demo.load(lambda: "page loaded", None, loaded)
    driver = page(demo)

    until(lambda: value_of(driver, "#loaded input") == "page loaded")  # the load event ran
    assert driver.find_element(By.CSS_SELECTOR, "#shout input").get_attribute("readonly")
    assert not driver.find_element(By.CSS_SELECTOR, "#name input").get_attribute("readonly")
    assert not driver.find_element(By.ID, "ticks").is_displayed()  # on the hidden tab
    driver.find_element(By.CSS_SELECTOR, "#name input").send_keys("Ada")
    driver.find_element(By.CSS_SELECTOR, "#greet button").click()
    until(lambda: value_of(driver, "#out input") == "Hello Ada!")
    until(lambda: value_of(driver, "#shout input") == "HELLO ADA!")  # .success ran in the page
    toast = until(lambda: driver.find_elements(By.CSS_SELECTOR, ".webui-toast-info"))
    assert "greeting Ada" in toast[0].text

    driver.find_element(By.CSS_SELECTOR, "#name input").clear()
    driver.find_element(By.CSS_SELECTOR, "#greet button").click()
    error = until(lambda: driver.find_elements(By.CSS_SELECTOR, ".webui-toast-error"))
    assert "name is empty" in error[0].text

    driver.find_element(By.CSS_SELECTOR, "#hide button").click()
    until(lambda: not driver.find_element(By.ID, "shout").is_displayed())

    driver.find_elements(By.CSS_SELECTOR, ".webui-tab")[1].click()
    assert driver.find_element(By.ID, "ticks").is_displayed()
    assert not driver.find_element(By.ID, "name").is_displayed()
    until(lambda: int(value_of(driver, "#ticks input") or 0) >= 3)  # Timer ticks, State counts
    driver.find_element(By.CSS_SELECTOR, "#offer button").click()
    options = "return [...document.querySelectorAll('#drinks option')].map(o => o.textContent)"
    until(lambda: driver.execute_script(options) == ["tea", "milk"])
    assert value_of(driver, "#drinks select") == "1"  # "milk", the second choice
    assert driver.find_element(By.CSS_SELECTOR, "#drinks .webui-label").text == "Drinks"


def test_streamed_output_grows_and_stop_ends_it(page: Callable[[gr.Blocks], Driver]):
    words = [f"word{i} " for i in range(12)]

    def stream():
        text = ""
        for word in words:
            text += word
            time.sleep(0.08)
            yield text

    def endless():
        text = ""
        for i in range(1000):
            text += f"{i} "
            time.sleep(0.05)
            yield text

    def steps(progress=gr.Progress()) -> str:  # noqa: B008 (Gradio declares progress so)
        for _ in progress.tqdm(range(6), desc="Counting"):
            time.sleep(0.15)
        return "counted"

    with gr.Blocks() as demo:
        out = gr.Textbox(label="Streamed", lines=4, elem_id="streamed")
        gr.Button("Stream", elem_id="stream").click(stream, None, out)
        long_out = gr.Textbox(label="Endless", elem_id="endless")
        endless_event = gr.Button("Endless", elem_id="go").click(endless, None, long_out)
        gr.Button("Cancel", elem_id="cancel").click(None, None, None, cancels=[endless_event])
        counted = gr.Textbox(label="Counted", elem_id="counted")
        gr.Button("Count", elem_id="count").click(steps, None, counted)
    driver = page(demo)

    driver.find_element(By.CSS_SELECTOR, "#stream button").click()
    final = "".join(words)
    lengths: set[int] = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = value_of(driver, "#streamed textarea")
        assert final.startswith(text)
        lengths.add(len(text))
        if text == final:
            break
        time.sleep(0.01)
    intermediate = {n for n in lengths if 0 < n < len(final)}
    assert len(intermediate) >= 2, f"saw lengths {sorted(lengths)}"
    assert value_of(driver, "#streamed textarea") == final

    driver.find_element(By.CSS_SELECTOR, "#go button").click()
    until(lambda: len(value_of(driver, "#endless input")) > 10)
    stop = until(lambda: driver.find_elements(By.CSS_SELECTOR, "#endless .webui-stop"))
    stop[0].click()
    until(lambda: not driver.find_elements(By.CSS_SELECTOR, "#endless .webui-status"))
    stopped = value_of(driver, "#endless input")
    time.sleep(0.4)
    assert value_of(driver, "#endless input") == stopped
    assert len(stopped.split()) < 1000

    # A listener with no function that `cancels` the stream stops it as well.
    driver.find_element(By.CSS_SELECTOR, "#go button").click()
    until(lambda: value_of(driver, "#endless input") != stopped)
    driver.find_element(By.CSS_SELECTOR, "#cancel button").click()
    until(lambda: not driver.find_elements(By.CSS_SELECTOR, "#endless .webui-status"))
    cancelled = value_of(driver, "#endless input")
    time.sleep(0.4)
    assert value_of(driver, "#endless input") == cancelled

    driver.find_element(By.CSS_SELECTOR, "#count button").click()
    status = "return document.querySelector('#counted .webui-status-text')?.textContent"
    seen = until(lambda: (driver.execute_script(status) or "").startswith("Counting"))
    assert seen
    assert driver.execute_script("return document.querySelector('#counted progress').value") >= 0
    until(lambda: value_of(driver, "#counted input") == "counted")


def test_chat_reply_streams_into_the_conversation(page: Callable[[gr.Blocks], Driver]):
    def respond(message: str, history: list[dict[str, Any]]):
        reply = ""
        for word in f"you said {message} after {len(history)} messages".split():
            reply += word + " "
            time.sleep(0.06)
            yield reply

    driver = page(gr.ChatInterface(respond))
    messages = "return [...document.querySelectorAll('.webui-message')].map(m => m.textContent)"
    box = driver.find_element(By.CSS_SELECTOR, "[data-testid=textbox] :is(input, textarea)")
    box.send_keys("hello", Keys.ENTER)
    replies: set[str] = set()
    final = "you said hello after 0 messages"
    while len(replies) < 50:
        shown = driver.execute_script(messages)
        if len(shown) == 2:
            assert shown[0] == "hello"
            replies.add(shown[1].strip())
            if shown[1].strip() == final:
                break
        time.sleep(0.01)
    assert final in replies
    assert len({r for r in replies if r != final}) >= 2, sorted(replies)
    box.send_keys("again", Keys.ENTER)
    until(lambda: driver.execute_script(messages)[-1].strip() == "you said again after 2 messages")


def test_dataframe_sort_filter_and_edit_reach_python(page: Callable[[gr.Blocks], Driver]):
    pd = pytest.importorskip("pandas")

    def describe(table: Any) -> str:
        return f"{type(table).__name__}:{table['n'].tolist()}:{table['s'].tolist()}"

    with gr.Blocks() as demo:
        table = gr.Dataframe(
            value=pd.DataFrame({"n": [3, 1, 2], "s": ["c", "a", "b"]}),
            interactive=True,
            show_search="search",
            elem_id="table",
        )
        seen = gr.Textbox(label="Seen", elem_id="seen")
        gr.Button("Send", elem_id="send").click(describe, table, seen)
    driver = page(demo)

    def column(col: int) -> list[str]:
        cells = driver.find_elements(By.CSS_SELECTOR, f"#table tbody td[data-col='{col}']")
        return [cell.text for cell in cells]

    assert column(0) == ["3", "1", "2"]
    header = driver.find_element(By.CSS_SELECTOR, "#table th[data-col='0']")
    header.click()
    assert column(0) == ["1", "2", "3"]
    driver.find_element(By.CSS_SELECTOR, "#table th[data-col='0']").click()
    assert column(0) == ["3", "2", "1"]

    search = driver.find_element(By.CSS_SELECTOR, "#table .webui-dataframe-filter")
    search.send_keys("b")
    assert column(1) == ["b"]
    search.send_keys(Keys.BACKSPACE)
    assert len(column(1)) == 3

    cell = driver.find_element(By.CSS_SELECTOR, "#table td[data-row='0'][data-col='0']")
    webdriver.ActionChains(driver).double_click(cell).perform()
    editor = driver.find_element(By.CSS_SELECTOR, "#table .webui-cell-editor")
    editor.send_keys(Keys.CONTROL, "a")
    editor.send_keys("30", Keys.ENTER)
    assert column(0) == ["30", "2", "1"]  # still sorted descending
    driver.find_element(By.CSS_SELECTOR, "#send button").click()
    until(lambda: value_of(driver, "#seen input") == "DataFrame:[30, 1, 2]:['c', 'a', 'b']")


def test_styler_cells_show_their_text_and_css(page: Callable[[gr.Blocks], Driver]):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"n": [1.0, 7.25]})
    with gr.Blocks() as demo:
        gr.Dataframe(
            frame.style.highlight_max(color="rgb(144, 238, 144)").format(precision=1),
            elem_id="styled",
        )
    driver = page(demo)
    cells = driver.find_elements(By.CSS_SELECTOR, "#styled tbody td")
    assert [cell.text for cell in cells] == ["1.0", "7.2"]  # the Styler's text, not 7.25
    colour = "return getComputedStyle(arguments[0]).backgroundColor"
    assert driver.execute_script(colour, cells[1]) == "rgb(144, 238, 144)"
    assert driver.execute_script(colour, cells[0]) != "rgb(144, 238, 144)"


def _png(path: Path, width: int, height: int) -> Path:
    """A solid red PNG, written without an imaging library."""
    row = b"\x00" + b"\xff\x00\x00" * width
    body = zlib.compress(row * height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body)
    path.write_bytes(png + chunk(b"IEND", b""))
    return path


def test_image_upload_reaches_python_and_comes_back(
    page: Callable[[gr.Blocks], Driver], tmp_path: Path
):
    picture = _png(tmp_path / "red.png", 24, 16)

    def inspect_image(path: str) -> tuple[str, str]:
        return f"{Path(path).suffix}:{Path(path).stat().st_size}", path

    with gr.Blocks() as demo:
        image = gr.Image(type="filepath", label="In", elem_id="picture")
        info = gr.Textbox(label="Info", elem_id="info")
        echoed = gr.Image(label="Out", elem_id="echoed")
        gr.Button("Inspect", elem_id="inspect").click(inspect_image, image, [info, echoed])
    driver = page(demo)

    driver.find_element(By.CSS_SELECTOR, "#picture input[type=file]").send_keys(str(picture))
    preview = "return document.querySelector('#picture img')?.naturalWidth ?? 0"
    until(lambda: driver.execute_script(preview) == 24)  # uploaded, then served back
    driver.find_element(By.CSS_SELECTOR, "#inspect button").click()
    until(lambda: value_of(driver, "#info input") == f".png:{picture.stat().st_size}")
    shown = "return document.querySelector('#echoed img')?.naturalHeight ?? 0"
    until(lambda: driver.execute_script(shown) == 16)


def test_themed_page_renders_every_component_and_screenshots(
    page: Callable[[gr.Blocks], Driver], tmp_path: Path
):
    pd = pytest.importorskip("pandas")
    theme = gr.themes.Soft().set(button_primary_background_fill="#c2185b")
    points = pd.DataFrame({"x": [1, 2, 3, 4], "y": [2.0, 3.5, 1.0, 4.0]})
    with gr.Blocks(theme=theme, css="#title h1 { letter-spacing: 3px; }") as demo:
        gr.Markdown(
            "# Themed\nSome **bold** text and [a link](https://example.org)", elem_id="title"
        )
        with gr.Row():
            with gr.Column():
                gr.Slider(0, 10, value=4, label="Slider")
                gr.Checkbox(True, label="Check")
                gr.Radio(["a", "b"], value="b", label="Radio")
                gr.Dropdown(["x", "y"], value="y", label="Dropdown")
                gr.CheckboxGroup(["p", "q"], value=["q"], label="Group")
                gr.Number(7, label="Number")
            with gr.Column():
                gr.Chatbot(
                    [
                        {"role": "user", "content": "hi"},
                        {"role": "assistant", "content": "**hello**"},
                    ],
                    elem_id="chat",
                )
                gr.Label({"cat": 0.7, "dog": 0.3}, elem_id="label")
        with gr.Accordion("Details"):
            gr.LinePlot(points, x="x", y="y", title="Line", elem_id="line")
            gr.JSON({"a": [1, 2]}, elem_id="json")
            gr.HTML("<em id='raw-html'>raw</em>")
        gr.Button("Primary", variant="primary", elem_id="primary")
    driver = page(demo)

    assert driver.find_elements(By.CSS_SELECTOR, ".webui-unsupported") == []
    background = driver.find_element(By.CSS_SELECTOR, "#primary button").value_of_css_property(
        "background-color"
    )
    assert background == "rgba(194, 24, 91, 1)"
    heading = driver.find_element(By.CSS_SELECTOR, "#title h1")
    assert heading.value_of_css_property("letter-spacing") == "3px"
    assert driver.find_element(By.CSS_SELECTOR, "#title a").get_attribute("rel")
    roles = [
        m.get_attribute("data-role")
        for m in driver.find_elements(By.CSS_SELECTOR, ".webui-message")
    ]
    assert roles == ["user", "assistant"]
    assert driver.find_element(By.CSS_SELECTOR, "#chat strong").text == "hello"
    assert driver.find_element(By.CSS_SELECTOR, "#label .webui-label-value").text == "cat"
    assert len(driver.find_elements(By.CSS_SELECTOR, "#line polyline")) == 1
    assert '"a"' in driver.find_element(By.CSS_SELECTOR, "#json pre").text
    assert driver.find_element(By.ID, "raw-html").text == "raw"

    shot = tmp_path / "themed.png"
    assert driver.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000, f"the screenshot is only {len(data)} bytes"


def test_custom_component_example_renders_and_fires_events(page: Callable[[gr.Blocks], Driver]):
    spec = importlib.util.spec_from_file_location(
        "custom_component_app", EXAMPLES / "custom_component" / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    driver = page(module.demo)

    assert driver.find_element(By.CSS_SELECTOR, ".counter-value").text == "3"
    driver.find_element(By.CSS_SELECTOR, ".counter-plus").click()
    assert driver.find_element(By.CSS_SELECTOR, ".counter-value").text == "4"
    until(lambda: value_of(driver, "[data-testid=textbox] input") == "4 × 2 = 8")


def test_markdown_is_rendered_without_running_markup(page: Callable[[gr.Blocks], Driver]):
    source = (
        "## Heading\n\n<script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'>\n\n"
        "1. one\n2. **two**\n\n[bad](javascript:window.pwned=3) [good](https://example.org/a_b)"
        "\n\n```\n<b>kept</b>\n```\n\n| name | n |\n|---|---:|\n| **one** | 1 |\n| a \\| b |"
    )
    with gr.Blocks() as demo:
        gr.Markdown(source, elem_id="md")
    driver = page(demo)

    box = driver.find_element(By.ID, "md")
    assert box.find_element(By.TAG_NAME, "h2").text == "Heading"
    assert [li.text for li in box.find_elements(By.CSS_SELECTOR, "ol li")] == ["one", "two"]
    # HTML in Markdown is sanitized, as Gradio's is, not shown as text.
    assert box.find_elements(By.TAG_NAME, "script") == []
    assert "window.pwned" not in box.text
    assert [img.get_attribute("onerror") for img in box.find_elements(By.TAG_NAME, "img")] == [None]
    links = [a.get_attribute("href") for a in box.find_elements(By.TAG_NAME, "a")]
    assert links == [None, "https://example.org/a_b"]  # the javascript: link lost its href
    assert box.find_element(By.CSS_SELECTOR, "pre code").text == "<b>kept</b>"
    cells = [c.text for c in box.find_elements(By.CSS_SELECTOR, "table :is(th, td)")]
    assert cells == ["name", "n", "one", "1", "a | b", ""]  # a short row is padded
    assert box.find_element(By.CSS_SELECTOR, "td strong").text == "one"
    number = box.find_element(By.CSS_SELECTOR, "tbody td:nth-child(2)")
    assert number.value_of_css_property("text-align") == "right"
    assert driver.execute_script("return window.pwned === undefined")
