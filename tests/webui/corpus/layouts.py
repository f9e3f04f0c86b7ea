"""Corpus apps of the components family that are about layout: layouts as outputs, Sidebar,
and a component value refreshed with every=."""

from __future__ import annotations

import itertools
from pathlib import Path

import webui as gr
from tests.browser import until
from tests.webui.corpus.page import AppTable, Exercise, Page

table = AppTable("components")


@table("gr.Column(visible=...) returned by a Checkbox change shows and hides a panel")
def column_visibility(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    with gr.Blocks() as demo:
        advanced = gr.Checkbox(False, label="Advanced options", elem_id="advanced")
        with gr.Column(visible=False, elem_id="panel") as panel:
            gr.Slider(0, 1, value=0.7, label="Temperature")
        advanced.change(lambda on: gr.Column(visible=on), advanced, panel)

    def exercise(page: Page) -> None:
        assert not page.shown("#panel")
        page.click("#advanced input")
        until(lambda: page.shown("#panel"))
        page.click("#advanced input")
        until(lambda: not page.shown("#panel"))

    return demo, exercise


@table("gr.Tabs(selected=id) returned by a click moves to the tab of that id")
def tabs_selected(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    with gr.Blocks() as demo:
        with gr.Tabs() as tabs:
            with gr.Tab("Question", id="question"):
                question = gr.Textbox(label="Question", elem_id="question")
                ask = gr.Button("Ask", elem_id="ask")
            with gr.Tab("Answer", id="answer"):
                answer = gr.Textbox(label="Answer", elem_id="answer")
        ask.click(
            lambda q: (f"42 is the answer to {q!r}", gr.Tabs(selected="answer")),
            question,
            [answer, tabs],
        )

    def exercise(page: Page) -> None:
        page.type("#question input", "everything")
        page.click("#ask button")
        until(lambda: page.shown("#answer"))
        assert page.value("#answer input") == "42 is the answer to 'everything'"
        assert not page.shown("#question")

    return demo, exercise


@table("Tab.select (gr.SelectData) and gr.Accordion(open=True) returned as an output")
def tab_select_opens_accordion(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def opened(evt: gr.SelectData) -> tuple[str, gr.Accordion]:
        return f"tab {evt.index}: {evt.value}", gr.Accordion(open=True)

    with gr.Blocks() as demo:
        with gr.Tabs():
            with gr.Tab("Recipe") as recipe:
                gr.Markdown("Flour, water, salt.")
            with (
                gr.Tab("Notes") as notes,
                gr.Accordion("Tips", open=False, elem_id="tips") as tips,
            ):
                gr.Markdown("Rest the dough.", elem_id="tip")
        seen = gr.Textbox(label="Seen", elem_id="seen")
        for tab in (recipe, notes):
            tab.select(opened, None, [seen, tips])

    def exercise(page: Page) -> None:
        next(t for t in page.all(".webui-tab") if t.text == "Notes").click()
        page.until_value("#seen input", "tab 1: Notes")
        until(lambda: page.shown("#tip"))

    return demo, exercise


@table("Sidebar holding the controls: its button fills the main column; its toggle works")
def sidebar_controls(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    with gr.Blocks() as demo:
        with gr.Sidebar(label="Settings", elem_id="side"):
            name = gr.Textbox("world", label="Name", elem_id="name")
            go = gr.Button("Say hello", elem_id="hello")
        shown = gr.Markdown(elem_id="shown")
        go.click(lambda n: f"## Hello, {n}!", name, shown)

    def exercise(page: Page) -> None:
        page.click("#hello button")
        page.until_text("#shown h2", "Hello, world!")
        page.click(".webui-sidebar-toggle")
        until(lambda: not page.shown("#name"))
        page.click(".webui-sidebar-toggle")  # open again for the screenshot
        until(lambda: page.shown("#name"))

    return demo, exercise


@table("a component whose value= is a callable with every=: refreshed by the page")
def every_refresh(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    ticks = itertools.count(1)
    with gr.Blocks() as demo:
        gr.Textbox(lambda: f"tick {next(ticks)}", every=0.2, label="Clock", elem_id="clock")

    def exercise(page: Page) -> None:
        until(lambda: int((page.value("#clock input") or "tick 0").split()[1]) >= 4)

    return demo, exercise
