"""Event listeners: the `.click`/`.change`/... methods components carry, and `gr.on`.

A listener declares a `Dependency` (see `webui.dependency`). Called without `fn` it is a
decorator, as in Gradio: `@btn.click(inputs=box, outputs=out)` over a function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from webui.component import Component
from webui.dependency import (
    DECORATOR,
    ConcurrencyLimit,
    Dependency,
    ShowProgress,
    TriggerMode,
    add_dependency,
    register,
)
from webui.tree import Block, open_layout

if TYPE_CHECKING:
    from webui.root import Root

__all__ = [
    "DECORATOR",
    "ConcurrencyLimit",
    "Dependency",
    "ShowProgress",
    "TriggerMode",
    "add_dependency",
    "listener_for",
    "on",
]

# Gradio's defaults: a value that changes while its last event runs only re-runs the last one.
_ALWAYS_LAST = {"change", "input", "release", "key_up", "stream"}
# Keywords only some events take in Gradio (its event_specific_args), by event.
_EVENT_SPECIFIC = {"like": {"like_user_message"}}


def _listener(event: str) -> Callable[..., Any]:
    specific = _EVENT_SPECIFIC.get(event, set())

    def listen(
        self: Block,
        fn: Callable[..., Any] | None = DECORATOR,
        inputs: Any = None,
        outputs: Any = None,
        **options: Any,
    ) -> Any:
        if self.root is None:
            raise RuntimeError(
                f"{type(self).__name__}.{event}() needs the component rendered inside a Blocks"
            )
        if event in _ALWAYS_LAST:
            options.setdefault("trigger_mode", "always_last")
        for name in specific:
            if name in options:  # a prop of the component that this event's listener sets
                setattr(self, name, options.pop(name))
        if specific:
            options["event_specific_args"] = sorted(specific)
        return register(self.root, [(self.id, event)], fn, inputs, outputs, **options)

    listen.__name__ = event
    listen.__doc__ = (
        f"Run `fn(*inputs)` when this block fires `{event}`; its result goes to `outputs`. "
        "Without `fn`, a decorator."
    )
    return listen


def listener_for(event: str) -> Callable[..., Any]:
    """The listener method of an event a component names at run time (gr.HTML's custom
    `trigger("name")` events); bind it to the component as its `name` attribute."""
    return _listener(event)


def _target(trigger: Any) -> tuple[Block, str]:
    """(block, event) of a bound listener such as `btn.click` or `demo.load`."""
    block = getattr(trigger, "__self__", None)
    event = getattr(trigger, "__name__", None)
    if not isinstance(block, Block) or not isinstance(event, str):
        raise TypeError(
            f"gr.on triggers must be listeners such as btn.click or box.submit, got {trigger!r}"
        )
    return block, event


def on(
    triggers: Sequence[Any] | Any | None = None,
    fn: Callable[..., Any] | None = DECORATOR,
    inputs: Any = None,
    outputs: Any = None,
    **options: Any,
) -> Any:
    """One event for several triggers (`gr.on([btn.click, box.submit], fn, ...)`): one endpoint.

    `triggers=None` runs fn on page load and on a change of any of the inputs, as in Gradio.
    Takes the keywords every listener takes; without `fn`, a decorator.
    """
    parent = open_layout()
    if parent is None:
        raise RuntimeError("gr.on() must be called inside a `with gr.Blocks():` block")
    root: Root = parent.root  # type: ignore[assignment]
    if triggers is None:
        listed = [inputs] if isinstance(inputs, Component) else list(inputs or [])
        targets = [(c.id, "change") for c in listed] + [(root.id, "load")]
    else:
        listed_triggers = list(triggers) if isinstance(triggers, Sequence) else [triggers]
        pairs = [_target(t) for t in listed_triggers]
        targets = [(block.id, event) for block, event in pairs]
        timers = [block for block, event in pairs if event == "tick"]  # only a Timer ticks
        if timers:
            options.setdefault("timer", timers[0])
        streamed = [block for block, event in pairs if event == "stream"]
        if streamed:  # as Gradio: a stream trigger makes the event a stream
            _check_stream_timings(options.get("stream_every", 0.5), options.get("time_limit"))
            for block in streamed:
                block.start_streaming()  # type: ignore[attr-defined]  # only Streamables stream
            options["connection"] = "stream"
    return register(root, targets, fn, inputs, outputs, **options)


class Clickable:
    click = _listener("click")


class Changeable:
    change = _listener("change")
    input = _listener("input")


class Submittable:
    submit = _listener("submit")


class Selectable:
    select = _listener("select")


class Focusable:
    focus = _listener("focus")
    blur = _listener("blur")


class Releasable:
    release = _listener("release")


class KeyUppable:
    key_up = _listener("key_up")


class Editable:
    edit = _listener("edit")


class Likeable(Editable):
    like = _listener("like")
    retry = _listener("retry")
    undo = _listener("undo")
    clear = _listener("clear")
    copy = _listener("copy")
    option_select = _listener("option_select")


class DoubleClickable:
    double_click = _listener("double_click")


class Playable:
    """Gradio's Audio/Video playback and recording events."""

    play = _listener("play")
    pause = _listener("pause")
    stop = _listener("stop")
    end = _listener("end")
    start_recording = _listener("start_recording")
    pause_recording = _listener("pause_recording")
    stop_recording = _listener("stop_recording")


