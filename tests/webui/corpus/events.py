"""Corpus apps of the Events family: gr.on, decorators, js=, chains, event data, gr.render."""

from __future__ import annotations

from pathlib import Path

from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

import webui as gr
from tests.browser import until
from tests.webui.corpus.page import AppTable, Exercise, Page

table = AppTable("events")


@table("gr.on as a decorator over two triggers; gr.EventData.target names the trigger")
def on_two_triggers(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    with gr.Blocks() as demo:
        name = gr.Textbox(label="Name", elem_id="name")
        go = gr.Button("Greet", elem_id="go")
        greeting = gr.Textbox(label="Greeting", elem_id="greeting")

        @gr.on(triggers=[go.click, name.submit], inputs=name, outputs=greeting)
        def greet(who: str, evt: gr.EventData) -> str:
            return f"Welcome, {who}! (from {evt.target.elem_id})"

    def exercise(page: Page) -> None:
        page.type("#name input", "Ada", Keys.ENTER)
        page.until_value("#greeting input", "Welcome, Ada! (from name)")
        page.click("#go button")
        page.until_value("#greeting input", "Welcome, Ada! (from go)")

    return demo, exercise


@table("decorator listeners (@btn.click, @demo.load) counting clicks in a State")
def decorator_listeners(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    with gr.Blocks() as demo:
        clicks = gr.State(0)
        shown = gr.Textbox(label="Clicks", elem_id="clicks")
        add = gr.Button("Add one", elem_id="add")

        @demo.load(outputs=shown)
        def ready() -> str:
            return "no clicks yet"

        @add.click(inputs=clicks, outputs=[clicks, shown])
        def count(n: int) -> tuple[int, str]:
            return n + 1, f"{n + 1} click{'s' if n else ''}"

    def exercise(page: Page) -> None:
        page.until_value("#clicks input", "no clicks yet")
        page.click("#add button")
        page.until_value("#clicks input", "1 click")
        page.click("#add button")
        page.until_value("#clicks input", "2 clicks")

    return demo, exercise


@table("js= without fn (runs in the page only) and js= feeding a Python fn")
def js_events(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    with gr.Blocks() as demo:
        text = gr.Textbox("level", label="Text", elem_id="text")
        mirrored = gr.Textbox(label="Mirrored", elem_id="mirrored")
        measured = gr.Textbox(label="Measured", elem_id="measured")
        gr.Button("Mirror", elem_id="mirror").click(
            None, text, mirrored, js="(t) => t.split('').reverse().join('') + ' (js)'"
        )
        gr.Button("Measure", elem_id="measure").click(
            lambda t: f"{t} has {len(t)} letters", text, measured, js="(t) => t.toUpperCase()"
        )

    def exercise(page: Page) -> None:
        page.click("#mirror button")
        page.until_value("#mirrored input", "level (js)")
        page.click("#measure button")
        page.until_value("#measured input", "LEVEL has 5 letters")

    return demo, exercise


@table(".then/.success/.failure after an event that raises gr.Error (toast, failure branch)")
def chained_division(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def divide(a: float, b: float) -> float:
        if b == 0:
            raise gr.Error("cannot divide by zero")
        return a / b

    with gr.Blocks() as demo:
        with gr.Row():
            a = gr.Number(6, label="a", elem_id="a")
            b = gr.Number(0, label="b", elem_id="b")
        quotient = gr.Number(label="a / b", elem_id="quotient")
        verdict = gr.Textbox(label="Verdict", elem_id="verdict")
        finished = gr.Textbox(label="Finished", elem_id="finished")
        event = gr.Button("Divide", elem_id="divide").click(divide, [a, b], quotient)
        event.success(lambda: "divided", None, verdict)
        event.failure(lambda: "failed", None, verdict)
        event.then(lambda: "finished either way", None, finished)

    def exercise(page: Page) -> None:
        page.click("#divide button")
        page.until_value("#verdict input", "failed")
        page.until_value("#finished input", "finished either way")
        toast = until(lambda: page.all(".webui-toast-error"))
        assert "cannot divide by zero" in toast[0].text
        b = page.find("#b input")
        b.clear()
        b.send_keys("4")
        page.click("#divide button")
        page.until_value("#verdict input", "divided")
        page.until_value("#quotient input", "1.5")

    return demo, exercise


@table("select on a CheckboxGroup with gr.SelectData injected (index, value, selected)")
def select_toppings(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def picked(evt: gr.SelectData) -> str:
        return f"{'added' if evt.selected else 'removed'} {evt.value} (#{evt.index})"

    with gr.Blocks() as demo:
        toppings = gr.CheckboxGroup(
            ["cheese", "olives", "basil"], label="Toppings", elem_id="toppings"
        )
        last = gr.Textbox(label="Last pick", elem_id="last")
        toppings.select(picked, None, last)

    def exercise(page: Page) -> None:
        page.all("#toppings input")[1].click()
        page.until_value("#last input", "added olives (#1)")
        page.all("#toppings input")[1].click()
        page.until_value("#last input", "removed olives (#1)")

    return demo, exercise


@table("Slider release and change listeners (keyboard steps fire both)")
def slider_release(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    with gr.Blocks() as demo:
        volume = gr.Slider(0, 10, value=5, step=1, label="Volume", elem_id="volume")
        released = gr.Textbox(label="Released at", elem_id="released")
        changes = gr.State(0)
        counted = gr.Textbox(label="Changes", elem_id="changes")
        volume.release(lambda v: f"released at {v:g}", volume, released)
        volume.change(lambda n: (n + 1, str(n + 1)), changes, [changes, counted])

    def exercise(page: Page) -> None:
        page.type("#volume input[type=range]", Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
        page.until_value("#released input", "released at 7")
        page.until_value("#changes input", "2")

    return demo, exercise


@table("Textbox blur and Dropdown key_up with gr.KeyUpData (typing in the choice list)")
def blur_and_key_up(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    with gr.Blocks() as demo:
        note = gr.Textbox(label="Note", elem_id="note")
        left = gr.Textbox(label="On blur", elem_id="left")
        city = gr.Dropdown(["Paris", "Lima", "Oslo"], label="City", elem_id="city")
        keys = gr.Textbox(label="Keys", elem_id="keys")

        def pressed(evt: gr.KeyUpData) -> str:
            return f"pressed {evt.key}"

        note.blur(lambda text: f"left with {len(text)} characters", note, left)
        city.key_up(pressed, None, keys)

    def exercise(page: Page) -> None:
        page.type("#note input", "draft")
        page.type("#city select", "o")  # moving the focus here blurs the note
        page.until_value("#left input", "left with 5 characters")
        page.until_value("#keys input", "pressed o")

    return demo, exercise


@table("Dropdown(allow_custom_value=True): key_up with KeyUpData's input_value, then blur")
def custom_dropdown_key_up(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def typed(evt: gr.KeyUpData) -> str:
        return f"{evt.key}: {evt.input_value}"

    with gr.Blocks() as demo:
        city = gr.Dropdown(["Paris", "Lima"], allow_custom_value=True, label="City", elem_id="city")
        keys = gr.Textbox(label="Keys", elem_id="keys")
        city.key_up(typed, None, keys)

    def exercise(page: Page) -> None:
        page.find("#city input").clear()  # Paris, the first choice, is the default value
        page.type("#city input", "Os")
        page.until_value("#keys input", "s: Os")
        page.click("#keys input")  # blurring the city commits the text: its change event
        until(lambda: page.script("return document.activeElement.closest('#keys') !== null"))

    return demo, exercise


@table("Dropdown(value=None) starts with nothing selected, then select picks a city")
def dropdown_starts_empty(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    with gr.Blocks() as demo:
        city = gr.Dropdown(["Paris", "Lima"], value=None, label="City", elem_id="city")
        chosen = gr.Textbox(label="Chosen", elem_id="chosen")
        city.select(lambda c: f"going to {c}", city, chosen)

    def exercise(page: Page) -> None:
        picked = page.script("return document.querySelector('#city select').selectedIndex")
        assert picked == -1, f"choice #{picked} is selected"
        Select(page.find("#city select")).select_by_visible_text("Lima")
        page.until_value("#chosen input", "going to Lima")

    return demo, exercise


@table("gr.Request injected: the page's query string and the browser's headers")
def request_info(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    def who(request: gr.Request) -> str:
        agent = "headless" if "HeadlessChrome" in request.headers["user-agent"] else "other"
        session = bool(request.session_hash)
        return f"{request.query_params.get('who')} via {agent}, session {session}"

    with gr.Blocks() as demo:
        visitor = gr.Textbox(label="Visitor", elem_id="visitor")
        gr.Button("Who am I?", elem_id="whoami").click(who, None, visitor)

    def exercise(page: Page) -> None:
        page.open("?who=ada")
        page.click("#whoami button")
        page.until_value("#visitor input", "ada via headless, session True")

    return demo, exercise


@table("dict returns ({component: value}) update only the outputs they name")
def dict_returns(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    with gr.Blocks() as demo:
        guess = gr.Number(label="Guess", elem_id="guess")
        hint = gr.Textbox(label="Hint", elem_id="hint")
        score = gr.Textbox("untouched", label="Score", elem_id="score")

        def check(n: float) -> dict[gr.components.Component, str]:
            if n == 7:
                return {hint: "right!", score: "1 point"}
            return {hint: "higher" if n < 7 else "lower"}

        guess.submit(check, guess, [hint, score])

    def exercise(page: Page) -> None:
        page.type("#guess input", "3", Keys.ENTER)
        page.until_value("#hint input", "higher")
        assert page.value("#score input") == "untouched"
        page.find("#guess input").clear()
        page.type("#guess input", "7", Keys.ENTER)
        page.until_value("#score input", "1 point")

    return demo, exercise


@table("@gr.render: one button per word, each with its own click event")
def render_words(tmp: Path) -> tuple[gr.Blocks, Exercise]:
    with gr.Blocks() as demo:
        sentence = gr.Textbox(label="Sentence", elem_id="sentence")
        chosen = gr.Textbox(label="Chosen", elem_id="chosen")

        @gr.render(inputs=sentence, triggers=[sentence.submit])
        def words(text: str) -> None:
            for i, word in enumerate(text.split()):
                gr.Button(word, elem_id=f"word{i}").click(
                    lambda w=word: f"you chose {w}", None, chosen
                )

    def exercise(page: Page) -> None:
        page.type("#sentence input", "red green blue", Keys.ENTER)
        until(lambda: page.all("#word2 button"))
        page.click("#word1 button")
        page.until_value("#chosen input", "you chose green")

    return demo, exercise
