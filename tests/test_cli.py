"""The `jaxserve` command line."""

from __future__ import annotations

import pytest

from jaxserve.cli import main
from tests.tiny_models import TinySpec


@pytest.mark.cpu
@pytest.mark.slow
def test_doctor_reports_the_platform_and_checks_the_kernels(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "platform:      cpu" in out and "attention:     reference" in out
    assert "pallas kernel: pallas_tpu (interpret mode)" in out
    rows = {tuple(line.split()[:2]): line.split()[2:4] for line in out.splitlines()[-7:]}
    assert rows == {
        ("reference", "xla"): ["yes", "pass"],
        ("pallas_tpu", "compiled"): ["no", "-"],
        ("pallas_tpu", "interpret"): ["yes", "pass"],
        ("pallas_triton", "compiled"): ["no", "-"],
        ("pallas_triton", "interpret"): ["yes", "pass"],
        ("pallas_mosaic_gpu", "compiled"): ["no", "-"],
        ("pallas_mosaic_gpu", "interpret"): ["yes", "pass"],
    }
    assert "pass        pallas-interpret " in out


@pytest.mark.cpu
def test_doctor_fails_when_a_kernel_does(monkeypatch, capsys):
    from platforms import selfcheck

    monkeypatch.setattr(selfcheck, "CHECKS", (selfcheck.Check("pallas_triton", "interpret"),))
    monkeypatch.setattr(selfcheck, "implementation", lambda impl, interpret: lambda q, *a, **k: q)
    assert main(["doctor"]) == 1
    assert "pallas_triton      interpret  yes        FAIL" in capsys.readouterr().out


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
