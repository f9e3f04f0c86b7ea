"""Themes: presets, `.set()`, references between variables, names, and the served `/theme.css`."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

import webui as gr
from webui.themes import Color, resolve_theme
from webui.themes.utils import colors


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
    assert declarations(default.css())["primary-500"] == colors.orange.c500
    assert declarations(soft.css())["primary-500"] == colors.indigo.c500
    assert declarations(base.css())["primary-500"] == colors.blue.c500
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
        values = "".join(declarations(css, 0).values())
        assert "*" not in re.sub(r"[\d.]+ \* ", "", values)  # calc(2 * x) is a product


def test_body_css_resolves_references_to_colours():
    body = gr.themes.Default().body_css()
    assert body["body_background_fill"] == "white"
    assert body["body_text_color"] == colors.zinc.c800
    assert body["body_text_color_dark"] == colors.zinc.c100
    loop = gr.themes.Base().set(body_text_color="*body_text_color")
    with pytest.raises(ValueError, match="refers to itself"):
        loop.body_css()


def test_hues_sizes_and_fonts_are_checked():
    with pytest.raises(ValueError, match=r"unknown primary_hue 'mauve'.*'blue'"):
        gr.themes.Base(primary_hue="mauve")
    with pytest.raises(ValueError, match=r"unknown radius_size 'huge'"):
        gr.themes.Base(radius_size="huge")
    with pytest.raises(TypeError, match="c950"):
        Color(*["#fff"] * 10)  # type: ignore[call-arg]
    custom = Color(*(f"#0000{i:02x}" for i in range(11)), name="brand")
    theme = gr.themes.Base(primary_hue=custom, font=[gr.themes.Font("Inter"), "sans-serif"])
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


def test_gradio_theme_modules_build_a_custom_theme():
    from webui.themes.base import Base
    from webui.themes.utils import colors, fonts, sizes

    class Seafoam(Base):
        def __init__(self) -> None:
            super().__init__(
                primary_hue=colors.emerald,
                neutral_hue="blue",
                text_size=sizes.text_lg,
                font=(fonts.GoogleFont("Quicksand"), "ui-sans-serif", "sans-serif"),
            )
            super().set(block_shadow="*shadow_drop_lg", button_primary_shadow="*shadow_drop_lg")

    css = Seafoam().css()
    light = declarations(css.split("\n", 1)[1])
    assert css.startswith(
        '@import url("https://fonts.googleapis.com/css2?family=Quicksand:wght@400;600&display=swap");'
    )
    assert light["primary-500"] == colors.emerald.c500 == "#10b981"
    assert light["neutral-500"] == colors.blue.c500
    assert light["text-md"] == sizes.text_lg.md == "16px"
    assert light["font"] == "'Quicksand', ui-sans-serif, sans-serif"
    assert light["button-primary-shadow"] == "var(--shadow-drop-lg)"
    assert Seafoam().stylesheets == [fonts.GoogleFont("Quicksand").stylesheet()["url"]]
    assert gr.themes.GoogleFont is fonts.GoogleFont and gr.themes.Size is sizes.Size


def test_google_font_names_and_weights_are_checked():
    font = gr.themes.GoogleFont("IBM Plex Mono", weights=(700, 400))
    assert font.stylesheet()["url"] == (
        "https://fonts.googleapis.com/css2?family=IBM+Plex+Mono:wght@400;700&display=swap"
    )
    assert str(font) == "'IBM Plex Mono'" and str(gr.themes.Font("serif")) == "serif"
    with pytest.raises(ValueError, match="font name"):
        gr.themes.GoogleFont('x"); @import url(evil')
    with pytest.raises(ValueError, match="weights"):
        gr.themes.GoogleFont("Inter", weights=(400, "bold"))  # type: ignore[arg-type]


def test_every_gradio_variable_is_settable_and_reaches_the_stylesheet():
    from webui.themes.variables import DARK, LIGHT

    theme = gr.themes.Default(primary_hue="blue")
    theme.set(**{name: f"{len(name)}px" for name in LIGHT})
    theme.set(**{f"{name}_dark": f"{len(name) + 1}px" for name in DARK})
    light, dark = declarations(theme.css(), 0), declarations(theme.css(), 1)
    for name in LIGHT:
        assert light[name.replace("_", "-")] == f"{len(name)}px", name
        expected = len(name) + (1 if name in DARK else 0)
        assert dark[name.replace("_", "-")] == f"{expected}px", name
    assert len(LIGHT) == 163 and len(DARK) == 104  # Gradio's set() takes 267 names
    extended = gr.themes.Default(primary_hue="blue").set(loader_color="#FF0000")
    assert declarations(extended.css())["loader-color"] == "#FF0000"


def test_dark_twins_exist_only_where_gradio_declares_them():
    theme = gr.themes.Base()
    with pytest.raises(ValueError, match="unknown theme variable 'block_radius_dark'"):
        theme.set(block_radius_dark="0px")
    with pytest.raises(ValueError, match="cannot refer"):
        theme.set(slider_color_dark="*slider_color")
    theme.set(slider_color=None, slider_color_dark="*secondary_600")  # None leaves it as is
    assert theme.variables["slider_color"] == "*color_accent"
    assert theme.computed("slider_color", dark=True) == theme.computed("secondary_600")
    # A dark twin left at None shows its light value in the dark variant.
    assert declarations(theme.css(), 1)["loader-color"] == "var(--color-accent)"


def test_the_page_styles_its_elements_with_the_theme_variables():
    from pathlib import Path

    import webui

    page_css = (Path(webui.__file__).parent / "static" / "webui.css").read_text()
    used = set(re.findall(r"var\(--([\w-]+)\)", page_css))
    defined = set(declarations(gr.themes.Default().css()))
    assert used <= defined, sorted(used - defined)
    for name in (
        "loader-color",
        "block-title-text-weight",
        "button-primary-shadow",
        "button-large-padding",
        "slider-color",
        "input-placeholder-color",
        "stat-background-fill",
        "prose-header-text-weight",
    ):
        assert name in used, name
