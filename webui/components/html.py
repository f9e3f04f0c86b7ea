"""gr.HTML: the app's own markup, as Gradio 6 builds it from templates, with its own events.

The page fills `html_template` and `css_template` as JavaScript template strings, with
`${value}` and the other props (`gr.HTML(html_template="<h2>${title}</h2>", title="Hi")`),
scopes the CSS to the block (rules outside a block style the block itself), and runs
`js_on_load` once with `element`, `trigger(event, data)`, `props` (setting `props.value`
re-renders), `upload(file)`, `watch(props, callback)` and `server` (each of `server_functions`
as an async method: `await server.list_files(path)`). `trigger("name", {...})` fires the
block's `name` event with that event data (a `gr.EventData` reads `evt.key`): every Gradio event
name is a listener here, and so is any other name that `js_on_load` quotes (`html.keypress`).
Used as a context manager, the blocks made inside take the place of `@children`.

All of it is author-trusted, as Gradio's is: never put text the app did not write into these
templates (see webui/README.md, "Untrusted content").
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Callable
from typing import Any, ClassVar

from webui.component import Component, server_function
from webui.events import Changeable, Clickable, Focusable, Selectable, Submittable, listener_for
from webui.tree import BlockContext

DEFAULT_JS_ON_LOAD = "element.addEventListener('click', function() { trigger('click') });"
# Gradio's other events (its `all_events`) beyond those the mixins above give.
OTHER_EVENTS = (
    "double_click",
    "stop",
    "edit",
    "clear",
    "play",
    "pause",
    "end",
    "start_recording",
    "pause_recording",
    "stop_recording",
    "upload",
    "release",
    "like",
    "example_select",
    "option_select",
    "key_up",
    "apply",
    "delete",
    "tick",
    "undo",
    "retry",
    "expand",
    "collapse",
    "download",
    "copy",
)
_QUOTED_NAME = re.compile(r"""['"`]([A-Za-z_]\w*)['"`]""")


class HTML(Changeable, Clickable, Submittable, Selectable, Focusable, BlockContext, Component):
    """The app's HTML, from `html_template` (default: the value as is); see the module doc."""

    block_type = "html"
    python_type = "str"
    example: ClassVar[Any] = "<p>Hello</p>"

    def __init__(
        self,
        value: Any = None,
        *,
        label: str | None = None,
        html_template: str = "${value}",
        css_template: str = "",
        js_on_load: str | None = DEFAULT_JS_ON_LOAD,
        apply_default_css: bool = True,
        show_label: bool = False,
        container: bool = False,
        padding: bool = False,
        autoscroll: bool = False,
        min_height: int | str | None = None,
        max_height: int | str | None = None,
        head: str | None = None,
        buttons: list[Any] | None = None,
        server_functions: list[Callable[..., Any]] | None = None,
        every: Any = None,
        inputs: Any = None,
        visible: bool = True,
        elem_id: str | None = None,
        elem_classes: list[str] | str | None = None,
        render: bool = True,
        scale: int | None = None,
        min_width: int = 160,
        key: int | str | None = None,
        **props: Any,
    ):
        for name, template in (("html_template", html_template), ("css_template", css_template)):
            if not isinstance(template, str):
                raise TypeError(f"HTML {name} must be a string, got {template!r}")
            if "{{" in template:
                raise ValueError(
                    f"HTML {name} uses Handlebars ({{{{...}}}}), which webui does not render; "
                    "write a JavaScript template string (${value}, ${props.name}) instead"
                )
        if js_on_load is not None and not isinstance(js_on_load, str):
            raise TypeError(f"HTML js_on_load must be a string or None, got {js_on_load!r}")
        if buttons:
            raise ValueError("HTML(buttons=...) is not supported by webui (no toolbar buttons)")
        self.html_template = html_template
        self.css_template = css_template
        self.js_on_load = js_on_load
        self.apply_default_css = apply_default_css
        self.padding = padding
        self.autoscroll = autoscroll
        self.min_height, self.max_height = min_height, max_height
        self.head = head  # markup for the page's <head>: scripts and stylesheets js_on_load uses
        self.template_props = props
        super().__init__(
            value=value,
            label=label,
            show_label=show_label,
            container=container,
            every=every,
            inputs=inputs,
            visible=visible,
            elem_id=elem_id,
            elem_classes=elem_classes,
            render=render,
            scale=scale,
            min_width=min_width,
            key=key,
        )
        self.server_fns = self._bind_server_functions(server_functions or [])
        self._bind_custom_events()

    def _bind_server_functions(self, functions: list[Callable[..., Any]]) -> list[str]:
        """Each function as a server function of this block, by its name: the page's
        `server.name(*args)` calls it with those arguments (webui.component_server)."""
        names = []
        for fn in functions:
            name = getattr(fn, "__name__", "")
            if not callable(fn) or not name.isidentifier() or hasattr(self, name):
                raise ValueError(
                    "HTML(server_functions=...) takes named functions whose names are not "
                    f"attributes of the block already; got {fn!r}"
                )
            setattr(self, name, server_function(_spread(fn)))
            names.append(name)
        return names

    def _bind_custom_events(self) -> None:
        """A listener for each name `js_on_load` quotes that is no attribute already, so
        `trigger('keypress')` in the page pairs with `html.keypress(fn, ...)`, as in Gradio."""
        for name in dict.fromkeys(_QUOTED_NAME.findall(self.js_on_load or "")):
            if not hasattr(self, name):
                setattr(self, name, types.MethodType(listener_for(name), self))

    def postprocess(self, value: Any) -> str | None:
        return None if value is None else str(value)

    def api_info(self) -> dict[str, Any]:
        return {"type": "string"}

    def own_props(self) -> dict[str, Any]:
        return {
            "html_template": self.html_template,
            "css_template": self.css_template,
            "js_on_load": self.js_on_load,
            "apply_default_css": self.apply_default_css,
            "padding": self.padding,
            "autoscroll": self.autoscroll,
            "min_height": self.min_height,
            "max_height": self.max_height,
            "head": self.head,
            "props": self.template_props,
            "server_fns": self.server_fns,
        }

    def layout(self) -> dict[str, Any]:
        """Children only when blocks were made inside: the page then fills `@children`."""
        return super().layout() if self.children else {"id": self.id}


def _spread(fn: Callable[..., Any]) -> Callable[[Any], Any]:
    """`fn` taking the page's list of arguments as its positional arguments."""
    if inspect.iscoroutinefunction(fn):

        async def call_async(args: Any) -> Any:
            return await fn(*(args if isinstance(args, list) else [args]))

        return call_async

    def call(args: Any) -> Any:
        return fn(*(args if isinstance(args, list) else [args]))

    return call


for _event in OTHER_EVENTS:
    setattr(HTML, _event, listener_for(_event))
