"""Listeners as Gradio declares them: gr.on, decorators, .failure, every keyword, dict I/O."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from gradio_client import Client
from starlette.testclient import TestClient

import webui as gr


def completed(http: TestClient, fn_index: int, data: list[Any], session: str) -> dict:
    body = {"data": data, "fn_index": fn_index, "session_hash": session}
    assert http.post("/gradio_api/queue/join", json=body).status_code == 200
    text = http.get("/gradio_api/queue/data", params={"session_hash": session}).text
    messages = [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]
    return next(m for m in messages if m["msg"] == "process_completed")


def dependency_list(demo: gr.Blocks) -> list[dict[str, Any]]:
    with TestClient(demo.app) as http:
        return http.get("/config").json()["dependencies"]


def dependency(demo: gr.Blocks, api_name: str) -> dict[str, Any]:
    with TestClient(demo.app) as http:
        config = http.get("/config").json()
    return next(d for d in config["dependencies"] if d["api_name"] == api_name)


def test_gr_on_makes_one_endpoint_for_several_triggers(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        box = gr.Textbox()
        button = gr.Button()
        out = gr.Textbox()
        gr.on([button.click, box.submit], lambda x: x.upper(), box, out, api_name="shout")
    assert dependency(demo, "shout")["targets"] == [[button.id, "click"], [box.id, "submit"]]
    assert Client(serve(demo), verbose=False).predict("hey", api_name="/shout") == "HEY"


def test_gr_on_without_triggers_runs_on_load_and_input_changes() -> None:
    with gr.Blocks() as demo:
        a, b = gr.Number(1), gr.Number(2)
        total = gr.Number()
        gr.on(None, lambda x, y: x + y, [a, b], total, api_name="add")
    targets = dependency(demo, "add")["targets"]
    assert targets == [[a.id, "change"], [b.id, "change"], [demo.id, "load"]]


def test_decorators_register_the_function_they_decorate(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        box = gr.Textbox()
        button = gr.Button()
        out = gr.Textbox()

        @button.click(inputs=box, outputs=out)
        def echo(text: str) -> str:
            return f"echo {text}"

        @gr.on(triggers=[box.submit], inputs=box, outputs=out)
        def submitted(text: str) -> str:
            return f"sub {text}"

        @demo.load(outputs=out)
        def greet() -> str:
            return "hi"

    assert echo("x") == "echo x"  # the decorated function stays callable as it was
    client = Client(serve(demo), verbose=False)
    assert client.predict("a", api_name="/echo") == "echo a"
    assert client.predict("b", api_name="/submitted") == "sub b"
    assert client.predict(api_name="/greet") == "hi"


def test_failure_follows_only_a_failed_event() -> None:
    def boom() -> None:
        raise gr.Error("no")

    with gr.Blocks() as demo:
        out = gr.Textbox()
        event = gr.Button().click(boom, None, None)
        event.failure(lambda: "failed", None, out, api_name="on_fail")
        event.success(lambda: "ok", None, out, api_name="on_ok")
    failure, success = dependency(demo, "on_fail"), dependency(demo, "on_ok")
    assert failure["trigger_only_on_failure"] and failure["trigger_after"] == event.id
    assert success["trigger_only_on_success"] and not success["trigger_only_on_failure"]


def test_listener_keywords_reach_the_config() -> None:
    with gr.Blocks() as demo:
        box = gr.Textbox()
        out = gr.Textbox()
        gr.Button().click(
            lambda x: x,
            box,
            out,
            api_name="all",
            api_description="Echo.",
            scroll_to_output=True,
            show_progress="minimal",
            show_progress_on=box,
            queue=False,
            max_batch_size=8,
            trigger_mode="multiple",
            js="(x) => x",
            concurrency_limit=2,
            concurrency_id="group",
            time_limit=5,
            stream_every=0.25,
            key="k",
            api_visibility="undocumented",
        )
    config = dependency(demo, "all")
    assert config["api_description"] == "Echo."
    assert config["scroll_to_output"] is True
    assert config["show_progress"] == "minimal"
    assert config["show_progress_on"] == [box.id]
    assert config["queue"] is False
    assert config["max_batch_size"] == 8
    assert config["trigger_mode"] == "multiple"
    assert config["js"] == "(x) => x"
    assert config["time_limit"] == 5 and config["stream_every"] == 0.25
    assert config["api_visibility"] == "undocumented"


def test_show_api_false_is_undocumented_and_fnless_events_private() -> None:
    with gr.Blocks() as demo:
        gr.Button().click(lambda: None, None, None, api_name="hidden", show_api=False)
        gr.Button().click(None, None, None, js="() => 1", api_name="js_only")
    assert dependency(demo, "hidden")["api_visibility"] == "undocumented"
    assert dependency(demo, "js_only")["api_visibility"] == "private"
    assert dependency(demo, "js_only")["backend_fn"] is False


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"every": 1}, "every="),
        ({"js": 3}, "js must be a JavaScript function"),
        ({"max_batch_size": 0}, "max_batch_size"),
        ({"trigger_mode": "sometimes"}, "trigger_mode"),
        ({"api_visibility": "secret"}, "api_visibility"),
        ({"sparkle": True}, "sparkle"),
    ],
)
def test_bad_or_unknown_listener_keywords_are_refused(options: dict, match: str) -> None:
    with gr.Blocks(), pytest.raises((TypeError, ValueError), match=match):
        gr.Button().click(lambda: None, None, None, **options)


def test_js_decorator_gives_the_js_event_its_python_fn() -> None:
    with gr.Blocks() as demo:
        box = gr.Textbox()
        button = gr.Button()

        @button.click(inputs=box, outputs=box, js="(x) => x.trim()")
        def shout(text: str) -> str:
            return text.upper()

    assert len(demo.dependencies) == 1
    config = dependency(demo, "shout")
    assert config["backend_fn"] is True and config["js"] == "(x) => x.trim()"
    assert config["api_visibility"] == "public"


def test_js_true_runs_fn_on_the_server_as_gradio_does_untranspiled(
    serve: Callable[[gr.Blocks], str],
) -> None:
    with gr.Blocks() as demo:
        button = gr.Button("Done")
        gr.Button().click(lambda: gr.Button(interactive=False), None, button, js=True)
        with pytest.raises(ValueError, match="js=True events cannot have inputs"):
            gr.Button().click(lambda x: x, button, button, js=True)
    (config,) = [d for d in dependency_list(demo) if d["api_name"] == "lambda"]
    assert config["js"] is True and config["js_implementation"] is None
    assert config["backend_fn"] is True and config["api_visibility"] == "public"
    with TestClient(demo.app) as http:
        data = completed(http, 0, [], "s")["output"]["data"]
    assert data == [{"__type__": "update", "interactive": False}]


def test_batch_functions_get_batches_of_one(serve: Callable[[gr.Blocks], str]) -> None:
    def lengths(words: list[str], factors: list[int]) -> tuple[list[int]]:
        return ([len(w) * f for w, f in zip(words, factors, strict=True)],)

    with gr.Blocks() as demo:
        word, factor, out = gr.Textbox(), gr.Number(precision=0), gr.Number()
        gr.Button().click(lengths, [word, factor], out, batch=True, api_name="lengths")
    assert dependency(demo, "lengths")["batch"] is True
    assert Client(serve(demo), verbose=False).predict("abc", 2, api_name="/lengths") == 6


def test_batch_refuses_generators() -> None:
    def gen(x: list[str]):
        yield x

    with gr.Blocks(), pytest.raises(ValueError, match="generator"):
        gr.Button().click(gen, gr.Textbox(), gr.Textbox(), batch=True)


def test_dict_returns_update_only_the_named_outputs() -> None:
    with gr.Blocks() as demo:
        a, b = gr.Textbox(label="a"), gr.Textbox(label="b")
        gr.Button().click(lambda: {b: "only b"}, None, [a, b])
        gr.Button().click(lambda: {gr.Textbox(): "x"}, None, [a])
    with TestClient(demo.app) as http:
        done = completed(http, 0, [], "s")
        assert done["output"]["data"] == [{"__type__": "update"}, "only b"]
        failed = completed(http, 1, [], "s2")
    assert failed["success"] is False


def test_dict_returns_may_name_layouts_and_buttons() -> None:
    with gr.Blocks() as demo:
        button = gr.Button("Submit")
        with gr.Column(visible=False) as column:
            out = gr.Textbox()
        button.click(
            lambda: {button: gr.Button(visible=False), column: gr.Column(visible=True), out: "ok"},
            None,
            [button, out, column],
        )
    with TestClient(demo.app) as http:
        data = completed(http, 0, [], "s")["output"]["data"]
    assert data[1:] == ["ok", {"__type__": "update", "visible": True}]
    assert data[0]["visible"] is False


def test_set_inputs_pass_one_dict_keyed_by_component(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        first, last = gr.Textbox(label="first"), gr.Textbox(label="last")
        out = gr.Textbox()

        def full(values: dict) -> str:
            return f"{values[first]} {values[last]}"

        gr.Button().click(full, {first, last}, out, api_name="full")
    assert Client(serve(demo), verbose=False).predict("Ada", "Lovelace", api_name="/full") == (
        "Ada Lovelace"
    )


def test_state_change_fires_from_changed_state_ids() -> None:
    with gr.Blocks() as demo:
        count = gr.State(0)
        out = gr.Number()
        gr.Button().click(lambda n: n + 1, count, count)
        gr.Button().click(lambda n: n, count, count)
        count.change(lambda n: n, count, out, api_name="shown")
    assert dependency(demo, "shown")["targets"] == [[count.id, "change"]]
    with TestClient(demo.app) as http:
        assert completed(http, 0, [None], "s")["output"]["changed_state_ids"] == [count.id]
        assert completed(http, 1, [None], "s")["output"]["changed_state_ids"] == []


def test_components_carry_gradios_listeners() -> None:
    expected = {
        gr.Textbox: ["select", "focus", "blur", "submit", "input"],
        gr.Slider: ["release"],
        gr.Dropdown: ["select", "focus", "blur", "key_up"],
        gr.Chatbot: ["like", "retry", "undo", "edit", "select", "clear"],
        gr.Dataframe: ["select", "edit"],
        gr.State: ["change"],
        gr.Tab: ["select"],
        gr.Radio: ["select"],
        gr.CheckboxGroup: ["select"],
        gr.Image: ["select", "upload", "clear"],
        gr.Audio: ["play", "pause", "stop", "end", "start_recording", "stop_recording"],
        gr.LinePlot: ["select", "double_click"],
        gr.Accordion: ["expand", "collapse"],
    }
    for cls, events in expected.items():
        missing = [e for e in events if not callable(getattr(cls, e, None))]
        assert not missing, f"{cls.__name__} lacks {missing}"


def test_selectable_only_where_a_select_listener_waits() -> None:
    with gr.Blocks() as demo:
        table = gr.Dataframe([[1, 2]])
        plain = gr.Dataframe([[3, 4]])
        table.select(lambda: None, None, None)
    with TestClient(demo.app) as http:
        components = {c["id"]: c for c in http.get("/config").json()["components"]}
    assert components[table.id]["props"]["_selectable"] is True
    assert components[plain.id]["props"]["_selectable"] is False


def test_layouts_as_outputs_take_updates() -> None:
    with gr.Blocks() as demo:
        with gr.Tabs() as tabs:
            with gr.Tab("One", id=1):
                gr.Markdown("one")
            with gr.Tab("Two", id=2):
                gr.Markdown("two")
        with gr.Column() as column:
            gr.Markdown("hide me")
        gr.Button().click(lambda: gr.Tabs(selected=2), None, tabs)
        gr.Button().click(lambda: gr.update(visible=False), None, column)
        gr.Button().click(lambda: "text", None, column)
    with TestClient(demo.app) as http:
        components = {c["id"]: c for c in http.get("/config").json()["components"]}
        assert components[tabs.id]["props"]["selected"] is None
        assert completed(http, 0, [], "a")["output"]["data"] == [
            {"__type__": "update", "selected": 2}
        ]
        assert completed(http, 1, [], "b")["output"]["data"] == [
            {"__type__": "update", "visible": False}
        ]
        assert completed(http, 2, [], "c")["success"] is False


def test_api_description_false_reaches_the_config_as_false() -> None:
    def documented() -> None:
        """A docstring Gradio would show unless api_description=False."""

    with gr.Blocks() as demo:
        gr.Button().click(documented, None, None, api_description=False)
    assert dependency(demo, "documented")["api_description"] is False
