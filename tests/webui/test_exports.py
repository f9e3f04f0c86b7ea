"""No Gradio name webui exports is a stub: nothing raises NotImplementedError, and no argument
an exported callable documents (its signature) is accepted and then ignored.

"Ignored" is read from the source: every parameter of every exported function, and of every
public method and constructor of an exported class, must be read in that function's body (a
body that forwards `locals()` or `**kwargs` reads them all). The few parameters that are read
nowhere on purpose are listed in NOTHING_TO_DO with the reason, and the list is checked to stay
true. Keyword catch-alls of components are the concern of test_component_options.py.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import webui as gr

WEBUI = Path(gr.__file__).parent

# (qualified name, parameter) -> why the body never reads it.
NOTHING_TO_DO: dict[tuple[str, str], str] = {
    (
        "Root.__init__",
        "analytics_enabled",
    ): "webui sends no analytics, so there is none to turn off",
    ("SimpleCSVLogger.flag", "flag_option"): "Gradio's SimpleCSVLogger writes the values only",
    ("SimpleCSVLogger.flag", "username"): "Gradio's SimpleCSVLogger writes the values only",
}


def exported() -> Iterator[tuple[str, Any]]:
    for name in sorted(gr.__all__):
        yield name, getattr(gr, name)


def callables_of(obj: Any) -> Iterator[tuple[str, Callable[..., Any]]]:
    """An exported function, or a class's own constructor and public methods (webui's classes
    in its MRO), each once, by qualified name."""
    if inspect.isfunction(obj):
        yield obj.__qualname__, obj
    elif inspect.isclass(obj):
        for klass in obj.__mro__:
            if not klass.__module__.startswith("webui"):
                continue
            for attr, value in vars(klass).items():
                if inspect.isfunction(value) and (attr == "__init__" or not attr.startswith("_")):
                    yield value.__qualname__, value


def all_callables() -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}
    for _, obj in exported():
        for qualname, fn in callables_of(obj):
            found.setdefault(qualname, fn)
    return found


def function_node(fn: Callable[..., Any]) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return None
    node = ast.parse(source).body[0]
    return node if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else None


def is_abstract(fn: Callable[..., Any]) -> bool:
    return getattr(fn, "__isabstractmethod__", False)


def unread_parameters(fn: Callable[..., Any]) -> list[str]:
    node = function_node(fn)
    if node is None or is_abstract(fn):
        return []
    read = {n.id for stmt in node.body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    calls_locals = any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "locals"
        for stmt in node.body
        for n in ast.walk(stmt)
    )
    if calls_locals:
        return []
    # The parameters the def itself declares (a template's __signature__ may show its
    # parent's, which its body forwards through **kwargs).
    args = node.args
    declared = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if args.kwarg is not None:
        declared.append(args.kwarg)
    return [a.arg for a in declared if a.arg not in {"self", "cls"} and a.arg not in read]


def raises_not_implemented(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name) and target.id == "NotImplementedError":
                lines.append(node.lineno)
    return lines


def test_the_exports_are_gradios_names_and_resolve():
    names = set(gr.__all__)
    assert {"Blocks", "Interface", "ChatInterface", "Textbox", "on", "render"} <= names
    missing = sorted(name for name in names if not hasattr(gr, name))
    assert not missing, f"__all__ names what webui lacks: {missing}"


def test_nothing_in_webui_raises_not_implemented():
    offenders = []
    for path in sorted(WEBUI.rglob("*.py")):
        for line in raises_not_implemented(ast.parse(path.read_text())):
            offenders.append(f"{path.relative_to(WEBUI.parent)}:{line}")
    assert not offenders, "stubs left (implement them or refuse the input clearly): " + ", ".join(
        offenders
    )


def test_no_exported_callable_ignores_a_parameter():
    ignored = []
    for qualname, fn in sorted(all_callables().items()):
        for parameter in unread_parameters(fn):
            if (qualname, parameter) not in NOTHING_TO_DO:
                ignored.append(f"{qualname}({parameter})")
    assert not ignored, "accepted and never read: " + ", ".join(ignored)


def test_the_list_of_deliberate_no_ops_stays_true():
    """Each listed parameter is still taken and still unread (a stale entry hides nothing)."""
    callables = all_callables()
    for (qualname, parameter), _reason in NOTHING_TO_DO.items():
        assert qualname in callables, f"{qualname} is no longer exported"
        assert parameter in unread_parameters(callables[qualname]), (qualname, parameter)


def test_the_reading_catches_an_ignored_parameter():
    """The check itself: a function that drops an argument is caught, one that forwards
    `**kwargs` or reads `locals()` is not."""

    def drops(value, label=None):
        return value

    def forwards(value, **kwargs):
        return dict(value=value, **kwargs)

    def by_locals(value, label=None):
        return dict(locals())

    assert unread_parameters(drops) == ["label"]
    assert unread_parameters(forwards) == []
    assert unread_parameters(by_locals) == []
    tree = ast.parse("def f():\n    raise NotImplementedError('later')\n")
    assert raises_not_implemented(tree) == [2]


@pytest.mark.parametrize(
    "name", [n for n, obj in exported() if inspect.isclass(obj) and issubclass(obj, gr.Component)]
)
def test_every_component_builds_with_its_defaults(name):
    """Each exported component constructs and renders its config inside an app (a stub that
    fails on use would show here)."""
    cls = getattr(gr, name)
    required = [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"
    ]
    if required:
        pytest.skip(f"{name} needs {required}")
    with gr.Blocks():
        component = cls()
    config = component.config()
    assert config["id"] == component.id
    assert isinstance(config["props"], dict)
