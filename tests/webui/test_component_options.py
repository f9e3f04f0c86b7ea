"""The keyword contract of components: every keyword is a parameter or a look option the page
reads; any other is refused by name. Then the look options themselves, as Gradio means them."""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from PIL import Image as PILImage
from starlette.testclient import TestClient

import webui as gr
from webui.component import Component, look_options
from webui.components.webvtt import webvtt
from webui.gradio_parameters import gradio_parameters
from webui.updates import apply_update

STATIC = Path(gr.__file__).parent / "static"
COMPONENTS_JS = STATIC / "components"


def exported_components() -> list[type[Component]]:
    found = [getattr(gr, name) for name in gr.__all__]
    classes = {obj for obj in found if inspect.isclass(obj) and issubclass(obj, Component)}
    return sorted(classes, key=lambda cls: cls.__name__)


def _modules_by_block_type() -> dict[str, Path]:
    """Block type -> the JS module whose `create` index.js registers for it."""
    index = (COMPONENTS_JS / "index.js").read_text()
    module_of = {}
    for names, module in re.findall(r"import \{([^}]*)\} from \"(\.{1,2}/[\w./]+)\"", index):
        for name in re.findall(r"\w+", names):
            module_of[name] = COMPONENTS_JS / module
    builtins = index.split("export const builtins = {", 1)[1]
    types = {}
    for entry in re.findall(r"^\s*(\w+)(?:: (\w+))?,", builtins, re.M):
        block_type, factory = entry[0], entry[1] or entry[0]
        types[block_type] = module_of[factory]
    return types


def _page_source(module: Path) -> str:
    """The module and the modules it imports, in the components folder or above it."""
    seen: dict[Path, str] = {}
    pending = [module]
    while pending:
        path = pending.pop().resolve()
        if path in seen or not path.exists():
            continue
        seen[path] = path.read_text()
        for relative in re.findall(r"from \"(\.{1,2}/[\w./]+)\"", seen[path]):
            pending.append(path.parent / relative)
    return "\n".join(seen.values())


# -- the contract -------------------------------------------------------------------------------


def test_an_unknown_keyword_is_refused_by_name() -> None:
    with pytest.raises(
        TypeError, match=r"Textbox\(\) got an unexpected keyword argument 'sparkle'"
    ):
        gr.Textbox(sparkle=True)
    with pytest.raises(TypeError, match="'sparkle'") as refused:
        gr.Markdown("x", sparkle=1)
    assert "Gradio" not in str(refused.value)  # not one of Gradio's either


def test_a_gradio_parameter_webui_lacks_is_named_as_such() -> None:
    assert "html_attributes" in gradio_parameters("Textbox")
    with pytest.raises(TypeError, match="Gradio's Textbox takes html_attributes=, which webui"):
        gr.Textbox(html_attributes={"autocorrect": "off"})

    class Shouty(gr.Textbox):  # a custom component answers for its Gradio ancestor
        block_type = "shouty"

    with pytest.raises(TypeError, match="Gradio's Textbox takes html_attributes="):
        Shouty(html_attributes={})


@pytest.mark.parametrize("cls", exported_components(), ids=lambda cls: cls.__name__)
def test_every_look_option_is_read_by_the_page(cls: type[Component]) -> None:
    """A look option is sent as a prop of its name; the block type's module must read it, or
    the option would be accepted and dropped."""
    options = look_options(cls)
    if not options:
        return
    modules = _modules_by_block_type()
    assert cls.block_type in modules, f"{cls.__name__} has look options but no page module"
    source = _page_source(modules[cls.block_type])
    unread = [
        name
        for name in sorted(options)
        if not re.search(rf"\.{name}\b|\"{name}\"|\b{name}:", source)
    ]
    assert not unread, f"{cls.__name__} accepts {unread} but {cls.block_type}'s page ignores it"


@pytest.mark.parametrize("cls", exported_components(), ids=lambda cls: cls.__name__)
def test_look_options_are_not_also_parameters(cls: type[Component]) -> None:
    parameters = set()
    for klass in cls.__mro__:
        if "__init__" in klass.__dict__:
            parameters |= set(inspect.signature(klass.__init__).parameters)
    assert not look_options(cls) & parameters


