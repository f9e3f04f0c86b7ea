"""gr.DuplicateButton: inert off Spaces, a js-only click opening the duplication page on one."""

from __future__ import annotations

import pytest

import webui as gr


def test_off_spaces_the_button_is_shown_and_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYSTEM", raising=False)
    monkeypatch.setenv("SPACE_ID", "ada/demo")  # not on Spaces without SYSTEM=spaces
    with gr.Blocks() as demo:
        button = gr.DuplicateButton()
    assert demo.dependencies == []
    config = button.config()
    assert config["type"] == "button"  # a template of Button, as in Gradio's config
    props = config["props"]
    assert props["value"] == "Duplicate Space" and props["visible"] is True
    assert (props["variant"], props["size"], props["scale"]) == ("huggingface", "sm", 0)


def test_on_spaces_a_click_opens_the_duplication_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYSTEM", "spaces")
    monkeypatch.setenv("SPACE_ID", "ada/demo")
    with gr.Blocks() as demo:
        button = gr.DuplicateButton("Copy me", variant="primary")
        gr.DuplicateButton(_activate=False)
    [dependency] = demo.dependencies
    assert dependency.fn is None and dependency.targets == [(button.id, "click")]
    assert "https://huggingface.co/spaces/ada/demo?duplicate=true" in dependency.js
    assert "_blank" in dependency.js
    assert button.props()["variant"] == "primary"


def test_a_space_id_that_is_no_id_never_reaches_the_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYSTEM", "spaces")
    monkeypatch.setenv("SPACE_ID", "ada/demo'); alert(1); ('")
    with gr.Blocks(), pytest.raises(ValueError, match="SPACE_ID"):
        gr.DuplicateButton()
