"""gr.Navbar: extra links as (name, path) pairs, the app's pages, one Navbar per page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from gradio_client import Client

import webui as gr


def test_navbar_props_name_the_pages() -> None:
    with gr.Blocks() as demo:
        navbar = gr.Navbar([("Docs", "https://example.org"), ("Two", "two")], main_page_name=False)
    with demo.route("Two", show_in_navbar=False):
        other = gr.Navbar(main_page_name="Start")  # another page may have its own
    props = navbar.config()["props"]
    assert props["value"] == [("Docs", "https://example.org"), ("Two", "two")]
    assert props["main_page_name"] is False
    assert props["pages"] == [["", "Home", True], ["two", "Two", False]]
    assert other.props()["main_page_name"] == "Start" and "value" not in other.props()
    assert navbar.api_info() == {}


def test_navbar_refusals() -> None:
    with pytest.raises(ValueError, match="pairs"):
        gr.Navbar(["Docs"], render=False)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="main_page_name"):
        gr.Navbar(main_page_name=True, render=False)
    with gr.Blocks(), pytest.raises(ValueError, match=r"Only one gr\.Navbar"):
        gr.Navbar()
        gr.Navbar()


def test_an_event_sets_the_links(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        navbar = gr.Navbar([("Main", "")])
        choice = gr.Textbox()
        choice.submit(lambda c: [("Main", f"?option={c}")], choice, navbar, api_name="links")
    client = Client(serve(demo), verbose=False)
    info = client.view_api(return_format="dict")["named_endpoints"]["/links"]
    assert info["returns"][0]["component"] == "Navbar"
    assert client.predict("a", api_name="/links") == [["Main", "?option=a"]]