def test_look_options_are_props_on_the_config() -> None:
    with gr.Blocks() as demo:
        gr.Number(info="Between 1 and 9", placeholder="a digit", elem_id="n")
        gr.Slider(info="how loud", elem_id="s")
        gr.Checkbox(info="tick it", elem_id="c")
        gr.CheckboxGroup(["a"], info="pick", elem_id="g")
        gr.Radio(["a"], info="one", elem_id="r")
        gr.Dropdown(["a"], info="drop", elem_id="d")
        gr.Textbox(info="say", buttons=["copy"], max_length=5, rtl=True, elem_id="t")
        gr.Markdown("# Hi", header_links=True, height=400, buttons=["copy"], elem_id="m")
        gr.JSON({"a": [1]}, show_indices=True, max_height=100, buttons=[], elem_id="j")
    with TestClient(demo.app) as http:
        config = http.get("/config").json()
    props = {c["props"].get("elem_id"): c["props"] for c in config["components"]}
    assert props["n"]["info"] == "Between 1 and 9" and props["n"]["placeholder"] == "a digit"
    assert [props[k]["info"] for k in "scgrd"] == ["how loud", "tick it", "pick", "one", "drop"]
    assert props["t"]["buttons"] == ["copy"] and props["t"]["max_length"] == 5
    assert props["m"]["header_links"] is True and props["m"]["height"] == 400
    assert props["j"]["show_indices"] is True and props["j"]["buttons"] == []
    assert "info" not in props["m"] and "preserved_by_key" not in props["n"]


def test_an_update_carries_look_options() -> None:
    with gr.Blocks():
        box = gr.Textbox(info="before")
    changed, payload = apply_update(box, {"info": "after", "buttons": ["copy"]})
    assert payload == {"__type__": "update", "info": "after", "buttons": ["copy"]}
    assert changed.look == {"info": "after", "buttons": ["copy"]}


# -- buttons ------------------------------------------------------------------------------------