class Expandable:
    expand = _listener("expand")
    collapse = _listener("collapse")


# The source a streaming component records from, by block type (Gradio's check_streamable).
_STREAM_SOURCES = {"image": "webcam", "audio": "microphone"}


def _check_stream_timings(stream_every: Any, time_limit: Any) -> None:
    if isinstance(stream_every, bool) or not isinstance(stream_every, int | float):
        raise TypeError(f"stream_every must be seconds (a number), got {stream_every!r}")
    if stream_every <= 0:
        raise ValueError(f"stream_every must be over 0 seconds, got {stream_every!r}")
    if time_limit is not None and (
        isinstance(time_limit, bool) or not isinstance(time_limit, int | float) or time_limit <= 0
    ):
        raise ValueError(f"time_limit must be seconds over 0 or None, got {time_limit!r}")


class Streamable:
    """Gradio's `.stream()`: the page records the webcam (Image) or the microphone (Audio) and
    sends a frame or a chunk every `stream_every` seconds to one running event, which calls
    `fn` on each (see `webui.stream_inputs`)."""

    streaming: bool = False  # set by .stream(): the page records and sends chunks

    def start_streaming(self: Any) -> None:
        """Check, as Gradio's check_streamable, that this block records, and mark it so."""
        source = _STREAM_SOURCES.get(self.block_type)
        sources = getattr(self, "sources", None) or []
        if source is None:
            raise ValueError(
                f"{type(self).__name__}.stream() has nothing to record: webui streams the "
                "webcam of an Image and the microphone of an Audio"
            )
        if source not in sources or (source == "webcam" and list(sources) != ["webcam"]):
            wanted = "sources=['webcam']" if source == "webcam" else "'microphone' in sources"
            raise ValueError(f"{type(self).__name__}.stream() needs {wanted}, got {sources!r}")
        self.streaming = True

    def stream(
        self: Any,
        fn: Callable[..., Any] | None = DECORATOR,
        inputs: Any = None,
        outputs: Any = None,
        *,
        stream_every: float = 0.5,
        time_limit: float | None = None,
        **options: Any,
    ) -> Any:
        """Run `fn(*inputs)` on each recorded chunk, for at most `time_limit` seconds."""
        _check_stream_timings(stream_every, time_limit)
        self.start_streaming()
        return _stream(
            self,
            fn,
            inputs,
            outputs,
            stream_every=stream_every,
            time_limit=time_limit,
            connection="stream",
            **options,
        )


_stream = _listener("stream")


class Copyable:
    copy = _listener("copy")


class Clearable:
    clear = _listener("clear")
