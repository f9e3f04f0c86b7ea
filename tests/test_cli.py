"""The `jaxserve` command line."""

from __future__ import annotations

import pytest

from jaxserve.cli import main
from pallas_kernels.matmul import MatmulKernel
from tests.tiny_models import TinySpec


@pytest.mark.cpu
@pytest.mark.slow
def test_doctor_reports_the_platform_and_checks_the_kernels(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "platform:      cpu" in out and "attention:     cpu_native" in out
    assert "pallas kernel: pallas_tpu (interpret mode)" in out
    assert "matmul check:  float32 pass (cpu_native: rel err" in out
    assert "matmul check:  bfloat16 pass (" in out  # cpu_native_bf16, or XLA without AVX512_BF16
    rows = {tuple(line.split()[:2]): line.split()[2:4] for line in out.splitlines()[-8:]}
    assert rows == {
        ("reference", "xla"): ["yes", "pass"],
        ("cpu_native", "compiled"): ["yes", "pass"],
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
def test_doctor_fails_when_the_matmul_does(monkeypatch, capsys):
    from platforms import matmul, selfcheck

    monkeypatch.setattr(selfcheck, "CHECKS", ())
    broken = MatmulKernel("broken", lambda x, w, *a, **k: x[:, :1], reads_stacked=True)
    monkeypatch.setattr(matmul, "matmul_kernel", lambda platform, **kwargs: broken)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "matmul check:  float32 FAIL" in out and "matmul check:  bfloat16 FAIL" in out


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


def test_run_rejects_a_bad_config_by_name(tmp_path, capsys):
    config = tmp_path / "serve.yaml"
    config.write_text("model: m\nmax_num_seq: 4\n")
    assert main(["run", str(config)]) == 2
    assert "unknown config key(s) ['max_num_seq']" in capsys.readouterr().err
    config.write_text("model: absent\n")
    assert main(["run", str(config)]) == 2
    assert "model directory not found" in capsys.readouterr().err


def _read_lines(stream, lines: list[str]) -> None:
    for line in stream:
        lines.append(line)


@pytest.mark.cpu
@pytest.mark.slow
def test_run_serves_then_drains_on_sigterm(tiny_checkpoints, tmp_path):
    import os
    import re
    import signal
    import subprocess
    import sys
    import threading
    import time

    import openai

    path = tiny_checkpoints(TinySpec("cli", "LlamaForCausalLM"))
    config = tmp_path / "serve.yaml"
    config.write_text(
        f"model: {path}\nserved_model_name: tiny\nport: 0\nmax_model_len: 64\n"
        "max_num_seqs: 2\nmax_num_batched_tokens: 32\nkv_cache_memory: 1MiB\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "jaxserve.cli", "run", str(config)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
    )
    lines: list[str] = []
    reader = threading.Thread(target=_read_lines, args=(process.stderr, lines), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        port = None
        while port is None and time.monotonic() < deadline and process.poll() is None:
            found = [re.search(r"serving 'tiny' at http://127\.0\.0\.1:(\d+)", x) for x in lines]
            port = next((int(m.group(1)) for m in found if m), None)
            time.sleep(0.05)
        assert port is not None, "".join(lines)
        log = "".join(lines)
        assert "memory plan:" in log
        assert "playground at /" in log
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
        stream = client.completions.create(
            model="tiny",
            prompt="hello",
            max_tokens=40,
            stream=True,
            extra_body={"ignore_eos": True},
        )
        first = next(iter(stream))
        process.send_signal(signal.SIGTERM)
        rest = list(stream)
        assert (first.choices + [c for r in rest for c in r.choices])[-1].finish_reason == "length"
        assert process.wait(60) == 0, "".join(lines)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(10)
        process.stderr.close()
