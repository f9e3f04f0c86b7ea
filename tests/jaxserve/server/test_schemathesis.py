"""schemathesis with every check against a live server: the schema and the server agree.

`schemathesis run URL --checks all` in a subprocess (the same command as in the report, see
`schemathesis_hooks.py` for the one rule it drops), with and without an API key, on the shared
tiny engine. Few examples per operation and a fixed seed keep it near a minute on two cores;
the coverage phase still walks every field's boundaries and wrong types.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.jaxserve.server.conftest import API_KEY, start_server
from tests.jaxserve.server.schemathesis_hooks import (
    is_prompt_too_long,
    is_template_refusal,
    is_uncompilable,
)

pytestmark = pytest.mark.cpu

ROOT = Path(__file__).resolve().parents[3]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def schemathesis_run(
    url: str, api_key: str | None, workdir: Path
) -> subprocess.CompletedProcess[str]:
    """The CLI run; `workdir` takes its replay cache (`.schemathesis/`), not the repository."""
    command = [str(SCHEMATHESIS), "run", f"{url}/openapi.json", "--checks", "all"]
    command += ["--max-examples", "8", "--seed", "1", "--request-timeout", "120"]
    # `--checks all` bounds each answer at 10 s; a legal call for 128 samples of each of several
    # prompts takes longer on two busy cores: allow a minute.
    command += ["--max-response-time", "60"]
    command += ["--generation-deterministic"]
    if api_key is not None:
        command += ["--header", f"Authorization: Bearer {api_key}"]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.jaxserve.server.schemathesis_hooks",
        "NO_COLOR": "1",
    }
    return subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis is not installed")
@pytest.mark.parametrize("api_key", [API_KEY, None], ids=["api_key", "open"])
def test_schemathesis_finds_no_failure(server_llm, api_key, tmp_path):
    server = start_server(server_llm, api_key=api_key)
    try:
        result = schemathesis_run(server.url, api_key, tmp_path)
        server.wait_idle(timeout=60)
    finally:
        server.stop()
    summary = result.stdout[result.stdout.find("SUMMARY") :]
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "No issues found" in summary and "8/8" in summary, summary


def test_the_hook_drops_only_a_prompt_over_max_model_len():
    too_long = '{"error": {"message": "the prompt has 80 tokens, but max_model_len is 64 and"}}'
    assert is_prompt_too_long(400, too_long)
    assert not is_prompt_too_long(500, too_long)
    fits = too_long.replace("80 tokens", "12 tokens")
    assert not is_prompt_too_long(400, fits), "a count under the limit is a real failure"
    assert not is_prompt_too_long(400, '{"error": {"message": "temperature: must be >= 0"}}')
    assert not is_prompt_too_long(400, "not json")


def test_the_hook_drops_only_an_uncompilable_grammar():
    body = '{"error": {"message": "invalid regex: unclosed group", "param": "structured_outputs"}}'
    assert is_uncompilable(400, body)
    assert not is_uncompilable(500, body)
    assert not is_uncompilable(400, body.replace("structured_outputs", "messages"))
    other = '{"error": {"message": "temperature: must be >= 0", "param": "structured_outputs"}}'
    assert not is_uncompilable(400, other)


def test_the_hook_drops_only_a_template_refusal():
    message = "the chat template rejected the messages: x"
    body = f'{{"error": {{"message": "{message}", "param": "messages"}}}}'
    assert is_template_refusal(400, body)
    assert not is_template_refusal(400, body.replace('"messages"}', '"stop"}'))
    assert not is_template_refusal(400, body.replace("rejected", "took"))
