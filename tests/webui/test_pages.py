"""Multipage apps (demo.route): pages in /config, each served at its path, events per page."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from gradio_client import Client

import webui as gr
from webui.api_info import build_config
from webui.pages import Pages, slugify


def build() -> tuple[gr.Blocks, gr.Textbox, gr.Number]:
    with gr.Blocks() as demo:
        name = gr.Textbox(label="name")
        name.submit(str.upper, name, name, api_name="shout")
    with demo.route("Second Page", show_in_navbar=False) as second:
        count = gr.Number(label="count")
        second.load(lambda: 7, None, count, api_name="seven")
    return demo, name, count


def test_route_paths_follow_gradio_rules() -> None:
    pages = Pages()
    assert pages.add("Up") == "up" and pages.current == "up"
    assert pages.add("Up") == "_up"  # taken: prefixed, as Gradio
    assert pages.add("Config") == "_config"  # one of the app's own routes
    assert pages.add("x", "/deep/") == "deep"
    with pytest.raises(ValueError, match="invalid characters"):
        pages.add("x", "a b")
    with pytest.raises(ValueError, match="already exists"):
        pages.add("x", "gradio_api")
    with pytest.raises(ValueError, match="not valid"):
        pages.add("!!!")
    assert slugify("Ünïcode  Page--2") == "unicode-page-2"
    with gr.Blocks() as demo, pytest.raises(ValueError, match="inside a Blocks"):
        demo.route("inner")


def test_config_splits_blocks_and_events_by_page() -> None:
    demo, name, count = build()
    config = build_config(demo, "http://x")
    assert config["pages"] == [["", "Home", True], ["second-page", "Second Page", False]]
    home, second = config["page"][""], config["page"]["second-page"]
    assert home["components"] == [name.id] and second["components"] == [count.id]
    assert [c["id"] for c in home["layout"]["children"]] == [name.id]
    assert [c["id"] for c in second["layout"]["children"]] == [count.id]
    assert home["dependencies"] == [0] and second["dependencies"] == [1]


def test_each_page_is_served_and_every_event_is_in_the_api(
    serve: Callable[[gr.Blocks], str],
) -> None:
    demo, _, _ = build()
    url = serve(demo)
    page = httpx.get(f"{url}second-page")
    assert page.status_code == 200 and "webui-app" in page.text
    assert httpx.get(f"{url}third").status_code == 404
    client = Client(url, verbose=False)
    assert set(client.view_api(return_format="dict")["named_endpoints"]) == {"/shout", "/seven"}
    assert client.predict(api_name="/seven") == 7
