"""gr.DeepLinkButton: Gradio's two click listeners, neither in the API info."""

from __future__ import annotations

from collections.abc import Callable

from gradio_client import Client

import webui as gr


def test_deep_link_button_listeners() -> None:
    with gr.Blocks() as demo:
        button = gr.DeepLinkButton(copied_value='Copied "!"</script>')
    copy, restore = demo.dependencies
    assert button.config()["type"] == "button" and button.props()["value"] == "Share via Link"
    assert copy.fn is None and copy.api_visibility == "private" and copy.outputs == [button]
    assert "gradio_api/deep_link" in copy.js and "deep_link" in copy.js
    assert '"Copied \\"!\\"</script>"' in copy.js  # a JSON string literal, not raw text
    assert restore.api_visibility == "undocumented" and restore.queue is False
    assert restore.fn() == "Share via Link"


def test_not_in_the_api(serve: Callable[[gr.Blocks], str]) -> None:
    with gr.Blocks() as demo:
        gr.DeepLinkButton()
        box = gr.Textbox()
        box.submit(lambda x: x, box, box, api_name="echo")
    info = Client(serve(demo), verbose=False).view_api(return_format="dict")
    assert list(info["named_endpoints"]) == ["/echo"]
