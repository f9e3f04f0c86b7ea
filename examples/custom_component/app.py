"""A custom component: a counter with - and + buttons, rendered by its own ES module.

Run with `python examples/custom_component/app.py` and open the printed URL.
"""

from __future__ import annotations

from pathlib import Path

import webui as gr


class Counter(gr.Number):
    """A Number shown as a counter; the browser renders it with `counter.js`."""

    block_type = "counter"
    js_module = Path(__file__).with_name("counter.js")

    def __init__(self, value: int = 0, *, step: int = 1, **kwargs):
        super().__init__(value, precision=0, step=step, **kwargs)


def describe(count: int) -> str:
    return f"{count} × 2 = {count * 2}"


with gr.Blocks(title="Custom component") as demo:
    gr.Markdown("# A custom counter component")
    counter = Counter(3, label="Count")
    double = gr.Textbox(label="Doubled")
    gr.Button("Double it", variant="primary").click(describe, counter, double)
    counter.change(describe, counter, double)

if __name__ == "__main__":
    demo.launch()