def test_buttons_are_names_the_page_shows(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(TypeError, match=r"not custom gr\.Button instances"):
        gr.Dataframe(buttons=[gr.Button("Go", render=False)])
    with pytest.raises(TypeError, match="list of names"):
        gr.Dataframe(buttons="copy")
    with pytest.raises(ValueError, match="no share button"):
        gr.ImageEditor(buttons=["share"])
    with caplog.at_level(logging.WARNING):
        gr.Markdown("x", buttons=["actions"], render=False)
    assert "'actions'" in caplog.text and "not shown" in caplog.text


def test_a_gr_button_among_buttons_moves_to_the_toolbar() -> None:
    with gr.Blocks() as demo:
        refresh = gr.Button("Refresh", variant="primary")
        box = gr.Textbox(buttons=["copy", refresh])
        flag = gr.Checkbox(buttons=[gr.Button("Flag")])
        refresh.click(lambda: "fresh", None, box)
    assert refresh.visible is False  # as Gradio takes it out of the layout
    copy, shown = box.props()["buttons"]
    assert copy == "copy" and shown["id"] == refresh.id and shown["value"] == "Refresh"
    assert shown["variant"] == "primary" and flag.props()["buttons"][0]["value"] == "Flag"
    with TestClient(demo.app) as http:
        config = http.get("/config").json()
    props = next(c["props"] for c in config["components"] if c["id"] == box.id)
    assert props["buttons"][1]["id"] == refresh.id
    with pytest.raises(ValueError, match="make the Button inside the Blocks"):
        gr.Textbox(buttons=[gr.Button("Loose", render=False)])
    with pytest.raises(TypeError, match=r"not custom gr\.Button instances"):
        gr.Markdown("x", buttons=[refresh], render=False)


# -- Dataframe ----------------------------------------------------------------------------------


def test_dataframe_look_options_are_checked_and_sent() -> None:
    table = gr.Dataframe(
        [[1, "a"]],
        column_widths=["20%", 100],
        wrap=True,
        max_chars=10,
        show_row_numbers=True,
        show_search="filter",
        static_columns=[0],
        max_height=200,
        buttons=["copy"],
        render=False,
    )
    props = table.props()
    assert props["column_widths"] == ["20%", 100] and props["static_columns"] == [0]
    assert (props["wrap"], props["max_chars"], props["show_search"]) == (True, 10, "filter")
    for bad, match in (
        ({"show_search": "grep"}, "show_search"),
        ({"column_widths": [1.5]}, "column_widths"),
        ({"static_columns": ["a"]}, "static_columns"),
        ({"max_chars": 0}, "max_chars"),
    ):
        with pytest.raises(ValueError, match=match):
            gr.Dataframe(render=False, **bad)


def test_dataframe_column_count_and_limits() -> None:
    fixed = gr.Dataframe(column_count=3, column_limits=(3, 3), render=False)
    assert fixed.col_count == (3, "fixed") and fixed.props()["column_count"] == [3, "fixed"]
    assert gr.Dataframe(column_count=2, render=False).col_count == (2, "dynamic")
    assert gr.Dataframe(column_count=2, static_columns=[1], render=False).col_count[1] == "fixed"
    with pytest.raises(ValueError, match="not both"):
        gr.Dataframe(column_count=2, col_count=2)
    with pytest.raises(ValueError, match="minimum 4 is above"):
        gr.Dataframe(column_limits=(4, 2))
    bounded = gr.Dataframe(column_limits=(2, 3), type="array", render=False)
    assert bounded.preprocess({"headers": ["a", "b"], "data": [[1, 2]]}) == [[1, 2]]
    with pytest.raises(gr.Error, match="takes 2 to 3 columns"):
        bounded.preprocess({"headers": ["a"], "data": [[1]]})
    with pytest.raises(gr.Error, match="takes 2 to 3 columns"):
        bounded.preprocess({"headers": list("abcd"), "data": [[1, 2, 3, 4]]})


# -- media --------------------------------------------------------------------------------------


def test_playback_position_is_a_prop_an_update_changes() -> None:
    with gr.Blocks():
        audio = gr.Audio(gr.media.get_audio("sax.wav"), playback_position=2.0)
        video = gr.Video(playback_position=5)
    assert audio.props()["playback_position"] == 2.0 and video.props()["playback_position"] == 5.0
    _, payload = apply_update(audio, gr.Audio(playback_position=10.0).constructor_args)
    assert payload == {"__type__": "update", "playback_position": 10.0}
    with pytest.raises(ValueError, match="playback_position is seconds"):
        gr.Video(playback_position=-1)


def test_video_subtitles_become_webvtt(tmp_path: Path) -> None:
    srt = tmp_path / "cues.srt"
    srt.write_text("1\n0:00:01,500 --> 0:00:02,000\nHello\n")
    assert webvtt(srt) == "WEBVTT\n\n1\n00:00:01.500 --> 00:00:02.000\nHello\n"
    cues = [{"text": "Hi", "timestamp": [3661.25, 3662]}]
    assert webvtt(cues) == "WEBVTT\n\n01:01:01.250 --> 01:01:02.000\nHi\n"
    with pytest.raises(ValueError, match="'text': str"):
        webvtt([{"text": "no times"}])
    with pytest.raises(ValueError, match=r"\.srt, \.vtt or \.json"):
        webvtt(tmp_path / "cues.txt")
    with gr.Blocks():
        video = gr.Video(subtitles=str(srt))
    track = video.props()["subtitles"]
    assert Path(track["path"]).read_text().startswith("WEBVTT") and track["path"].endswith(".vtt")


def test_image_editor_canvas_options() -> None:
    editor = gr.ImageEditor(
        canvas_size=(300, 200),
        fixed_canvas=True,
        webcam_options=gr.WebcamOptions(mirror=False, constraints={"video": True}),
        render=False,
    )
    props = editor.own_props()
    assert props["canvas_size"] == [300, 200] and props["fixed_canvas"] is True
    assert props["webcam_options"] == {"mirror": False, "constraints": {"video": True}}
    with pytest.raises(ValueError, match="canvas_size is"):
        gr.ImageEditor(canvas_size=(0, 10))
    with pytest.raises(TypeError, match=r"gr\.WebcamOptions"):
        gr.ImageEditor(webcam_options={"mirror": True})


def test_fixed_canvas_fits_each_image_into_the_canvas(
    serve: Callable[[gr.Blocks], str],
) -> None:
    with gr.Blocks() as demo:
        fixed = gr.ImageEditor(canvas_size=(300, 200), fixed_canvas=True, image_mode="RGBA")
        free = gr.ImageEditor(canvas_size=(300, 200), image_mode="RGBA")
        shape = gr.JSON()
        fixed.change(lambda v: list(v["composite"].shape), fixed, shape, api_name="fixed")
        free.change(lambda v: list(v["composite"].shape), free, shape, api_name="free")
    client = Client(serve(demo), verbose=False)
    source = gr.media.get_image("bus.png")
    payload = {"background": handle_file(source), "layers": [], "composite": handle_file(source)}
    with PILImage.open(Path(source)) as image:
        width, height = image.size
    assert client.predict(payload, api_name="/fixed") == [200, 300, 4]
    assert client.predict(payload, api_name="/free") == [height, width, 4]


# -- gr.render ----------------------------------------------------------------------------------


def test_preserved_by_key_is_sent_with_a_key() -> None:
    keyed = gr.Radio(["a"], key="choices", preserved_by_key=["value", "label"], render=False)
    assert keyed.props()["preserved_by_key"] == ["value", "label"]
    assert gr.Textbox(key="k", preserved_by_key="label", render=False).preserved_by_key == ["label"]
    assert gr.Textbox(key="k", render=False).props()["preserved_by_key"] == ["value"]
    with pytest.raises(TypeError, match="prop names"):
        gr.Textbox(preserved_by_key=[1])
