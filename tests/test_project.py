"""Project hygiene: CI runs the README's test command; layers import only downward."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# package -> top-level packages it must not import (DESIGN.md's layers)
FORBIDDEN = {
    "pallas_kernels": {"jaxserve", "platforms", "webui"},
    "platforms": {"jaxserve", "webui"},
}


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"# 2\. .*\n(.+)\n", readme).group(1).strip()
    assert "pytest" in command
    assert command in (ROOT / ".ci" / "run").read_text()


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_upward_imports():
    for package, forbidden in FORBIDDEN.items():
        for path in (ROOT / package).rglob("*.py"):
            bad = imported_packages(path) & forbidden
            assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_control_plane_has_no_jax():
    for name in (
        "engine/engine.py",
        "engine/request.py",
        "engine/block_manager.py",
        "engine/scheduler.py",
        "engine/packing.py",
        "engine/encoder_cache.py",
        "engine/images.py",
        "engine/handoff.py",
        "disagg/worker.py",
        "disagg/cluster.py",
        "multimodal/inputs.py",
        "multimodal/processor.py",
        "multimodal/media.py",
        "multimodal/prompts.py",
        "multimodal/qwen2_5_vl.py",
        "multimodal/llava.py",
        "sampling_params.py",
        "outputs.py",
    ):
        path = ROOT / "jaxserve" / name
        assert "jax" not in imported_packages(path), f"{name} imports jax"


def imported_modules(path: Path) -> set[str]:
    """Every dotted module an `import` or `from ... import` names, with its submodules."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_product_code_never_uses_jax_pallas_ops():
    """Our kernels are our own: upstream's `jax.experimental.pallas.ops` stays out."""
    for package in ("jaxserve", "pallas_kernels", "platforms"):
        for path in (ROOT / package).rglob("*.py"):
            bad = {m for m in imported_modules(path) if m.startswith("jax.experimental.pallas.ops")}
            assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
