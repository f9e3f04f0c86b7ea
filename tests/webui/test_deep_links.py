"""Deep links: a session's shown values frozen into a snapshot that /config can replay."""

from __future__ import annotations

from collections.abc import Callable

import httpx

import webui as gr
from webui.deep_links import MAX_LINKS, DeepLinks, note_shown


def test_note_shown_keeps_values_and_updated_props() -> None:
    shown: dict[int, dict] = {}
    note_shown(shown, 1, "hello")
    note_shown(shown, 1, {"__type__": "update", "label": "New", "visible": False})
    note_shown(shown, 2, {"__type__": "update", "value": 3})
    assert shown == {1: {"value": "hello", "label": "New", "visible": False}, 2: {"value": 3}}


def test_snapshots_by_content_bounded_and_applied() -> None:
    links = DeepLinks()
    name = links.create({1: {"value": "a"}})
    assert name and links.create({1: {"value": "a"}}) == name  # same content, same name
    assert links.create({}) == ""
    config = {
        "components": [{"id": 1, "props": {"value": "x", "label": "L"}}, {"id": 2, "props": {}}]
    }
    applied = links.apply(config, name)
    assert applied["deep_link_state"] == "valid"
    assert applied["components"][0]["props"] == {"value": "a", "label": "L"}
    assert config["components"][0]["props"]["value"] == "x"  # the app's config is untouched
    assert links.apply(config, "nope")["deep_link_state"] == "invalid"
    assert links.apply(config, None)["deep_link_state"] == "none"
    for i in range(MAX_LINKS):
        links.create({1: {"value": i}})
    assert links.apply(config, name)["deep_link_state"] == "invalid"  # the oldest went


def test_a_session_link_replays_its_values(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        name = gr.Textbox(label="name")
        out = gr.Textbox(label="out")
        secret = gr.State("kept on the server")
        name.submit(lambda n, s: (f"Hi {n}", s), [name, secret], [out, secret], api_name="hi")
    url = serve(demo)
    sent = httpx.post(f"{url}gradio_api/run/hi", json={"data": ["Ada", None], "session_hash": "s"})
    assert sent.json()["data"][0] == "Hi Ada"
    link = httpx.get(f"{url}gradio_api/deep_link", params={"session_hash": "s"}).json()
    assert isinstance(link, str) and link
    assert httpx.get(f"{url}gradio_api/deep_link", params={"session_hash": "other"}).json() == ""
    config = httpx.get(f"{url}config", params={"deep_link": link}).json()
    props = {c["id"]: c["props"] for c in config["components"]}
    assert config["deep_link_state"] == "valid"
    assert props[name.id]["value"] == "Ada" and props[out.id]["value"] == "Hi Ada"
    assert "kept on the server" not in str(config)  # State never leaves the server
    plain = httpx.get(f"{url}config").json()
    plain_props = {c["id"]: c["props"] for c in plain["components"]}
    assert plain["deep_link_state"] == "none" and plain_props[out.id].get("value") is None
