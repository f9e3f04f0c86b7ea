"""webui's layers import only downward: core, components, server, then the apps that launch.

Every import counts, a function's deferred one too (a cycle hidden in a function is still a
cycle); only `if TYPE_CHECKING:` imports, which never run, are exempt. Importing a submodule
counts as importing its package (`webui.components.text` runs `webui.components`' `__init__`,
which imports every component), except for `webui` itself, the aggregate `import webui as gr`.
"""

from __future__ import annotations

import ast
from pathlib import Path

WEBUI = Path(__file__).resolve().parents[2] / "webui"

# Bottom to top. A module may import modules of its own layer or below, never above.
LAYERS: dict[str, set[str]] = {
    # The block tree, the Component contract, events and updates: no server, no Starlette.
    "core": {
        "tree",
        "capture",
        "component",
        "errors",
        "event_data",
        "updates",
        "dependency",
        "events",
        "layouts",
        "timer",
        "load_events",
        "nesting",
        "render",
        "root",
        "files",
        "media",
        "urls",
        "progress",
        "themes",
        "caching",
        "i18n",
        "reload",
        "gradio_parameters",
        "pages",
    },
    # Every component (webui/components/) and the layouts built on the core's.
    "components": {"components", "sidebar", "draggable", "walkthrough"},
    # What serves an app: queue, routes, file routes, page, API info, login.
    "server": {
        "processing",
        "queue",
        "diff",
        "routes",
        "component_server",
        "deep_links",
        "file_routes",
        "upload_progress",
        "page",
        "api_info",
        "auth",
        "auth_routes",
        "triggers",
        "validation",
        "tls",
        "session_end",
        "stream_inputs",
        "stream_outputs",
    },
    # Blocks.launch and the app builders on top of everything.
    "apps": {
        "blocks",
        "interface",
        "examples",
        "flagging",
        "annotations",
        "chat_interface",
        "chat_turns",
        "chat_history",
        "chat_flagging",
        "chat_examples",
        "chat_wiring",
        "tabbed",
        "mount",
        "notebook",
        "launch_env",
    },
}
ORDER = list(LAYERS)
NO_SERVER = {"core", "components"}  # these never import the web framework
SERVER_PACKAGES = {"starlette", "uvicorn", "httpx", "multipart", "python_multipart"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(WEBUI.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in WEBUI.rglob("*.py")}


def layer_of(module: str) -> str | None:
    """The layer of `webui.x.y`: the one listing `x` (a package's submodules share its layer)."""
    if module == "webui":
        return None  # the aggregate package, above every layer
    first = module.split(".")[1]
    return next((name for name, members in LAYERS.items() if first in members), None)


def runtime_imports(module: str) -> set[str]:
    """The dotted names `module` imports anywhere in its body, except under TYPE_CHECKING."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for orelse in child.orelse:
                    visit(orelse)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in child.names)
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def webui_imports(module: str) -> set[str]:
    """The webui modules `module` runs on import, packages of submodules included."""
    modules: set[str] = set()
    for name in runtime_imports(module):
        while name and name not in MODULES:
            name = name.rpartition(".")[0]  # `from m import function` names m
        while name.count(".") >= 1:  # a submodule runs its package's __init__ first
            if name != module and not module.startswith(name + "."):  # its own: already begun
                modules.add(name)
            name = name.rpartition(".")[0]
    return modules


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in MODULES if m != "webui" and layer_of(m) is None)
    assert not unplaced, f"place these modules in a layer of LAYERS: {unplaced}"


def test_imports_only_go_down():
    upward = []
    for module in sorted(set(MODULES) - {"webui"}):
        rank = ORDER.index(layer_of(module) or "apps")
        for imported in sorted(webui_imports(module)):
            imported_layer = layer_of(imported) or "apps"
            if ORDER.index(imported_layer) > rank:
                upward.append(f"{module} ({layer_of(module)}) -> {imported} ({imported_layer})")
    assert not upward, "imports up the layers:\n" + "\n".join(upward)


def test_no_import_cycles():
    graph = {m: webui_imports(m) - {"webui"} for m in MODULES if m != "webui"}
    done: set[str] = set()

    def cycle_from(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for imported in sorted(graph.get(module, ())):
            found = cycle_from(imported, [*path, module])
            if found:
                return found
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = cycle_from(module, [])
        assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_core_and_components_never_import_the_server():
    offenders = []
    for module in MODULES:
        if layer_of(module) in NO_SERVER:
            packages = {name.split(".")[0] for name in runtime_imports(module)}
            if packages & SERVER_PACKAGES:
                offenders.append(f"{module}: {sorted(packages & SERVER_PACKAGES)}")
    assert not offenders, offenders


def test_the_rules_see_what_they_must():
    """The test's own reading: layers as designed, packages and deferred imports counted."""
    assert layer_of("webui.tree") == "core"
    assert layer_of("webui.components.text") == "components"
    assert layer_of("webui.queue") == "server"
    assert layer_of("webui.blocks") == "apps"
    assert {"webui.components", "webui.components.misc"} <= webui_imports("webui.processing")
    assert "webui.component" in webui_imports("webui.timer")
