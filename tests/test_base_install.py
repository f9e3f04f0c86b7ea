"""The Quickstart's first command on the base install alone: no dev extra, no torch.

A fresh virtual environment gets `pip install <this checkout>` (a wheel, not editable, so the
package data must be in it; pip's cache keeps this at about half a minute), then serves
`configs/default.yaml` from outside the checkout. A streamed chat completion through the
openai SDK and a reply from the playground's `/chat` through gradio_client must both work: a
run-time dependency that only the dev extra brings in (jinja2 for chat templates, say) fails
here and nowhere else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from gradio_client import Client

from tests.conftest import ROOT, jaxserve_run

pytestmark = [pytest.mark.cpu, pytest.mark.slow]


PACKAGE_FILES = ("pyproject.toml", "README.md", "jaxserve", "pallas_kernels", "platforms", "webui")


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory) -> Path:
    # A copy of the package sources: setuptools builds in the source tree (build/), and a
    # stale build/ of an earlier version could carry files the checkout no longer has.
    source = tmp_path_factory.mktemp("source")
    for name in PACKAGE_FILES:
        if (ROOT / name).is_dir():
            skip = shutil.ignore_patterns("__pycache__")
            shutil.copytree(ROOT / name, source / name, ignore=skip)
        else:
            shutil.copy2(ROOT / name, source / name)
    venv = tmp_path_factory.mktemp("base-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return venv


def test_base_install_has_no_dev_packages(base_venv):
    probe = (
        "import importlib.util, jaxserve, webui; "
        "print(jaxserve.__file__); "
        "print([m for m in ('torch', 'gradio_client', 'pytest') if importlib.util.find_spec(m)])"
    )
    out = subprocess.run(
        [str(base_venv / "bin" / "python"), "-c", probe],
        cwd=base_venv,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0].startswith(str(base_venv)), out  # the installed wheel, not this checkout
    assert out[1] == "[]"


def test_quickstart_serves_chat_on_the_base_install(base_venv, tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "VIRTUAL_ENV")  # nothing of the test's environment leaks
    }
    env["JAXSERVE_COMPILATION_CACHE"] = str(tmp_path / "xla")
    command = [
        str(base_venv / "bin" / "jaxserve"),
        "run",
        str(ROOT / "configs" / "default.yaml"),
        "--port",
        "0",
    ]
    with jaxserve_run(command, cwd=tmp_path, env=env) as server:
        with openai.OpenAI(base_url=server.api, api_key="none", max_retries=0) as client:
            chunks = list(
                client.chat.completions.create(
                    model="default",
                    messages=[{"role": "user", "content": "What does os.path.join do?"}],
                    max_tokens=16,
                    temperature=0,
                    stream=True,
                )
            )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text.strip()
        assert chunks[-1].choices[0].finish_reason in ("stop", "length")

        playground = Client(server.url, verbose=False)
        try:
            # message, history, system prompt, temperature, top_p, top_k, max_tokens, seed,
            # stop, ignore_eos (README, "The playground")
            _, conversation = playground.predict(
                "Hello", [], "", 0.0, 1.0, 0, 16, None, "", False, api_name="/chat"
            )
        finally:
            playground.close()
        reply = conversation[-1]
        assert reply["role"] == "assistant"
        assert reply["content"][0]["text"].strip()


def test_a_vision_language_model_serves_images_on_the_base_install(base_venv, tmp_path):
    """Images through the base install: the checkpoint's own image processor, the vision
    tower and the chat route, with neither torch nor torchvision installed."""
    from tests.jaxserve.server.test_images import data_url, image_part, picture, user
    from tests.tiny_vlms import write_tiny_vlm

    model = tmp_path / "qwen2_5_vl"
    write_tiny_vlm(model, "qwen2_5_vl")  # torch writes it here, in the test's environment
    config = tmp_path / "vlm.yaml"
    config.write_text(
        f"model: {model}\nserved_model_name: vlm\nmax_model_len: 256\nkv_cache_memory: 64MiB\n"
        "webui: false\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["JAXSERVE_COMPILATION_CACHE"] = str(tmp_path / "xla")
    command = [str(base_venv / "bin" / "jaxserve"), "run", str(config), "--port", "0"]
    with (
        jaxserve_run(command, cwd=tmp_path, env=env) as server,
        openai.OpenAI(base_url=server.api, api_key="none", max_retries=0) as client,
    ):
        reply = client.chat.completions.create(
            model="vlm",
            messages=user(image_part(data_url(picture(1))), "describe the image"),
            max_tokens=8,
            temperature=0,
        )
    assert reply.choices[0].message.content
    assert reply.usage.prompt_tokens > 6  # the image's placeholders are in the prompt
