"""The `jaxserve` command line."""

from __future__ import annotations

import pytest

from jaxserve.cli import main
from tests.tiny_models import TinySpec


def test_doctor_reports_the_platform(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "platform:      cpu" in out and "attention:     reference" in out


@pytest.mark.cpu
def test_generate_prints_completions(tiny_checkpoints, capsys):
    path = tiny_checkpoints(TinySpec("cli", "LlamaForCausalLM"))
    code = main(
        [
            "generate",
            "--model",
            path,
            "--prompt",
            "hello",
            "--prompt",
            "world",
            "--max-tokens",
            "4",
            "--ignore-eos",
            "--max-model-len",
            "64",
        ]
    )
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("'hello' -> ") and "(length)" in lines[0]


def test_generate_reports_errors_without_a_traceback(tmp_path, capsys):
    assert main(["generate", "--model", str(tmp_path / "absent"), "--prompt", "x"]) == 2
    assert "model directory not found" in capsys.readouterr().err
