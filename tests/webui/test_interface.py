"""Interface(fn) builds its UI from annotations, or from explicit components."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Literal

import pandas as pd
import pytest
from gradio_client import Client

import webui as gr
from webui.interface import component_for


def classify(
    text: str,
    count: int,
    ratio: float,
    temperature: Annotated[float, (0.0, 2.0)],
    loud: bool,
    mode: Literal["fast", "slow"],
    extra: dict,
) -> str:
    """Echo the arguments."""
    return f"{text}|{count}|{ratio}|{temperature}|{loud}|{mode}|{extra}"


def test_annotations_choose_components() -> None:
    demo = gr.Interface(classify)
    kinds = [type(c).__name__ for c in demo.input_components]
    assert kinds == ["Textbox", "Number", "Number", "Slider", "Checkbox", "Dropdown", "JSON"]
    count, ratio, temperature = demo.input_components[1:4]
    assert count.precision == 0 and ratio.precision is None
    assert (temperature.minimum, temperature.maximum) == (0.0, 2.0)
    assert [v for _, v in demo.input_components[5].choices] == ["fast", "slow"]
    assert [type(c).__name__ for c in demo.output_components] == ["Textbox"]
    assert demo.dependencies[0].api_name == "classify"


def test_defaults_become_initial_values() -> None:
    def f(name: str = "bob", n: int = 3) -> str:
        return name * n

    demo = gr.Interface(f)
    assert [c.value for c in demo.input_components] == ["bob", 3]


def test_generator_return_streams() -> None:
    def stream(text: str) -> Iterator[str]:
        yield text

    demo = gr.Interface(stream)
    assert [type(c).__name__ for c in demo.output_components] == ["Textbox"]
    assert next(d for d in demo.dependencies if d.api_name == "stream").is_generator


def test_tuple_return_gives_one_output_each() -> None:
    def pair(x: int) -> tuple[str, bool]:
        return str(x), True

    assert [type(c).__name__ for c in gr.Interface(pair).output_components] == [
        "Textbox",
        "Checkbox",
    ]


def test_missing_or_unknown_annotation_is_a_clear_error() -> None:
    def bare(x) -> str:  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(TypeError, match="'x' has no type annotation"):
        gr.Interface(bare)
    with pytest.raises(TypeError, match="cannot build a component"):
        component_for(complex, label="z")


def test_explicit_components_still_work(serve: Callable[[gr.Blocks], str]) -> None:
    demo = gr.Interface(
        lambda s: s.upper(), gr.Textbox(label="in"), gr.Textbox(label="out"), api_name="upper"
    )
    client = Client(serve(demo), verbose=False)
    assert client.predict("abc", api_name="/upper") == "ABC"


def test_inferred_interface_through_client(serve: Callable[[gr.Blocks], str]) -> None:
    client = Client(serve(gr.Interface(classify)), verbose=False)
    reply = client.predict("t", 2, 0.5, 1.5, True, "slow", {"k": 1}, api_name="/classify")
    assert reply == "t|2|0.5|1.5|True|slow|{'k': 1}"
    info = client.view_api(print_info=False, return_format="dict")
    types = [p["python_type"]["type"] for p in info["named_endpoints"]["/classify"]["parameters"]]
    assert types == [
        "str",
        "int",
        "float",
        "float",
        "bool",
        "Literal['fast', 'slow']",
        "Dict[Any, Any]",
    ]


def test_each_annotation_gets_its_component() -> None:
    cases = {
        str: "Textbox",
        int: "Number",
        float: "Number",
        Annotated[int, (1, 9)]: "Slider",
        Annotated[float, (0.0, 1.0)]: "Slider",
        bool: "Checkbox",
        Literal["a", "b"]: "Dropdown",
        list[Literal["a", "b"]]: "CheckboxGroup",
        pd.DataFrame: "Dataframe",
        dict: "JSON",
        dict[str, int]: "JSON",
        str | None: "Textbox",
    }
    for hint, kind in cases.items():
        assert type(component_for(hint, label="x")).__name__ == kind, hint
    group = component_for(list[Literal["a", "b"]], label="tags", value=["b"])
    assert [v for _, v in group.choices] == ["a", "b"] and group.value == ["b"]
    with pytest.raises(TypeError, match="list\\[Literal"):
        component_for(list[int], label="xs")


def test_progress_parameter_is_not_an_input() -> None:
    def work(text: str, progress=gr.Progress()) -> str:  # noqa: B008
        return text

    demo = gr.Interface(work)
    assert [c.label for c in demo.input_components] == ["text"]


def test_tables_tags_and_streams_through_client(serve: Callable[[gr.Blocks], str]) -> None:
    def summarize(
        table: pd.DataFrame, tags: list[Literal["x", "y", "z"]]
    ) -> Iterator[tuple[pd.DataFrame, str]]:
        """Stream the sum of each column, then the picked tags."""
        total = table.sum(numeric_only=True).to_frame().T
        yield total, ""
        yield total, "+".join(tags)

    demo = gr.Interface(summarize)
    assert next(d for d in demo.dependencies if d.api_name == "summarize").is_generator
    client = Client(serve(demo), verbose=False)
    table = {"headers": ["a", "b"], "data": [[1, 2], [3, 4]], "metadata": None}
    job = client.submit(table, ["x", "z"], api_name="/summarize")
    outputs = list(job)
    frame, tags = outputs[-1]
    assert frame["headers"] == ["a", "b"] and frame["data"] == [[4, 6]]
    assert tags == "x+z"
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    endpoint = info["/summarize"]
    types = [p["python_type"]["type"] for p in endpoint["parameters"]]
    assert types[0].startswith("dict(headers: list[Any], data: list[list[Any]]")
    assert types[1] == "list[Literal['x', 'y', 'z']]"
    assert [r["component"] for r in endpoint["returns"]] == ["Dataframe", "Textbox"]


def test_display_arguments_of_gradio_apps_reach_the_page() -> None:
    """Layout hints and look options are props the page reads; an unknown keyword is refused
    (tests/webui/test_component_options.py covers every class)."""
    with gr.Blocks():
        box = gr.Textbox(label="T", scale=2, min_width=80, container=False, key="t",
                         show_copy_button=True, autoscroll=False)  # fmt: skip
        num = gr.Number(scale=1)
    props = box.props()
    assert (props["scale"], props["min_width"], props["container"], props["key"]) == (
        2, 80, False, "t",
    )  # fmt: skip
    assert props["show_copy_button"] is True and props["autoscroll"] is False
    assert num.props()["scale"] == 1
    with pytest.raises(TypeError, match="'sparkle'"):
        gr.Textbox(sparkle=True)


# -- Gradio's Interface surface ----------------------------------------------------------------


def greet(name):  # type: ignore[no-untyped-def] (Gradio's hello_world, unannotated)
    return "Hello " + name + "!"


def _components_of(demo: gr.Blocks, kind: str) -> list[gr.Component]:
    return [b for b in demo.blocks.values() if getattr(b, "block_type", None) == kind]


def test_hello_world_runs_unchanged(serve: Callable[[gr.Blocks], str]) -> None:
    demo = gr.Interface(fn=greet, inputs="text", outputs="text")
    (name,), (output,) = demo.input_components, demo.output_components
    assert (type(name), name.label, type(output), output.label) == (
        gr.Textbox, "name", gr.Textbox, "output",
    )  # fmt: skip
    assert output.interactive is False  # outputs are display-only, as in Gradio
    assert [b.value for b in _components_of(demo, "button")] == ["Clear", "Submit", "Flag"]
    submit = demo.dependencies[0]
    assert submit.api_name == "greet" and [e for _, e in submit.targets] == ["click", "submit"]
    client = Client(serve(demo), verbose=False)
    assert client.predict("World", api_name="/greet") == "Hello World!"
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == [
        "/greet"
    ]  # clear is private, Flag undocumented


def test_inputs_and_outputs_in_every_form() -> None:
    def two(a, b):  # type: ignore[no-untyped-def]
        return a

    demo = gr.Interface(two, [gr.Textbox, {"name": "slider", "maximum": 5}], gr.Number(label="n"))
    assert [type(c) for c in demo.input_components] == [gr.Textbox, gr.Slider]
    assert demo.input_components[1].maximum == 5 and demo.output_components[0].label == "n"
    only_in = gr.Interface(lambda x: None, "text", None)  # a function with no outputs
    assert only_in.output_components == [] and only_in.interface_type.value == "input_only"
    only_out = gr.Interface(lambda: "hi", None, "text")
    assert only_out.interface_type.value == "output_only"
    assert "Generate" in [b.value for b in _components_of(only_out, "button")]
    with pytest.raises(ValueError, match="at least one of `inputs` or `outputs`"):
        gr.Interface(lambda: None, None, None)
    with pytest.raises(ValueError, match=r"gr\.WorkflowCanvas, which webui does not have"):
        gr.Interface(lambda v: v, "workflowcanvas", "text")


def test_components_made_in_another_apps_with_are_the_interfaces(
    serve: Callable[[gr.Blocks], str],
) -> None:
    """As Gradio: an Interface built inside another app's `with` (or a route of it) takes the
    components made there for it out of that app first, so its events target its own."""
    with gr.Blocks() as demo:
        gr.Markdown("home")
    with demo.route("Greet"):
        name = gr.Textbox(label="name")
        greeting = gr.Radio(["Hello", "Hi"], label="greeting")
        gr.Interface(lambda n, g: f"{g}, {n}", [name, greeting], "text", api_name="hello")
    [event] = [d for d in demo.dependencies if d.api_name == "hello"]
    assert event.inputs == [name, greeting] and (name.id, "submit") in event.targets
    assert demo.blocks[name.id] is name and name.root is demo
    assert Client(serve(demo), verbose=False).predict("Ada", "Hi", api_name="/hello") == "Hi, Ada"


def test_deep_link_button_enabled_after_a_run() -> None:
    """Interface(deep_link=...) as Gradio's: a disabled DeepLinkButton beside the outputs,
    enabled in the page after each run (a js-only .then), and its two click listeners."""
    demo = gr.Interface(greet, "text", "text", deep_link="Share this")
    [button] = [b for b in _components_of(demo, "button") if b.value == "Share this"]
    assert isinstance(button, gr.DeepLinkButton) and button.interactive is False
    enable = [d for d in demo.dependencies if d.trigger_after == demo.submit_event.id]
    assert [d.outputs for d in enable] == [[button]] and "interactive: true" in enable[0].js
    clicks = [d for d in demo.dependencies if (button.id, "click") in d.targets]
    assert [d.api_visibility for d in clicks] == ["private", "undocumented"]
    assert gr.Interface(greet, "text", "text", deep_link=False).deep_link is None
    with pytest.raises(TypeError, match="deep_link"):
        gr.Interface(greet, "text", "text", deep_link=3)


def test_unsupported_parameters_are_refused_by_name() -> None:
    cases = [
        ({"batch": True}, "batch=True"),
        ({"validator": lambda x: None}, "validator"),
        ({"allow_duplication": True}, "allow_duplication"),
        ({"article": "https://example.com/a.md"}, "never fetches URLs"),
        ({"flagging_mode": "sometimes"}, "flagging_mode must be one of"),
        ({"flagging_options": "bad"}, "flagging_options must be a list"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            gr.Interface(greet, "text", "text", **kwargs)
    for name in ("js", "head", "css_paths"):
        with pytest.raises(TypeError, match=f"'{name}'"):
            gr.Interface(greet, "text", "text", **{name: "x"})
    swept = gr.Interface(greet, "text", "text", delete_cache=(60, 3600))  # as Blocks takes it
    assert swept.delete_cache == (60.0, 3600.0)


def test_live_interface_streams_a_streaming_webcam_to_fn() -> None:
    camera = gr.Image(streaming=True)  # sources default to the webcam then, as in Gradio
    demo = gr.Interface(
        lambda frame: frame, camera, "image", live=True, time_limit=5, stream_every=0.2
    )
    (event,) = [d for d in demo.dependencies if d.api_name == "lambda"]
    assert camera.sources == ["webcam"] and event.targets == [(camera.id, "stream")]
    assert (event.connection, event.time_limit, event.stream_every) == ("stream", 5, 0.2)
    assert (event.trigger_mode, event.show_progress) == ("multiple", "hidden")
    with pytest.raises(ValueError, match=r"needs sources=\['webcam'\]"):
        gr.Image(streaming=True, sources=["upload", "webcam"])


def test_title_description_article_theme_and_labels() -> None:
    demo = gr.Interface(
        greet, "text", "text", title="Hi", description="*desc*", article="## More",
        theme="soft", css=".x {}", submit_btn="Go", clear_btn=None,
        flagging_mode="never", api_name="hello",
    )  # fmt: skip
    shown = [m.value for m in _components_of(demo, "markdown")]
    assert shown == ["# Hi", "*desc*", "## More"] and demo.title == "Hi"
    buttons = {b.value: b for b in _components_of(demo, "button")}
    assert "Go" in buttons and buttons["Clear"].visible is False and "Flag" not in buttons
    assert demo.css == ".x {}" and demo.dependencies[0].api_name == "hello"


def test_live_interface_listens_to_changes_without_submit(
    serve: Callable[[gr.Blocks], str],
) -> None:
    demo = gr.Interface(lambda a, b: f"{a}{b}", ["text", "checkbox"], "text", live=True)
    assert "Submit" not in [b.value for b in _components_of(demo, "button")]
    live = demo.dependencies[0]
    inputs = [c.id for c in demo.input_components]
    assert live.targets == [(i, "change") for i in inputs] and live.trigger_mode == "always_last"
    assert Client(serve(demo), verbose=False).predict("x", True, api_name="/lambda") == "xTrue"


def test_additional_inputs_through_client(serve: Callable[[gr.Blocks], str]) -> None:
    def repeat(text: str, times: int) -> str:
        return text * times

    demo = gr.Interface(
        repeat, "text", "text",
        additional_inputs=[gr.Slider(1, 5, value=2, step=1, label="times")],
        additional_inputs_accordion="More options",
    )  # fmt: skip
    (accordion,) = [b for b in demo.blocks.values() if isinstance(b, gr.Accordion)]
    assert accordion.label == "More options" and accordion.children == [demo.input_components[1]]
    client = Client(serve(demo), verbose=False)
    assert client.predict("ab", 3, api_name="/repeat") == "ababab"
    assert client.predict("ab", api_name="/repeat") == "abab"  # the slider's default


def test_state_input_and_output_are_one_state(serve: Callable[[gr.Blocks], str]) -> None:
    def chat(message, history=[]):  # type: ignore[no-untyped-def]  # noqa: B006 (Gradio's demo)
        history = [*history, message]
        return " ".join(history), history

    demo = gr.Interface(chat, ["text", "state"], ["text", "state"])
    assert demo.input_components[1] is demo.output_components[1]
    assert demo.input_components[1].value == []  # fn's default
    client = Client(serve(demo), verbose=False)
    assert client.predict("a", api_name="/chat") == "a"
    assert client.predict("b", api_name="/chat") == "a b"  # the session kept the State
    with pytest.raises(ValueError, match="exactly one State input and one output"):
        gr.Interface(chat, ["text", "state"], "text")


def test_generator_gets_a_stop_button_that_cancels_it() -> None:
    def count(n: int) -> Iterator[str]:
        yield from map(str, range(n))

    demo = gr.Interface(count, "number", "text", stop_btn="Halt")
    (stop,) = [b for b in _components_of(demo, "button") if b.value == "Halt"]
    assert stop.visible is False and stop.variant == "stop"
    predict = next(d for d in demo.dependencies if d.api_name == "count")
    stopper = next(d for d in demo.dependencies if (stop.id, "click") in d.targets)
    assert stopper.cancels == [predict.id] and predict.trigger_after == 0


def test_tabbed_interface_serves_each_endpoint(serve: Callable[[gr.Blocks], str]) -> None:
    def upper(text: str) -> str:
        return text.upper()

    def add(a: float, b: float) -> float:
        return a + b

    first = gr.Interface(upper, "text", "text", examples=[["abc"]])
    demo = gr.TabbedInterface([first, gr.Interface(add, ["number", "number"], "number")],
                              ["Upper", "Add"], title="Tools")  # fmt: skip
    tabs = [b for b in demo.blocks.values() if isinstance(b, gr.Tab)]
    assert [t.label for t in tabs] == ["Upper", "Add"]
    assert all(b.root is demo for b in demo.blocks.values())
    assert sorted(demo.blocks) == list(range(len(demo.blocks)))  # ids renumbered, no gaps
    client = Client(serve(demo), verbose=False)
    assert client.predict("abc", api_name="/upper") == "ABC"
    assert client.predict(2, 3, api_name="/add") == 5
    assert client.predict(0, api_name="/load_example") == "abc"  # the tab's examples work
    with pytest.raises(ValueError, match="2 tab_names for 1 interfaces"):
        gr.TabbedInterface([gr.Interface(upper, "text", "text")], ["a", "b"])
