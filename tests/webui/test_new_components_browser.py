"""The new components in headless Chromium: every one renders without console errors, an
upload into a Gallery reaches `fn`, and a click fills a Gallery, HighlightedText and
DownloadButton. Skipped where chromium and chromium-driver are absent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

import webui as gr
from tests.browser import Driver, headless_chromium, until  # skips without a browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Driver]:
    with headless_chromium("1200,1400", console_errors=True) as driver:
        yield driver


def build_app(download: Path) -> gr.Blocks:
    with gr.Blocks() as demo:
        with gr.Sidebar(label="Side"):
            gr.Markdown("in the sidebar")
        code = gr.Code("print('hi')", language="python", elem_id="code")
        gr.ColorPicker("#ff0000", elem_id="color")
        gr.DateTime("2020-10-01 05:20:15", elem_id="when")
        marked = gr.HighlightedText(elem_id="marked", show_legend=True)
        gr.BrowserState({"n": 0})
        gr.UploadButton(elem_id="upload")
        saved = gr.DownloadButton(elem_id="download")
        gallery = gr.Gallery(elem_id="gallery", interactive=True)
        gr.Video(gr.media.get_video("world.mp4"), elem_id="video")
        gr.Audio(gr.media.get_audio("cate_blanch.mp3"), type="filepath", elem_id="sound")
        gr.Model3D(gr.media.get_model3d("Fox.gltf"), elem_id="model")
        gr.MultimodalTextbox(elem_id="multimodal")
        gr.ImageEditor(elem_id="editor")
        count = gr.Textbox(elem_id="count")
        run = gr.Button("Run", elem_id="run")
        gallery.upload(lambda items: str(len(items or [])), gallery, count)
        run.click(
            lambda text: (
                [(word, "KW" if word in ("print",) else None) for word in text.split("(")],
                [(gr.media.get_image("bus.png"), "bus")],
                str(download),
            ),
            code,
            [marked, gallery, saved],
        )
    return demo


def test_new_components_render_and_run(browser: Driver, serve: object, tmp_path: Path) -> None:
    download = tmp_path / "report.txt"
    download.write_text("report")
    browser.get(serve(build_app(download)))  # type: ignore[operator]
    until(
        lambda: browser.execute_script(
            "return document.body.dataset !== undefined && window.webui !== undefined"
        )
    )
    unsupported = browser.find_elements(By.CSS_SELECTOR, ".webui-unsupported")
    assert [e.text for e in unsupported] == []
    assert browser.find_element(By.CSS_SELECTOR, "#code textarea").get_attribute("value") == (
        "print('hi')"
    )
    assert browser.find_element(By.CSS_SELECTOR, "#color input").get_attribute("value") == "#ff0000"
    browser.find_element(By.CSS_SELECTOR, "#gallery input[type=file]").send_keys(
        gr.media.get_image("logo.png")
    )
    until(
        lambda: browser.find_element(By.CSS_SELECTOR, "#count input").get_attribute("value") == "1"
    )
    browser.find_element(By.CSS_SELECTOR, "#run").click()
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "#marked .webui-token"))
    tokens = [
        e.text
        for e in browser.find_elements(By.CSS_SELECTOR, "#marked .webui-highlighted > .webui-token")
    ]
    assert tokens[0].startswith("print")
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "#gallery figcaption"))
    assert browser.find_element(By.CSS_SELECTOR, "#gallery figcaption").text == "bus"
    href = until(lambda: browser.find_element(By.CSS_SELECTOR, "#download a").get_attribute("href"))
    assert "report.txt" in href
    # webui's sample MP4 (uncompressed H.264, scripts/pcm_mp4.py) decodes in the browser
    size = until(
        lambda: browser.execute_script(
            "const v = document.querySelector('#video video');"
            "return v && v.readyState >= 2 && [v.videoWidth, v.videoHeight];"
        )
    )
    assert size == [48, 32]
    duration = until(
        lambda: browser.execute_script(
            "const a = document.querySelector('#sound audio');"
            "return a && a.readyState >= 1 && !a.error && a.duration;"
        )
    )
    assert 1.5 < duration < 2.5  # the silent sample MP3 decodes
    shot = tmp_path / "new_components.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 0
    errors = [e for e in browser.get_log("browser") if "favicon" not in e["message"]]
    assert errors == []
