"""Gradio's string shortcuts ("text", "image", ...) and `component_instance`, which resolves a
shortcut, a dict spec, a component class or an instance to one unrendered component.

The table is Gradio's: every component class name in lowercase, its aliases ("text",
"highlight", ...) and its templates ("textarea" is a TextArea, a Textbox of 7 lines). A name
whose component webui does not have is refused with the component it would need, never replaced
by another.
"""

from __future__ import annotations

from typing import Any

from webui.components.base import Component

# shortcut -> (Gradio class name, constructor presets). Gradio matches names lowercase, with
# underscores removed ("checkbox_group" works); so does `component_instance`.
SHORTCUTS: dict[str, tuple[str, dict[str, Any]]] = {
    **{
        name.lower(): (name, {})
        for name in (  # noqa: SIM905 (a word list reads better than 48 quoted names)
            "AnnotatedImage Audio BarPlot BrowserState Button Chatbot Checkbox CheckboxGroup "
            "ClearButton Code ColorPicker Dataframe Dataset DateTime DeepLinkButton Dialogue "
            "DownloadButton Dropdown DuplicateButton Fallback File FileExplorer Gallery "
            "HighlightedText HTML Image ImageEditor ImageSlider JSON Label LinePlot LoginButton "
            "Markdown Model3D MultimodalTextbox Navbar Number ParamViewer Plot Radio "
            "ScatterPlot Slider State Textbox Timer UploadButton Video WorkflowCanvas"
        ).split()
    },
    # aliases gradio.components exports
    "text": ("Textbox", {}),
    "highlight": ("HighlightedText", {}),
    # templates: components with other defaults (webui/components/templates.py)
    **{
        name.lower(): (name, {})
        for name in (
            "TextArea",
            "Files",
            "Microphone",
            "PlayableVideo",
            "Numpy",
            "Matrix",
            "List",
            "Sketchpad",
            "Paint",
            "ImageMask",
        )
    },
}
# Layout names Gradio also resolves, and refuses as components.
LAYOUTS = frozenset(
    "accordion column form group row sidebar tab tabitem tabs walkthrough step".split()  # noqa: SIM905
)


def _class_named(name: str) -> type[Component] | None:
    """The component class called `name`: found among Component's subclasses, so this module
    needs no import of the components it names (Dataset, which is one, imports it)."""
    pending = list(Component.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls.__name__ == name and cls.__module__.startswith("webui."):
            return cls
        pending.extend(cls.__subclasses__())
    return None


def component_class(shortcut: str) -> tuple[type[Component], dict[str, Any]]:
    """The webui class and constructor presets for a Gradio shortcut such as "text".

    Raises:
        ValueError: the name is no Gradio component, is a layout, or names a component webui
            does not have (the message names the component).
    """
    key = shortcut.replace("_", "")
    if key in LAYOUTS:
        raise ValueError(f"{shortcut!r} is a layout, not a component; use gr.{key.title()}()")
    if key not in SHORTCUTS:
        raise ValueError(
            f"no component is called {shortcut!r}; the shortcuts are {sorted(SHORTCUTS)}"
        )
    class_name, presets = SHORTCUTS[key]
    cls = _class_named(class_name)
    if cls is None:
        raise ValueError(
            f"{shortcut!r} is Gradio's shortcut for gr.{class_name}, which webui does not have "
            f"yet; the shortcuts webui can build are {available_shortcuts()}"
        )
    return cls, dict(presets)


def available_shortcuts() -> list[str]:
    """The shortcuts whose component webui has."""
    return sorted(name for name, (cls, _) in SHORTCUTS.items() if _class_named(cls) is not None)


def component_instance(spec: Any, *, what: str = "component") -> Component:
    """An unrendered component from a shortcut, a `{"name": ..., **kwargs}` dict, a component
    class or an instance (returned as it is)."""
    if isinstance(spec, Component):
        return spec
    if isinstance(spec, str):
        cls, kwargs = component_class(spec)
        return cls(**kwargs, render=False)
    if isinstance(spec, dict) and isinstance(spec.get("name"), str):
        cls, kwargs = component_class(spec["name"])
        kwargs.update({k: v for k, v in spec.items() if k != "name"})
        return cls(**kwargs, render=False)
    if isinstance(spec, type) and issubclass(spec, Component):
        return spec(render=False)
    raise TypeError(
        f"a {what} must be a component, a component class, a shortcut string such as 'text' "
        f"or a dict with a 'name'; got {type(spec).__name__}: {spec!r}"
    )


def component_list(given: Any, what: str = "component") -> list[Component]:
    """Components from one spec or a list of them (each as `component_instance` takes it);
    None is no components."""
    if given is None:
        return []
    if isinstance(given, str | dict | Component | type):
        given = [given]
    if not isinstance(given, list | tuple):
        raise TypeError(f"{what}s must be a component, a shortcut string or a list: {given!r}")
    return [component_instance(item, what=what) for item in given]
