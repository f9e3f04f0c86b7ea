"""The Component contract: a block with a value that crosses the wire as a typed JSON payload.

Core layer; `webui.components.base` re-exports it under Gradio's module path.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from webui.gradio_parameters import gradio_parameters
from webui.tree import Block

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
_SERVER_FUNCTION = "_webui_server_function"


def server_function(fn: F) -> F:
    """Mark a component method as callable by the page (Gradio's `@server`): the server's
    `/gradio_api/component_server` route (webui.component_server) calls only these."""
    setattr(fn, _SERVER_FUNCTION, True)
    return fn


def is_server_function(fn: Any) -> bool:
    return getattr(fn, _SERVER_FUNCTION, False) is True


@functools.cache
def _signature(cls: type) -> inspect.Signature:
    return inspect.signature(cls.__init__)


def _named_arguments(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments of `cls(*args, **kwargs)` by parameter name, `**kwargs` flattened."""
    try:
        bound = _signature(cls).bind_partial(None, *args, **kwargs)
    except TypeError:
        return dict(kwargs)  # __init__ raises the real error with its own message
    named: dict[str, Any] = {}
    for name, value in list(bound.arguments.items())[1:]:
        if _signature(cls).parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
            named.update(value)
        else:
            named[name] = value
    return named


def look_options(cls: type) -> frozenset[str]:
    """The look options `cls` takes: its `look_options` and its ancestors'."""
    names: set[str] = set()
    for klass in cls.__mro__:
        names |= klass.__dict__.get("look_options", frozenset())
    return frozenset(names)


def _gradio_name(cls: type) -> str:
    """The Gradio class `cls` stands for: itself or its nearest ancestor Gradio has."""
    for klass in cls.__mro__:
        if gradio_parameters(klass.__name__):
            return klass.__name__
    return cls.__name__


def check_look_options(cls: type, given: dict[str, Any]) -> dict[str, Any]:
    """`given` if `cls` takes every one of them as a look option; else TypeError naming the
    first it does not take, and whether it is a Gradio parameter webui lacks."""
    for name in sorted(set(given) - look_options(cls)):
        message = f"{cls.__name__}() got an unexpected keyword argument {name!r}"
        if name in gradio_parameters(_gradio_name(cls)):
            message += (
                f": Gradio's {_gradio_name(cls)} takes {name}=, which webui does not implement"
            )
        raise TypeError(message)
    return dict(given)


def _wire(value: Any) -> Any:
    """A look option as the page gets it: a block in it (a gr.Button among `buttons=`) as
    its props and id, which the page's toolbar needs to show it and fire its listeners."""
    if isinstance(value, Block):
        return {**value.props(), "id": value.id}
    if isinstance(value, list | tuple):
        return [_wire(item) for item in value]
    return value


def _preserved(names: list[str] | str | None) -> list[str]:
    listed = [names] if isinstance(names, str) else list(names or [])
    if not all(isinstance(name, str) for name in listed):
        raise TypeError(f"preserved_by_key must be prop names, got {names!r}")
    return listed


class Component(Block):
    """A block with a value.

    Subclasses say how a wire payload becomes the value `fn` receives (`preprocess`), how `fn`'s
    return value becomes a payload (`postprocess`), and the JSON schema of that payload
    (`api_info`), which gradio_client reads to type the endpoint.
    """

    skip_api: ClassVar[bool] = False
    python_type: ClassVar[str] = "Any"
    # Gradio's options for how the component looks that this class takes as keywords. Each is
    # sent to the page as a prop of the same name, which the page's module for the block type
    # reads (tests/webui/test_component_options.py checks that it does).
    look_options: ClassVar[frozenset[str]] = frozenset()
    example: ClassVar[Any] = None
    constructor_args: dict[str, Any]

    def __new__(cls, *args: Any, **kwargs: Any) -> Component:
        self = super().__new__(cls)
        # What the app passed, by name: a returned instance updates exactly these props, and a
        # session's updated copy is rebuilt from them.
        self.constructor_args = _named_arguments(cls, args, kwargs)
        return self

    def __init__(
        self,
        value: Any = None,
        *,
        label: str | None = None,
        show_label: bool | None = None,
        interactive: bool | None = None,
        visible: bool = True,
        elem_id: str | None = None,
        elem_classes: list[str] | str | None = None,
        render: bool = True,
        container: bool = True,
        scale: int | None = None,
        min_width: int = 160,
        key: int | str | None = None,
        preserved_by_key: list[str] | str | None = "value",
        every: Any = None,
        inputs: Any = None,
        **look: Any,
    ):
        """`container`, `scale`, `min_width` and `key` are layout hints the page reads;
        `preserved_by_key` names the props a keyed component keeps when gr.render rebuilds it.

        Other keywords must be among the class's `look_options` (sent to the page as props of
        the same name); any other raises TypeError naming it.
        """
        # A callable value is called once here and again on each page load, as in Gradio: see
        # `webui.load_events`, which Blocks calls when the app is built.
        # With `inputs`, the value waits for the first load event (fn needs their values).
        self.value_fn = value if callable(value) else None
        self.value = value() if callable(value) and not inputs else None if inputs else value
        if self.value_fn is None and (every is not None or inputs is not None):
            # As Gradio: they only say when to call a callable value; a plain one ignores them.
            logger.debug("%s ignores every=/inputs= without a callable value", type(self).__name__)
            self.value = value
        self.label = label
        self.show_label = show_label
        self.interactive = interactive
        self.container, self.scale, self.min_width, self.key = container, scale, min_width, key
        self.preserved_by_key = _preserved(preserved_by_key)
        self.look = check_look_options(type(self), look)
        super().__init__(visible=visible, elem_id=elem_id, elem_classes=elem_classes, render=render)
        # Attached when the app's `with` ends, also for components rendered later (Interface's).
        self.load_event_to_attach: tuple[Callable[..., Any], Any, Any] | None = None
        if self.value_fn is not None:
            self.load_event_to_attach = (self.value_fn, every, inputs)

    def preprocess(self, payload: Any) -> Any:
        return payload

    def postprocess(self, value: Any) -> Any:
        return value

    def api_info(self) -> dict[str, Any]:
        return {}

    def example_payload(self) -> Any:
        return self.example

    def initial_value(self) -> Any:
        """A fresh copy of the starting value, so sessions never share a mutable default."""
        return copy.deepcopy(self.value)

    def with_props(self, props: dict[str, Any]) -> Component:
        """A copy rebuilt with `props` changed, standing in for this component in one session.

        Names the constructor does not take are dropped with a warning, as Gradio ignores them.
        """
        parameters = _signature(type(self)).parameters
        accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        known = {name for name in parameters if name != "self"}
        if accepts_any:
            known |= set(_signature(Component).parameters) | look_options(type(self))
        unknown = sorted(set(props) - known)
        if unknown:
            logger.warning(
                "%s has no properties %s; the update ignores them", type(self).__name__, unknown
            )
        args = {**self.constructor_args, **{k: v for k, v in props.items() if k in known}}
        args["render"] = False
        copy_ = type(self)(**args)
        copy_._id, copy_.root = self._id, self.root
        return copy_

    def own_props(self) -> dict[str, Any]:
        """Props particular to the subclass; merged into `props()`."""
        return {}

    def props(self) -> dict[str, Any]:
        props: dict[str, Any] = {}
        if self.value is not None:
            props["value"] = self.postprocess(self.value)
        props.update(self.own_props())
        props.update({name: _wire(value) for name, value in self.look.items()})
        for key in ("label", "show_label", "interactive", "scale", "key"):
            if getattr(self, key) is not None:
                props[key] = getattr(self, key)
        if self.key is not None:
            props["preserved_by_key"] = self.preserved_by_key
        props.update(container=self.container, min_width=self.min_width)
        props.update(super().props())
        # The page marks selectable items only where a select listener waits, as Gradio does.
        props["_selectable"] = self.root is not None and self.root.has_listener(self, "select")
        return props

    def config(self) -> dict[str, Any]:
        config = super().config()
        if not self.skip_api:
            info = self.api_info()
            config.update(
                api_info=info,
                api_info_as_input=info,
                api_info_as_output=info,
                example_inputs=self.example_payload(),
            )
        return config


def check_choices(
    choices: list[Any] | None, name: str
) -> tuple[list[tuple[str, Any]], Callable[[Any], bool]]:
    """Normalise choices to (display, value) pairs and return a membership test on values."""
    pairs: list[tuple[str, Any]] = []
    for choice in choices or []:
        if isinstance(choice, tuple | list):
            if len(choice) != 2:
                raise ValueError(f"{name} choice {choice!r} must be a value or (label, value)")
            pairs.append((str(choice[0]), choice[1]))
        else:
            pairs.append((str(choice), choice))
    values = [v for _, v in pairs]
    return pairs, lambda v: v in values
