"""Themes: presets, `.set()`, references between variables, names, and the served `/theme.css`."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

import webui as gr
from webui.themes import COLORS, SHADES, Color, resolve_theme


def declarations(css: str, block: int = 0) -> dict[str, str]:
    """The `--name: value` pairs of the css's `block`-th rule (0 light, 1 dark)."""
    body = re.findall(r"\{(.*?)\}", css, re.S)[block]
    return dict(re.findall(r"--([\w-]+): ([^;]+);", body))


def test_presets_start_from_their_hues_and_differ():
    default, soft, mono, base = (
        gr.themes.Default(),
        gr.themes.Soft(),
        gr.themes.Monochrome(),
        gr.themes.Base(),
    )
    assert declarations(default.css())["primary-500"] == COLORS["orange"].shades[5]
    assert declarations(soft.css())["primary-500"] == COLORS["indigo"].shades[5]
    assert declarations(base.css())["primary-500"] == COLORS["blue"].shades[5]
    assert len({t.css() for t in (default, soft, mono, base)}) == 4
    assert [t.name for t in (default, soft, mono, base)] == [
        "default",
        "soft",
        "monochrome",
        "base",
    ]


def test_set_overrides_light_and_dark_values_and_chains():
    theme = gr.themes.Base()
    same = theme.set(
        button_primary_background_fill="*secondary_300",
        body_background_fill_dark="#000000",
    )
    assert same is theme
    light, dark = declarations(theme.css(), 0), declarations(theme.css(), 1)
    assert light["button-primary-background-fill"] == "var(--secondary-300)"
    assert dark["body-background-fill"] == "#000000"
    assert light["body-background-fill"] == "var(--background-fill-primary)"
    assert theme.variables["body_background_fill_dark"] == "#000000"


def test_set_rejects_unknown_variables_and_non_strings():
    theme = gr.themes.Soft()
    with pytest.raises(
        ValueError, match=r"unknown theme variable 'button_colour'.*body_text_color"
    ):
        theme.set(button_colour="red")
    with pytest.raises(TypeError, match="block_radius must be a string"):
        theme.set(block_radius=4)


def test_every_reference_in_the_css_names_a_defined_variable():
    for theme in (gr.themes.Default(), gr.themes.Soft(), gr.themes.Monochrome()):
        css = theme.css()
        defined = set(declarations(css, 0))
        used = set(re.findall(r"var\(--([\w-]+)\)", css))
        assert used <= defined, sorted(used - defined)
        assert "*" not in "".join(declarations(css, 0).values()).replace("calc(2 * ", "")


def test_body_css_resolves_references_to_colours():
    body = gr.themes.Default().body_css()
    assert body["body_background_fill"] == "white"
    assert body["body_text_color"] == COLORS["zinc"].shades[8]
    assert body["body_text_color_dark"] == COLORS["zinc"].shades[1]
    loop = gr.themes.Base().set(body_text_color="*body_text_color")
    with pytest.raises(ValueError, match="refers to itself"):
        loop.body_css()


def test_hues_sizes_and_fonts_are_checked():
    with pytest.raises(ValueError, match=r"unknown primary_hue 'mauve'.*'blue'"):
        gr.themes.Base(primary_hue="mauve")
    with pytest.raises(ValueError, match=r"unknown radius_size 'huge'"):
        gr.themes.Base(radius_size="huge")
    with pytest.raises(ValueError, match="needs 11 shades"):
        Color("short", ("#fff",))
    custom = Color("brand", tuple(f"#0000{i:02x}" for i in range(len(SHADES))))
    theme = gr.themes.Base(primary_hue=custom, font=["Inter", "sans-serif"])
    light = declarations(theme.css())
    assert light["primary-950"] == "#00000a"
    assert light["font"] == "'Inter', sans-serif"


def test_theme_names_resolve_like_gradio_strings():
    assert isinstance(resolve_theme("soft"), gr.themes.Soft)
    assert isinstance(resolve_theme("gradio/monochrome"), gr.themes.Monochrome)
    assert isinstance(resolve_theme(None), gr.themes.Default)
    assert isinstance(resolve_theme(gr.themes.Base), gr.themes.Base)
    with pytest.raises(ValueError, match=r"unknown theme 'glass'.*'soft'"):
        resolve_theme("glass")
    with pytest.raises(TypeError, match="theme must be"):
        resolve_theme(3)  # type: ignore[arg-type]


def test_blocks_serve_their_theme_and_css():
    with gr.Blocks(theme="soft", css=".x { color: red }") as demo:
        gr.Textbox()
    with TestClient(demo.app) as http:
        sheet = http.get("/theme.css")
        assert sheet.headers["content-type"].startswith("text/css")
        assert sheet.text == gr.themes.Soft().css()
        assert http.get("/gradio_api/theme.css").text == sheet.text
        assert http.get("/config").json()["css"] == ".x { color: red }"
        assert f"theme.css?v={demo.theme.hash()[:16]}" in http.get("/").text


def test_launch_takes_theme_and_css_as_gradio_6_does():
    with gr.Blocks() as demo:
        gr.Textbox()
    demo.launch(
        theme=gr.themes.Monochrome(), css="body { margin: 0 }", prevent_thread_lock=True, quiet=True
    )
    try:
        assert demo.theme.name == "monochrome" and demo.css == "body { margin: 0 }"
    finally:
        demo.close()
