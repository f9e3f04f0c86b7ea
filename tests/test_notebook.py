"""examples/notebook.ipynb runs top to bottom in a real Jupyter kernel, offline."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
IFRAME = re.compile(r'<iframe src="(http://127\.0\.0\.1:\d+/)"')


@pytest.fixture(scope="module")
def executed() -> Any:
    """The notebook after a run in the `python3` kernel, started in examples/ like Jupyter
    does, with one more cell that tells which Python the kernel was."""
    notebook = nbformat.read(EXAMPLES / "notebook.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,  # per cell; compiling the shape buckets is the longest
        kernel_name="python3",
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    client.execute()  # raises CellExecutionError, with the cell's traceback, on any error
    return notebook


def outputs(cell: Any) -> tuple[str, str, list[str]]:
    """(stdout, stderr and the text of displayed objects, HTML outputs) of one executed cell."""
    streams = {"stdout": "", "stderr": ""}
    html = []
    for output in cell.outputs:
        if output.output_type == "stream":
            streams[output.name] += output.text
        else:  # a progress widget (with ipywidgets) shows as text/plain where it is not drawn
            data = output.get("data", {})
            streams["stderr"] += data.get("text/plain", "")
            if "text/html" in data:
                html.append(data["text/html"])
    return streams["stdout"], streams["stderr"], html


def code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_the_committed_notebook_has_no_outputs() -> None:
    notebook = nbformat.read(EXAMPLES / "notebook.ipynb", as_version=4)
    nbformat.validate(notebook)
    for cell in code_cells(notebook):
        assert cell.outputs == [] and cell.execution_count is None, cell.source


def test_the_kernel_is_this_python(executed) -> None:
    stdout, _, _ = outputs(code_cells(executed)[-1])
    assert Path(stdout.strip()) == Path(sys.executable)


def test_every_stage_shows_its_progress_bar(executed) -> None:
    shown = "".join(outputs(cell)[1] for cell in code_cells(executed))
    for stage in ("loading weights", "compiling shape buckets", "generating"):
        assert f"{stage}: " in shown, stage


def test_generate_prints_the_completions(executed) -> None:
    (cell,) = [c for c in code_cells(executed) if "llm.generate(prompts" in c.source]
    stdout, _, _ = outputs(cell)
    first, _, second = stdout.partition("\nclass Stack:")
    assert first.startswith("def fibonacci(n):") and second  # each prompt, then its completion
    assert len(first) > len("def fibonacci(n):") + 20 and len(second) > 20


def test_apps_are_shown_inline_and_relaunch(executed) -> None:
    urls = []
    for cell in code_cells(executed):
        _, _, html = outputs(cell)
        urls += [m.group(1) for h in html for m in IFRAME.finditer(h)]
        if ".launch(" in cell.source or "chat(llm)" in cell.source:
            (frame,) = html  # one iframe each, and nothing more (launch() returns no repr)
            assert IFRAME.search(frame), frame
    assert len(urls) == 3  # the app, the app relaunched, the playground


def test_the_playground_holds_the_engine_until_closed(executed) -> None:
    (opened,) = [c for c in code_cells(executed) if "chat(llm)" in c.source]
    assert "in use by jaxserve.ui.chat()" in outputs(opened)[0]
    (closed,) = [c for c in code_cells(executed) if "app.close()" in c.source]
    assert outputs(closed)[0].startswith("import")
