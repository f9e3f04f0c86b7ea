"""Corpus apps of the components family: media, files, pickers, text displays and plots."""

from __future__ import annotations

import datetime
from pathlib import Path

from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

import webui as gr
from tests.browser import until
from tests.webui.corpus.page import AppTable, Exercise, Page

table = AppTable("components")


@table("Video as an output: a click loads the sample MP4, which Chromium decodes")
def video_player(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    with gr.Blocks() as demo:
        clip = gr.Video(label="Clip", elem_id="clip")
        gr.Button("Load clip", elem_id="load").click(
            lambda: gr.media.get_video("world.mp4"), None, clip
        )

    def exercise(page: Page) -> None:
        page.click("#load button")
        size = until(
            lambda: page.script(
                "const v = document.querySelector('#clip video');"
                "return v && v.readyState >= 2 && [v.videoWidth, v.videoHeight];"
            )
        )
        assert size == [48, 32]

    return demo, exercise


@table("Gallery with captions; select sends the clicked item (gr.SelectData)")
def gallery_select(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def describe(evt: gr.SelectData) -> str:
        return f"#{evt.index}: {evt.value['caption']}"

    with gr.Blocks() as demo:
        pictures = gr.Gallery(
            [(gr.media.get_image("bus.png"), "a bus"), (gr.media.get_image("lion.jpg"), "a lion")],
            columns=2,
            elem_id="pictures",
        )
        picked = gr.Textbox(label="Picked", elem_id="picked")
        pictures.select(describe, None, picked)

    def exercise(page: Page) -> None:
        until(lambda: page.script("return document.querySelectorAll('#pictures img').length == 2"))
        page.all("#pictures figure")[1].click()
        page.until_value("#picked input", "#1: a lion")

    return demo, exercise


@table("ClearButton empties a Textbox, a Number and a Checkbox")
def clear_button(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    with gr.Blocks() as demo:
        title = gr.Textbox("Draft", label="Title", elem_id="title")
        pages = gr.Number(12, label="Pages", elem_id="pages")
        done = gr.Checkbox(True, label="Done", elem_id="done")
        gr.ClearButton([title, pages, done], elem_id="clear")

    def exercise(page: Page) -> None:
        page.type("#title input", " two")
        page.click("#clear button")
        page.until_value("#title input", "")
        assert page.value("#pages input") == ""
        assert not page.find("#done input").is_selected()

    return demo, exercise


@table("UploadButton's upload event hands fn the uploaded file's path")
def upload_button(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    notes = tmp / "notes.txt"
    notes.write_text("one\ntwo\nthree\n")

    def count_lines(path: str) -> str:
        return f"{Path(path).name}: {len(Path(path).read_text().splitlines())} lines"

    with gr.Blocks() as demo:
        upload = gr.UploadButton("Pick a text file", file_types=[".txt"], elem_id="upload")
        summary = gr.Textbox(label="Summary", elem_id="summary")
        upload.upload(count_lines, upload, summary)

    def exercise(page: Page) -> None:
        page.type("#upload input[type=file]", str(notes))
        page.until_value("#summary input", "notes.txt: 3 lines")

    return demo, exercise


@table("DownloadButton as an output: a click writes a CSV and offers it for download")
def download_button(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def export(rows: float) -> str:
        report = tmp / "squares.csv"
        report.write_text("n,square\n" + "".join(f"{i},{i * i}\n" for i in range(int(rows))))
        return str(report)

    with gr.Blocks() as demo:
        rows = gr.Number(4, label="Rows", elem_id="rows")
        download = gr.DownloadButton("Download squares", elem_id="download")
        gr.Button("Export", elem_id="export").click(export, rows, download)

    def exercise(page: Page) -> None:
        assert page.find("#download a").get_attribute("href") is None
        page.click("#export button")
        href = until(lambda: page.find("#download a").get_attribute("href"))
        assert href.endswith("squares.csv"), href
        assert page.find("#download a").text == "Download squares"

    return demo, exercise


@table("MultimodalTextbox: attach a file, type, Enter submits {text, files}")
def multimodal_message(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def receive(message: dict[str, list[str] | str]) -> str:
        files = [Path(f).name for f in message["files"]]
        return f"{message['text']} + {files}"

    with gr.Blocks() as demo:
        box = gr.MultimodalTextbox(file_count="multiple", elem_id="box")
        got = gr.Textbox(label="Received", elem_id="got")
        box.submit(receive, box, got)

    def exercise(page: Page) -> None:
        page.type("#box input[type=file]", gr.media.get_image("logo.png"))
        page.until_text("#box .webui-file-chip", "logo.png")
        page.type("#box input[type=text]", "look", Keys.ENTER)
        page.until_value("#got input", "look + ['logo.png']")

    return demo, exercise


@table("Code editor's change event; HighlightedText select on a token")
def code_and_highlights(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def tag(source: str) -> list[tuple[str, str | None]]:
        keywords = {"def", "return", "import"}
        return [(word + " ", "keyword" if word in keywords else None) for word in source.split()]

    def explain(evt: gr.SelectData) -> str:
        return f"{evt.value[0].strip()} is a {evt.value[1]}"

    with gr.Blocks() as demo:
        source = gr.Code("def f", language="python", elem_id="source")
        tokens = gr.HighlightedText(elem_id="tokens", show_legend=True)
        meaning = gr.Textbox(label="Meaning", elem_id="meaning")
        source.change(tag, source, tokens)
        tokens.select(explain, None, meaning)

    def exercise(page: Page) -> None:
        page.type("#source textarea", "(): return 1")
        until(lambda: len(page.all("#tokens .webui-highlighted > .webui-token")) == 4)
        page.all("#tokens .webui-highlighted > .webui-token")[2].click()
        page.until_value("#meaning input", "return is a keyword")

    return demo, exercise


@table("DateTime submit (a timestamp reaches fn); ColorPicker change set by script")
def date_and_colour(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def weekday(stamp: float) -> str:
        return datetime.datetime.fromtimestamp(stamp).strftime("%A")

    def rgb(colour: str) -> str:
        return "rgb" + str(tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5)))

    with gr.Blocks() as demo:
        when = gr.DateTime("2025-12-24 12:00:00", label="When", elem_id="when")
        day = gr.Textbox(label="Day", elem_id="day")
        colour = gr.ColorPicker("#000000", label="Colour", elem_id="colour")
        channels = gr.Textbox(label="Channels", elem_id="channels")
        when.submit(weekday, when, day)
        colour.change(rgb, colour, channels)

    def exercise(page: Page) -> None:
        field = page.find("#when input")
        field.clear()
        field.send_keys("2025-12-25 12:00:00", Keys.ENTER)
        page.until_value("#day input", "Thursday")
        # Headless Chromium has no colour dialog to click: set the input as the dialog would.
        page.script(
            "const input = document.querySelector('#colour input');"
            "input.value = '#ff8000'; input.dispatchEvent(new Event('change'));"
        )
        page.until_value("#channels input", "rgb(255, 128, 0)")

    return demo, exercise


@table("BrowserState: a value saved by an event is read back by demo.load after a reload")
def browser_state(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    with gr.Blocks() as demo:
        saved = gr.BrowserState("", storage_key="corpus_nickname")
        nickname = gr.Textbox(label="Nickname", elem_id="nickname")
        welcome = gr.Textbox(label="Welcome", elem_id="welcome")
        gr.Button("Remember me", elem_id="remember").click(lambda n: n, nickname, saved)
        demo.load(lambda n: f"welcome back, {n}" if n else "first visit", saved, welcome)

    def exercise(page: Page) -> None:
        page.until_value("#welcome input", "first visit")
        page.type("#nickname input", "Grace")
        page.click("#remember button")
        until(lambda: page.script("return localStorage.getItem('webui:corpus_nickname')"))
        page.open()
        page.until_value("#welcome input", "welcome back, Grace")

    return demo, exercise


@table("Dropdown select redraws a LinePlot (a pandas DataFrame as the plot's value)")
def dropdown_plot(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    import pytest

    pd = pytest.importorskip("pandas")

    def curve(kind: str) -> object:
        xs = list(range(6))
        ys = [x * x if kind == "square" else 2 * x for x in xs]
        return pd.DataFrame({"x": xs, "y": ys})

    with gr.Blocks() as demo:
        kind = gr.Dropdown(["double", "square"], label="Curve", elem_id="kind")
        plot = gr.LinePlot(x="x", y="y", title="y of x", elem_id="plot")
        kind.select(curve, kind, plot)

    def exercise(page: Page) -> None:
        Select(page.find("#kind select")).select_by_visible_text("square")
        until(lambda: page.all("#plot polyline"))
        ticks = [t.text for t in page.all("#plot text.webui-tick")]
        assert "25" in ticks, ticks  # the square curve's top

    return demo, exercise


@table("ImageEditor upload (composite and background reach fn); Model3D as an output")
def editor_and_model(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def inspect(editor: dict[str, str | None]) -> tuple[str, str]:
        kind = "same" if editor["composite"] == editor["background"] else "edited"
        return f"{kind}: {Path(str(editor['composite'])).suffix}", gr.media.get_model3d("Duck.glb")

    with gr.Blocks() as demo:
        editor = gr.ImageEditor(type="filepath", elem_id="editor")
        seen = gr.Textbox(label="Seen", elem_id="seen")
        model = gr.Model3D(label="Model", elem_id="model")
        editor.upload(inspect, editor, [seen, model])

    def exercise(page: Page) -> None:
        page.type("#editor input[type=file]", gr.media.get_image("bus.png"))
        until(lambda: (page.value("#seen input") or "").startswith("same"))
        page.until_text("#model a", "Duck.glb")

    return demo, exercise
