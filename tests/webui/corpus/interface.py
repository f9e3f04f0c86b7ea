"""Corpus apps of the Interface family: shortcuts, examples, live, flagging, TabbedInterface."""

from __future__ import annotations

import csv
from pathlib import Path

from selenium.webdriver.common.keys import Keys

import webui as gr
from tests.browser import until
from tests.webui.corpus.page import AppTable, Exercise, Page

table = AppTable("interface")

TEXT_IN = "[data-testid=textbox] input"


@table("string shortcuts for inputs and outputs ('text', 'slider', 'checkbox'); Submit click")
def interface_shortcuts(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def repeat(word: str, times: float, loud: bool) -> str:
        text = " ".join([word] * int(times))
        return text.upper() if loud else text

    demo = gr.Interface(repeat, ["text", gr.Slider(1, 5, value=3, step=1), "checkbox"], "text")

    def exercise(page: Page) -> None:
        page.all(TEXT_IN)[0].send_keys("echo")
        page.click("[data-testid=checkbox] input")
        page.button("Submit").click()
        until(lambda: page.all(TEXT_IN)[1].get_attribute("value") == "ECHO ECHO ECHO")

    return demo, exercise


@table("examples as a clickable table that fill the inputs; then Enter submits")
def interface_examples(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def convert(celsius: float, unit: str) -> str:
        value = celsius * 9 / 5 + 32 if unit == "°F" else celsius + 273.15
        return f"{value:g} {unit}"

    demo = gr.Interface(
        convert,
        [gr.Number(label="Celsius", elem_id="celsius"), gr.Radio(["°F", "K"], label="Unit")],
        gr.Textbox(label="Converted", elem_id="converted"),
        examples=[[100, "°F"], [-40, "°F"], [0, "K"]],
        title="Temperatures",
    )

    def exercise(page: Page) -> None:
        page.all("[data-testid=dataset] tr.webui-dataset-sample")[2].click()
        page.until_value("#celsius input", "0")
        assert page.find("[data-testid=radio] input[value='1']").is_selected()  # "K"
        page.type("#celsius input", Keys.ENTER)  # Number's submit runs fn as Submit does
        page.until_value("#converted input", "273.15 K")

    return demo, exercise


@table("live=True: fn reruns on every input change, no Submit button")
def interface_live(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def count_letters(text: str) -> dict[str, float]:
        letters = [c for c in text.lower() if c.isalpha()]
        return {c: letters.count(c) / len(letters) for c in set(letters)}

    demo = gr.Interface(
        count_letters, gr.Textbox(elem_id="text"), gr.Label(elem_id="letters"), live=True
    )

    def exercise(page: Page) -> None:
        assert not [b for b in page.all("button") if b.text == "Submit"]
        page.type("#text input", "banana")
        page.until_text("#letters .webui-label-value", "a")

    return demo, exercise


@table("flagging_mode='manual' with flagging_options: a Flag button appends the CSV row")
def interface_flagging(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    flagged = tmp / "flagged"
    demo = gr.Interface(
        lambda text: text[::-1],
        gr.Textbox(label="Text", elem_id="text"),
        gr.Textbox(label="Reversed", elem_id="reversed"),
        flagging_mode="manual",
        flagging_options=["wrong", "great"],
        flagging_dir=str(flagged),
    )

    def exercise(page: Page) -> None:
        page.type("#text input", "stressed", Keys.ENTER)
        page.until_value("#reversed input", "desserts")
        page.button("Flag as great").click()
        dataset = flagged / "dataset1.csv"
        until(lambda: dataset.exists() and len(dataset.read_text().splitlines()) == 2)
        with open(dataset, newline="") as f:
            header, row = list(csv.reader(f))
        assert row[:3] == ["stressed", "desserts", "great"], (header, row)

    return demo, exercise


@table("TabbedInterface of two Interfaces: switch tab, submit in the second")
def tabbed_interface(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    shout = gr.Interface(str.upper, gr.Textbox(elem_id="shout_in"), gr.Textbox(elem_id="shout"))
    whisper = gr.Interface(
        str.lower, gr.Textbox(elem_id="whisper_in"), gr.Textbox(elem_id="whisper")
    )
    demo = gr.TabbedInterface([shout, whisper], ["Shout", "Whisper"], title="Voices")

    def exercise(page: Page) -> None:
        assert not page.shown("#whisper_in")
        next(t for t in page.all(".webui-tab") if t.text == "Whisper").click()
        page.type("#whisper_in input", "QUIET Please", Keys.ENTER)
        page.until_value("#whisper input", "quiet please")
        assert not page.shown("#shout_in")

    return demo, exercise
