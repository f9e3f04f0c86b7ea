"""launch()'s page extras: `js` runs once the page is built, `head` joins <head> (its scripts
run), and `footer_links` picks the footer's links; bad values are refused before serving."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import webui as gr

HEAD = '<meta name="webui-test" content="yes"><script>window.headRan = 41 + 1;</script>'
JS = "() => { document.body.dataset.launchJs = String(window.headRan); }"


def small_app() -> gr.Blocks:
    with gr.Blocks() as demo:
        gr.Textbox("hi", elem_id="box")
    return demo


def test_the_extras_reach_the_config():
    demo = small_app()
    try:
        _, url, _ = demo.launch(
            prevent_thread_lock=True, quiet=True, js=JS, head=HEAD, footer_links=["api"]
        )
        config = httpx.get(url + "config").json()
    finally:
        demo.close()
    assert (config["js"], config["head"], config["footer_links"]) == (JS, HEAD, ["api"])


def test_the_footer_has_gradios_three_links_by_default():
    demo = small_app()
    try:
        _, url, _ = demo.launch(prevent_thread_lock=True, quiet=True)
        assert httpx.get(url + "config").json()["footer_links"] == ["api", "gradio", "settings"]
    finally:
        demo.close()


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"footer_links": ["api", "github"]}, ValueError, "footer_links"),
        ({"footer_links": "api"}, ValueError, "footer_links"),
        ({"js": 3}, TypeError, "js=..."),
        ({"head": ["<meta>"]}, TypeError, "head=..."),
    ],
)
def test_bad_extras_are_refused_before_serving(options, error, match):
    demo = small_app()
    with pytest.raises(error, match=match):
        demo.launch(prevent_thread_lock=True, quiet=True, **options)
    assert demo.local_url is None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from tests.browser import headless_chromium

    with headless_chromium("1000,800", console_errors=True) as driver:
        yield driver


def test_the_page_runs_head_scripts_then_js_and_shows_the_footer(browser):
    from selenium.webdriver.common.by import By

    from tests.browser import until

    demo = small_app()
    try:
        _, url, _ = demo.launch(
            prevent_thread_lock=True, quiet=True, js=JS, head=HEAD, footer_links=["api", "settings"]
        )
        browser.get(url)
        until(lambda: browser.execute_script("return document.body.dataset.launchJs") == "42")
        meta = browser.find_element(By.CSS_SELECTOR, 'meta[name="webui-test"]')
        assert meta.get_attribute("content") == "yes"
        links = browser.find_elements(By.CSS_SELECTOR, ".webui-footer a")
        assert [a.text for a in links] == ["Use via API", "Dark theme"]
        assert links[0].get_attribute("href") == url + "gradio_api/info"
        assert "Built with" not in browser.find_element(By.CSS_SELECTOR, ".webui-footer").text
        assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    finally:
        demo.close()
