"""Progress bars: shown in a terminal and in a notebook, off in logs and when turned off."""

from __future__ import annotations

import sys
import types

import pytest

from jaxserve import progress


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        (types.SimpleNamespace(kernel=object()), True),
        (types.SimpleNamespace(), False),
        (None, False),
    ],
)
def test_in_notebook_needs_a_kernel(monkeypatch, shell, expected) -> None:
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: shell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    assert progress.in_notebook() is expected


def test_redirected_output_gets_no_bar(capsys) -> None:
    assert not sys.stderr.isatty()  # pytest captures it, as a log file or CI would
    with progress.progress_bar(range(3), desc="loading weights", unit="tensor") as bar:
        assert bar.disable
        assert list(bar) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_a_notebook_gets_a_bar_though_its_stderr_is_no_terminal(monkeypatch, capsys) -> None:
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    with progress.progress_bar(range(3), desc="loading weights", unit="tensor") as bar:
        assert not bar.disable  # (closing a bar disables it: check before the loop ends)
        assert list(bar) == [0, 1, 2]
    err = capsys.readouterr().err
    assert "loading weights" in err and "3/3" in err


def test_enabled_false_turns_the_bar_off_even_in_a_notebook(monkeypatch, capsys) -> None:
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    with progress.progress_bar(desc="generating", unit="seq", total=2, enabled=False) as bar:
        bar.update(2)
        assert bar.disable
    assert capsys.readouterr().err == ""
