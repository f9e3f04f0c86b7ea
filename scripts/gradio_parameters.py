"""Write webui/gradio_parameters.py: each Gradio component's constructor parameters, read
from a Gradio checkout's source (without importing it), so webui can say which keywords it
refuses are Gradio's.

Usage: python scripts/gradio_parameters.py /path/to/gradio-checkout
"""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

HEADER = '''"""The keyword parameters of Gradio's components, by class name (generated from Gradio's
source by scripts/gradio_parameters.py; do not edit). webui's refusal of a keyword it does not
take says whether the keyword is one of Gradio's."""

GRADIO_PARAMETERS: dict[str, str] = {  # class name -> its parameters, space-separated
'''

FOOTER = '''def gradio_parameters(class_name: str) -> frozenset[str]:
    """The parameters of Gradio's component `class_name`; empty for a class Gradio lacks."""
    return frozenset(GRADIO_PARAMETERS.get(class_name, "").split())
'''


def _classes(paths: list[Path]) -> dict[str, tuple[list[str], set[str] | None]]:
    """Class name -> (base names, its own __init__'s parameter names or None)."""
    found: dict[str, tuple[list[str], set[str] | None]] = {}
    for path in paths:
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.ClassDef):
                continue
            bases = [
                b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
            ]
            own = None
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    arguments = item.args
                    names = arguments.posonlyargs + arguments.args + arguments.kwonlyargs
                    own = {a.arg for a in names} - {"self"}
            found[node.name] = (bases, own)
    return found


def _parameters(name: str, classes: dict[str, tuple[list[str], set[str] | None]]) -> set[str]:
    bases, own = classes[name]
    if own is not None:
        return own
    for base in bases:
        if base in classes:
            return _parameters(base, classes)
    return set()


def main(checkout: Path) -> None:
    package = checkout / "gradio"
    paths = [*sorted((package / "components").glob("*.py")), package / "templates.py"]
    classes = _classes(paths)
    lines = [HEADER]
    for name in sorted(classes):
        parameters = _parameters(name, classes)
        if name.startswith("_") or not parameters:
            continue
        wrapped = textwrap.wrap(" ".join(sorted(parameters)), 80)
        body = "".join(f'        "{line} "\n' for line in wrapped)
        lines.append(f'    "{name}": (\n{body}    ),\n')
    lines.append("}\n\n\n" + FOOTER)
    target = Path(__file__).resolve().parents[1] / "webui" / "gradio_parameters.py"
    target.write_text("".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
