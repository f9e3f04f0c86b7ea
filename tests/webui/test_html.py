"""gr.HTML: templates and their props in the config, children, custom events, refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

import webui as gr


def test_templates_props_and_page_options_reach_the_config():
    with gr.Blocks():
        card = gr.HTML(
            "Ada",
            html_template="<h2>${title}</h2><p>${value}</p>",
            css_template="color: red; h2 { margin: 0 }",
            js_on_load=None,
            title="Card",
            min_height=40,
            padding=True,
        )
    props = card.config()["props"]
    assert props["value"] == "Ada"
    assert props["html_template"] == "<h2>${title}</h2><p>${value}</p>"
    assert props["css_template"] == "color: red; h2 { margin: 0 }"
    assert props["props"] == {"title": "Card"} and props["js_on_load"] is None
    assert props["min_height"] == 40 and props["padding"] is True
    assert props["apply_default_css"] is True and props["container"] is False
    assert card.config()["api_info"] == {"type": "string"}


def test_blocks_made_inside_are_its_children_and_plain_html_has_none():
    with gr.Blocks() as demo:
        with gr.HTML(html_template="<form>@children</form>") as form:
            name = gr.Textbox(label="Name")
        plain = gr.HTML("<b>x</b>")
    assert form.layout() == {"id": form.id, "children": [{"id": name.id}]}
    assert plain.layout() == {"id": plain.id}
    assert demo.blocks[name.id] is name


def test_every_gradio_event_and_the_names_js_on_load_quotes_are_listeners():
    with gr.Blocks() as demo:
        keys = gr.HTML(js_on_load="document.onkeydown = (e) => trigger('keypress', {key: e.key});")
        out = gr.Textbox()

        def pressed(evt: gr.EventData) -> str:
            return evt.key

        keys.keypress(pressed, None, out)
        keys.double_click(lambda: "double", None, out)
        keys.submit(lambda: "submitted", None, out)
    assert [d.targets for d in demo.dependencies] == [
        [(keys.id, "keypress")],
        [(keys.id, "double_click")],
        [(keys.id, "submit")],
    ]
    with pytest.raises(AttributeError, match="keydown"):
        keys.keydown  # noqa: B018 (not quoted in js_on_load: no such event)
    with TestClient(demo.app) as http:
        body = {"fn_index": 0, "data": [], "event_data": {"key": "Enter"}, "session_hash": "s"}
        assert http.post("/gradio_api/queue/join", json=body).status_code == 200
        text = http.get("/gradio_api/queue/data", params={"session_hash": "s"}).text
    messages = [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]
    done: dict[str, Any] = next(m for m in messages if m["msg"] == "process_completed")
    assert done["output"]["data"] == ["Enter"]


def test_what_webui_cannot_render_is_refused_by_name():
    with gr.Blocks():
        with pytest.raises(ValueError, match="html_template uses Handlebars"):
            gr.HTML(["a"], html_template="{{#each value}}<b>{{this}}</b>{{/each}}")
        with pytest.raises(ValueError, match="server_functions"):
            gr.HTML(server_functions=[lambda x: x])  # no usable name
        with pytest.raises(ValueError, match="buttons"):
            gr.HTML(buttons=[gr.Button("x", render=False)])
        with pytest.raises(TypeError, match="css_template"):
            gr.HTML(css_template=None)  # type: ignore[arg-type]


def test_server_functions_are_called_with_the_pages_arguments():
    def add(a: int, b: int) -> int:
        return a + b

    async def shout(text: str) -> str:
        return text.upper()

    with gr.Blocks() as demo:
        calc = gr.HTML(js_on_load=None, server_functions=[add, shout])
    assert calc.config()["props"]["server_fns"] == ["add", "shout"]
    with TestClient(demo.app) as http:

        def call(name: str, data: Any) -> Any:
            body = {"session_hash": "s", "component_id": calc.id, "fn_name": name, "data": data}
            return http.post("/gradio_api/component_server", json=body)

        assert call("add", [2, 3]).json() == 5
        assert call("shout", ["hi"]).json() == "HI"
        assert call("postprocess", ["x"]).status_code == 404  # only the functions named
