"""Interface(fn, inputs, outputs): a whole app around one function, as Gradio's.

Inputs and outputs are components, component classes, Gradio's string shortcuts ("text",
"image", ...) or lists of them; `None` means none (an output-only or input-only app). Leaving
both out infers them from `fn`'s type annotations (webui's addition, see `annotations.py`).
Every parameter of Gradio's `Interface.__init__` is implemented or refused with an error naming
it; nothing is accepted and ignored.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from enum import Enum
from typing import Any, Literal

from webui.annotations import component_for, infer_components  # noqa: F401 (public here too)
from webui.blocks import Blocks
from webui.components import Button, Markdown, State
from webui.components.deep_link_button import activate_for_runs, interface_deep_link
from webui.components.misc import ClearButton
from webui.components.shortcuts import component_list
from webui.events import Changeable, Dependency, Submittable, add_dependency
from webui.examples import Examples
from webui.flagging import FLAGGING_MODES, CSVLogger, FlaggingCallback, FlagMethod
from webui.flagging import flagging_options as parse_flagging_options
from webui.layouts import Accordion, Column, Row
from webui.progress import Progress

_OMITTED: Any = object()  # inputs/outputs left out: inferred from annotations


class InterfaceType(Enum):
    STANDARD = "standard"  # inputs and outputs
    INPUT_ONLY = "input_only"  # no outputs
    OUTPUT_ONLY = "output_only"  # no inputs: a Generate button
    UNIFIED = "unified"  # the outputs are the inputs


def _refuse_unsupported(**given: Any) -> None:
    """Gradio parameters webui cannot honour: an error naming each, unless left at default."""
    reasons = {
        "batch": (False, "webui's events run one call at a time; there is no batching"),
        "_api_mode": (False, "it is Gradio-internal (gr.load of remote apps)"),
        "allow_duplication": (False, "the Duplicate button is for Hugging Face Spaces"),
        "validator": (None, "webui's events have no validators"),
    }
    for name, value in given.items():
        default, why = reasons[name]
        if value != default:
            raise ValueError(f"Interface({name}={value!r}) is not supported by webui: {why}")


def _button_args(given: Any, name: str, defaults: dict[str, Any]) -> dict[str, Any]:
    if isinstance(given, Button):
        return {**defaults, **given.constructor_args, "render": True}
    if isinstance(given, str):
        return {**defaults, "value": given}
    raise TypeError(f"{name} must be a string (the label) or a gr.Button, not {given!r}")


class Interface(Blocks):
    """Inputs, outputs and Submit/Clear/Flag buttons wired to `fn` (api_name: fn's name)."""

    def __init__(
        self,
        fn: Callable[..., Any],
        inputs: Any = _OMITTED,
        outputs: Any = _OMITTED,
        examples: list[Any] | str | None = None,
        *,
        cache_examples: bool | Literal["lazy"] | None = None,
        cache_mode: Literal["eager", "lazy"] | None = None,
        examples_per_page: int = 10,
        example_labels: list[str] | None = None,
        preload_example: int | Literal[False] = 0,
        live: bool = False,
        title: str | None = None,
        description: str | None = None,
        article: str | None = None,
        flagging_mode: Literal["never", "auto", "manual"] | None = None,
        flagging_options: list[str] | list[tuple[str, str]] | None = None,
        flagging_dir: str = ".gradio/flagged",
        flagging_callback: FlaggingCallback | None = None,
        analytics_enabled: bool | None = None,
        batch: bool = False,
        max_batch_size: int = 4,
        api_visibility: Literal["public", "private", "undocumented"] = "public",
        api_name: str | None = None,
        api_description: str | None = None,
        _api_mode: bool = False,
        allow_duplication: bool = False,
        concurrency_limit: int | Literal["default"] | None = "default",
        additional_inputs: Any = None,
        additional_inputs_accordion: str | Accordion | None = None,
        submit_btn: str | Button = "Submit",
        stop_btn: str | Button = "Stop",
        clear_btn: str | Button | None = "Clear",
        delete_cache: tuple[int, int] | None = None,
        show_progress: Literal["full", "minimal", "hidden"] = "full",
        fill_width: bool = False,
        time_limit: int | None = 30,
        stream_every: float = 0.5,
        deep_link: str | bool | None = None,
        validator: Callable[..., Any] | None = None,
        **blocks_kwargs: Any,
    ):
        _refuse_unsupported(
            batch=batch, _api_mode=_api_mode, allow_duplication=allow_duplication,
            validator=validator,
        )  # fmt: skip
        self.deep_link = interface_deep_link(deep_link)  # a DeepLinkButton, or None
        if api_description is False:
            raise ValueError("Interface(api_description=False) is not supported by webui")
        if isinstance(article, str) and article.strip().startswith(("http://", "https://")):
            raise ValueError("Interface(article=<URL>): webui never fetches URLs; pass the text")
        allowed = set(inspect.signature(Blocks.__init__).parameters) - {"self", "title"}
        unknown = sorted(set(blocks_kwargs) - allowed)
        if unknown:
            raise TypeError(
                f"Interface got {unknown}, which webui's Blocks does not take (it takes "
                f"{sorted(allowed)}); Gradio's js/head/css_paths are not supported"
            )
        super().__init__(
            title=title or "webui",
            fill_width=fill_width,
            analytics_enabled=analytics_enabled,
            delete_cache=delete_cache,  # the sweep of old files, as Blocks (webui.session_end)
            **blocks_kwargs,
        )
        if inputs is _OMITTED or outputs is _OMITTED:
            inferred_inputs, inferred_outputs = infer_components(fn)
            inputs = inferred_inputs if inputs is _OMITTED else inputs
            outputs = inferred_outputs if outputs is _OMITTED else outputs
        self.main_input_components = component_list(inputs, "input")
        self.additional_input_components = component_list(additional_inputs, "additional input")
        self.input_components = self.main_input_components + self.additional_input_components
        self.output_components = component_list(outputs, "output")
        for component in self.input_components + self.output_components:
            component.unrender()  # made inside another app's `with`: rendered here instead
        if not self.input_components and not self.output_components:
            raise ValueError("Interface needs at least one of `inputs` or `outputs`")
        self.fn = fn
        self.live = live
        # A live interface's streaming inputs (Image(streaming=True)) send chunks this often,
        # for at most time_limit seconds, as a .stream() event does.
        self.time_limit, self.stream_every = time_limit, stream_every
        self.description, self.article = description, article
        self.api_name, self.api_visibility = api_name, api_visibility
        self.api_description = api_description
        self.concurrency_limit, self.show_progress = concurrency_limit, show_progress
        self.max_batch_size = max_batch_size  # without batching it has no effect, as in Gradio
        self._share_state(fn)
        self.interface_type = self._type()
        self._label(fn)
        self.flagging_mode = self._flagging_mode(flagging_mode)
        self.flagging_options = parse_flagging_options(flagging_options)
        self.flagging_callback = flagging_callback or CSVLogger()
        self.flagging_dir = flagging_dir
        if self.flagging_mode != "never" and self.interface_type != InterfaceType.INPUT_ONLY:
            flagged = self.input_components
            if self.interface_type != InterfaceType.UNIFIED:
                flagged = flagged + self.output_components
            self.flagging_callback.setup(flagged, flagging_dir)
        accordion = additional_inputs_accordion
        if accordion is None:
            self.accordion_args: dict[str, Any] = {"label": "Additional Inputs", "open": False}
        elif isinstance(accordion, str):
            self.accordion_args = {"label": accordion}
        elif isinstance(accordion, Accordion):
            self.accordion_args = {"label": accordion.label, "open": accordion.open}
        else:
            raise TypeError(
                f"additional_inputs_accordion must be a str or gr.Accordion: {accordion!r}"
            )
        self.submit_args = _button_args(submit_btn, "submit_btn", {"variant": "primary"})
        self.stop_args = _button_args(stop_btn, "stop_btn", {"variant": "stop", "visible": False})
        self.clear_args = (
            {"value": "Clear", "visible": False}
            if clear_btn is None
            else _button_args(clear_btn, "clear_btn", {"variant": "secondary"})
        )
        self.examples_handler: Examples | None = None
        with self:
            self._render(title, examples, cache_examples, cache_mode, examples_per_page,
                         example_labels, preload_example)  # fmt: skip

    # -- building --------------------------------------------------------------------------------

    def _share_state(self, fn: Callable[..., Any]) -> None:
        """Gradio's rule: a "state" input and a "state" output are one State, its default the
        function's default for that parameter."""
        ins = [i for i, c in enumerate(self.input_components) if isinstance(c, State)]
        outs = [i for i, c in enumerate(self.output_components) if isinstance(c, State)]
        if not ins and not outs:
            return
        if len(ins) != 1 or len(outs) != 1:
            raise ValueError("with State, there must be exactly one State input and one output")
        state = self.input_components[ins[0]]
        if state.value is None:
            defaults = [
                p.default
                for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
            default = defaults[ins[0]] if ins[0] < len(defaults) else inspect.Parameter.empty
            if default is not inspect.Parameter.empty:
                state.value = default
        self.output_components[outs[0]] = state

    def _type(self) -> InterfaceType:
        if not self.output_components:
            return InterfaceType.INPUT_ONLY
        if not self.input_components:
            return InterfaceType.OUTPUT_ONLY
        if len(self.input_components) == len(self.output_components) and all(
            i is o for i, o in zip(self.input_components, self.output_components, strict=True)
        ):
            return InterfaceType.UNIFIED
        return InterfaceType.STANDARD

    def _label(self, fn: Callable[..., Any]) -> None:
        """Unlabelled inputs take fn's parameter names, outputs "output" / "output {i}"; outputs
        not marked interactive are display-only."""
        try:
            parameters = inspect.signature(fn).parameters.values()
            names = [p.name for p in parameters if not isinstance(p.default, Progress)]
        except (TypeError, ValueError):
            names = []
        for component, name in zip(self.input_components, names, strict=False):
            if component.label is None:
                component.label = name
        for i, component in enumerate(self.output_components):
            if component.label is None:
                component.label = "output" if len(self.output_components) == 1 else f"output {i}"
        if self.interface_type in (InterfaceType.STANDARD, InterfaceType.OUTPUT_ONLY):
            for component in self.output_components:
                if component.interactive is None:
                    component.interactive = False

    @staticmethod
    def _flagging_mode(mode: str | None) -> str:
        mode = mode if mode is not None else os.environ.get("GRADIO_FLAGGING_MODE", "manual")
        if mode not in FLAGGING_MODES:
            raise ValueError(f"flagging_mode must be one of {FLAGGING_MODES}, got {mode!r}")
        return mode

    def _is_generator(self) -> bool:
        return inspect.isgeneratorfunction(self.fn) or inspect.isasyncgenfunction(self.fn)

    def _render(self, title: str | None, examples: Any, *example_args: Any) -> None:
        if title:
            Markdown(f"# {title}")
        if self.description:
            Markdown(self.description)
        kind = self.interface_type
        submit = stop = clear = None
        flags: list[Button] = []
        with Row():
            if kind != InterfaceType.OUTPUT_ONLY:
                submit, stop, clear, flags = self._input_column()
            if kind in (InterfaceType.STANDARD, InterfaceType.OUTPUT_ONLY):
                with Column():
                    for component in self.output_components:
                        if not isinstance(component, State):
                            component.render()
                    with Row():
                        if self.deep_link:
                            self.deep_link.render()
                        if kind == InterfaceType.OUTPUT_ONLY:
                            clear = ClearButton(**self.clear_args)
                            submit = Button("Generate", variant="primary")
                            if self._is_generator() and not self.live:
                                stop = Button(**self.stop_args)
                        flags = self._flag_buttons(submit) or flags
        assert clear is not None  # every kind renders one
        self.submit_event = self._attach_submit(submit, stop)
        clear.add(self.input_components + self.output_components)
        self._attach_flagging(flags, clear)
        if examples:
            self._render_examples(examples, *example_args)
        if self.deep_link:  # enabled by a run or a cached example, as in Gradio
            cached = getattr(self.examples_handler, "cache_event", None)
            activate_for_runs(self.deep_link, [self.submit_event, cached])
        if self.article:
            Markdown(self.article)

    def _input_column(self) -> tuple[Button | None, Button | None, ClearButton, list[Button]]:
        submit = stop = None
        flags: list[Button] = []
        with Column():
            with Column():
                for component in self.main_input_components:
                    component.render()
                if self.additional_input_components:
                    with Accordion(**self.accordion_args):
                        for component in self.additional_input_components:
                            component.render()
            with Row():
                clear = ClearButton(**self.clear_args)
                unified = self.interface_type == InterfaceType.UNIFIED
                if unified or not self.live:
                    if self.deep_link and self.interface_type == InterfaceType.INPUT_ONLY:
                        self.deep_link.render()
                    submit = Button(**self.submit_args)
                    if self.deep_link and unified:
                        self.deep_link.render()
                    if self._is_generator() and not self.live:
                        stop = Button(**self.stop_args)
                if unified:
                    flags = self._flag_buttons(submit)
        return submit, stop, clear, flags

    def _flag_buttons(self, submit: Button | None) -> list[Button]:
        if self.flagging_mode == "manual":
            return [Button(label) for label, _ in self.flagging_options]
        if self.flagging_mode == "auto" and submit is not None:
            return [submit]
        return []

    def _event_options(self) -> dict[str, Any]:
        return {
            "api_name": self.api_name,
            "api_visibility": self.api_visibility,
            "api_description": self.api_description,
            "show_progress": self.show_progress,
        }

    def _attach_submit(self, submit: Button | None, stop: Button | None) -> Dependency:
        inputs, outputs = self.input_components, self.output_components
        options = self._event_options()
        if self.live and self.interface_type != InterfaceType.OUTPUT_ONLY:
            # As Gradio: a streaming input triggers by its chunks, any other by its changes.
            streamed = [c for c in inputs if getattr(c, "streaming", False)]
            triggers = [
                (c.id, "stream" if c in streamed else "change")
                for c in inputs
                if c in streamed or isinstance(c, Changeable)
            ]
            if streamed:
                options.update(connection="stream", show_progress="hidden")
            return add_dependency(
                self, triggers, self.fn, inputs, outputs,
                trigger_mode="multiple" if streamed else "always_last",
                concurrency_limit=self.concurrency_limit, time_limit=self.time_limit,
                stream_every=self.stream_every, **options,
            )  # fmt: skip
        assert submit is not None  # rendered whenever the interface is not live
        if self.live:  # output-only: run at page load, and again from the Generate button
            self.load(self.fn, None, outputs, api_visibility="undocumented")
        triggers = [(submit.id, "click")] + [
            (c.id, "submit") for c in inputs if isinstance(c, Submittable)
        ]
        if stop is None:
            return add_dependency(
                self, triggers, self.fn, inputs, outputs,
                concurrency_limit=self.concurrency_limit, **options,
            )  # fmt: skip

        # A lambda, as Gradio's, so the later lambdas of the app get Gradio's endpoint names.
        show_stop = lambda: (  # noqa: E731
            Button(visible=False, render=False),
            Button(visible=True, render=False),
        )

        def cleanup() -> tuple[Any, Any]:
            return Button(visible=True, render=False), Button(visible=False, render=False)

        quiet: dict[str, Any] = {
            "queue": False,
            "api_visibility": "undocumented",
            "show_progress": "hidden",
        }
        toggle = add_dependency(self, triggers, show_stop, None, [submit, stop], **quiet)
        predict = toggle.then(
            self.fn, inputs, outputs, concurrency_limit=self.concurrency_limit, **options
        )
        final = predict.then(cleanup, None, [submit, stop], **quiet)
        stop.click(cleanup, None, [submit, stop], cancels=[predict], **quiet)
        return final

    def _attach_flagging(self, flags: list[Button], clear: ClearButton) -> None:
        if not flags or self.interface_type == InterfaceType.INPUT_ONLY:
            return
        flagged = self.input_components
        if self.interface_type != InterfaceType.UNIFIED:
            flagged = flagged + self.output_components
        quiet: dict[str, Any] = {
            "preprocess": False,
            "queue": False,
            "api_visibility": "undocumented",
        }
        if self.flagging_mode == "auto":
            method = FlagMethod(self.flagging_callback, "", None, visual_feedback=False)
            self.submit_event.success(method, flagged, None, **quiet)
            return
        # As Gradio's three events per button (and so its endpoint names: lambda, Flag, reset):
        # the button shows "Saving..." while the sample is saved, and Clear restores its label.
        for button, (label, value) in zip(flags, self.flagging_options, strict=False):
            method = FlagMethod(self.flagging_callback, label, value)
            saving = lambda: Button(value="Saving...", interactive=False, render=False)  # noqa: E731
            button.click(saving, None, button, queue=False, api_visibility="undocumented")
            button.click(method, flagged, button, **quiet)
            clear.click(method.reset, None, button, queue=False, api_visibility="undocumented")

    def _render_examples(
        self,
        examples: Any,
        cache_examples: Any,
        cache_mode: Any,
        per_page: int,
        labels: list[str] | None,
        preload: int | Literal[False],
    ) -> None:
        self.examples_handler = Examples(
            examples,
            [c for c in self.input_components if not isinstance(c, State)],
            [c for c in self.output_components if not isinstance(c, State)],
            fn=self.fn,
            cache_examples=cache_examples,
            cache_mode=cache_mode,
            examples_per_page=per_page,
            example_labels=labels,
            preload=preload,
        )
