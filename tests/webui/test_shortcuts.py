"""Gradio's string shortcuts: each builds its component, or names the component webui lacks."""

from __future__ import annotations

import pytest

import webui as gr
import webui.components as components
from webui.components.shortcuts import SHORTCUTS, available_shortcuts, component_instance


@pytest.mark.parametrize("name", sorted(SHORTCUTS))
def test_every_shortcut_builds_its_component_or_names_the_missing_one(name: str) -> None:
    class_name, presets = SHORTCUTS[name]
    cls = getattr(components, class_name, None)
    if cls is None:
        with pytest.raises(ValueError, match=rf"gr\.{class_name}, which webui does not have"):
            component_instance(name)
        return
    built = component_instance(name)
    assert type(built) is cls and built._id is None  # unrendered: the Interface places it
    for key, value in presets.items():  # the template's presets reach the constructor
        assert built.constructor_args[key] == value, (name, key)


def test_gradio_spellings_and_forms() -> None:
    assert type(component_instance("text")) is gr.Textbox
    assert component_instance("textarea").lines == 7
    assert type(component_instance("checkbox_group")) is gr.CheckboxGroup  # _ removed
    assert component_instance("files").file_count == "multiple"
    assert component_instance("list").col_count == (1, "dynamic")
    spec = component_instance({"name": "dropdown", "choices": ["a", "b"], "label": "Pick"})
    assert type(spec) is gr.Dropdown and spec.label == "Pick"
    assert type(component_instance(gr.Number)) is gr.Number  # a class is instantiated
    box = gr.Textbox(label="mine")
    assert component_instance(box) is box  # an instance is used as it is
    assert {"text", "image", "json", "label", "html", "markdown", "chatbot", "state"} <= set(
        available_shortcuts()
    )


def test_layouts_unknown_names_and_other_values_are_refused() -> None:
    with pytest.raises(ValueError, match="'row' is a layout"):
        component_instance("row")
    with pytest.raises(ValueError, match="no component is called 'txt'"):
        component_instance("txt")
    with pytest.raises(ValueError, match="no component is called 'Textbox'"):
        component_instance("Textbox")  # Gradio matches lowercase names only
    with pytest.raises(TypeError, match="shortcut string"):
        component_instance(42)


def test_templates_are_their_parent_with_other_defaults() -> None:
    area = gr.TextArea(label="Notes")
    assert isinstance(area, gr.Textbox) and area.lines == 7 and area.block_type == "textbox"
    assert gr.TextArea(lines=3).lines == 3  # a preset is only a default
    assert gr.Files().file_count == "multiple" and gr.Microphone().sources == ["microphone"]
    assert (gr.Numpy().type, gr.Matrix().type, gr.List().col_count) == (
        "numpy",
        "array",
        (1, "dynamic"),
    )
    assert type(component_instance("textarea")) is gr.TextArea
    assert (gr.Text, gr.Json, gr.Checkboxgroup) == (gr.Textbox, gr.JSON, gr.CheckboxGroup)
    with gr.Blocks():
        kept = gr.TextArea("a").with_props({"label": "b"})  # an update keeps the template
    assert type(kept) is gr.TextArea and kept.lines == 7 and kept.label == "b"
