"""DeepLinkButton: a Button that copies a link reopening the app as this session shows it.

As Gradio's: a click runs a js-only listener that asks the server for a snapshot of the
session (`GET /gradio_api/deep_link`, see `webui.deep_links`), copies the page's URL with
`?deep_link=<name>` to the clipboard and shows `copied_value`; a second, undocumented listener
puts the label back a second later.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from webui.components.duplicate_button import space_id
from webui.components.misc import Button

if TYPE_CHECKING:
    from webui.dependency import Dependency

_COPY_LINK = """() => {
  const session = window.webui.session;
  const query = `session_hash=${encodeURIComponent(session.hash)}`;
  fetch(new URL(`gradio_api/deep_link?${query}`, session.base))
    .then((reply) => {
      if (!reply.ok) throw new Error(`HTTP ${reply.status}`);
      return reply.json();
    })
    .then((name) => {
      const link = new URL(window.location.href);
      if (name) link.searchParams.set("deep_link", name);
      DELETE_SIGN
      return navigator.clipboard.writeText(link.toString());
    })
    .catch((error) => console.error("Error fetching deep link:", error));
  return COPIED;
}"""


class DeepLinkButton(Button):
    is_template = True  # as Gradio's: the config and API info name it "Button"

    def __init__(
        self,
        value: str = "Share via Link",
        copied_value: str = "Link Copied!",
        *,
        variant: str = "secondary",
        size: str = "lg",
        **kwargs: Any,
    ):
        self.copied_value = copied_value
        super().__init__(value, variant=variant, size=size, **kwargs)
        if self.root is not None:
            self.activate()

    def share_link_js(self) -> str:
        """The click's JavaScript (author-trusted, as any `js=`): the copied text as a JSON
        string literal, so no label can break out of it."""
        delete_sign = "link.searchParams.delete('__sign');" if space_id() else ""
        return _COPY_LINK.replace("DELETE_SIGN", delete_sign).replace(
            "COPIED", json.dumps(str(self.copied_value))
        )

    def activate(self) -> None:
        """Attach the two click listeners (Gradio's split: a js-only one cannot chain)."""
        self.click(None, [], [self], js=self.share_link_js(), api_visibility="private")
        label = self.value

        def restore_label() -> Any:
            time.sleep(1)
            return label

        # Gradio's fn is a lambda, so its undocumented endpoint is /lambda (or lambda_1, ...).
        self.click(
            restore_label, [], [self], queue=False, api_name="lambda", api_visibility="undocumented"
        )


# The page enables the button once there is something to share (Gradio runs this as js=True).
ENABLE_JS = "() => ({ __type__: 'update', interactive: true })"


def interface_deep_link(deep_link: Any) -> DeepLinkButton | None:
    """`Interface(deep_link=...)` as Gradio reads it: a label or True makes a disabled button
    (enabled after the first run), a DeepLinkButton is used as given, None makes one only on a
    Hugging Face Space, False none."""
    if isinstance(deep_link, DeepLinkButton):
        return deep_link
    if isinstance(deep_link, str):
        return DeepLinkButton(deep_link, render=False, interactive=False)
    if deep_link is True or (deep_link is None and space_id()):
        return DeepLinkButton(render=False, interactive=False)
    if deep_link is None or deep_link is False:
        return None
    raise TypeError(f"deep_link must be a label, a bool or a gr.DeepLinkButton: {deep_link!r}")


def activate_for_runs(button: DeepLinkButton, runs: list[Dependency | None]) -> None:
    """Wire an Interface's rendered button: its clicks, and enabling it after each run."""
    button.activate()
    for run in runs:
        if run is not None:
            run.then(None, None, [button], js=ENABLE_JS, api_visibility="undocumented")
