"""Fixtures: tiny Hugging Face checkpoints written by `transformers` into `tmp_path`.

Also the portability matrix: a test marked `cpu`, `cuda`, `rocm` or `tpu` runs only where JAX's
default backend is that platform and is skipped, with the reason, everywhere else. And
`default_server`: the shipped `jaxserve run configs/default.yaml`, one process per session.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

# Eight virtual CPU devices for the tensor-parallel tests; must precede JAX's backend start.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tests compile many tiny models: keep their programs out of the user's cache.
os.environ["JAXSERVE_COMPILATION_CACHE"] = ""

import httpx
import pytest

from jaxserve.server.metrics import PROCESS_GAUGES
from tests.tiny_models import TinySpec, write_tiny_checkpoint

PLATFORM_MARKERS = frozenset({"cpu", "cuda", "rocm", "tpu"})
ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config, items):
    """Skips tests marked for platforms other than the one JAX runs on here."""
    wanted = {item: {m.name for m in item.iter_markers()} & PLATFORM_MARKERS for item in items}
    if not any(wanted.values()):
        return  # no marked test: don't start a JAX backend just to collect
    import jax

    import platforms

    here = platforms.platform_kind(jax.devices()[0])
    for item, kinds in wanted.items():
        if kinds and here not in kinds:
            needs = " or ".join(sorted(kinds))
            item.add_marker(pytest.mark.skip(reason=f"needs {needs}; this machine runs on {here}"))


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory):
    """Builds (once per session) the checkpoint for a `TinySpec`, cached by spec."""
    cache: dict[TinySpec, str] = {}

    def build(spec: TinySpec) -> str:
        if spec not in cache:
            path = tmp_path_factory.mktemp(spec.name)
            write_tiny_checkpoint(path, spec)
            cache[spec] = str(path)
        return cache[spec]

    return build


@pytest.fixture(scope="session")
def tiny_vlms(tmp_path_factory):
    """Builds (once per session) a tiny vision-language checkpoint of a family
    (`tests.tiny_vlms.FAMILIES`); returns its directory."""
    from tests.tiny_vlms import write_tiny_vlm

    cache: dict[str, str] = {}

    def build(family: str) -> str:
        if family not in cache:
            path = tmp_path_factory.mktemp(family)
            write_tiny_vlm(path, family)
            cache[family] = str(path)
        return cache[family]

    return build


@pytest.fixture(scope="session")
def grammar_llm(tiny_checkpoints):
    """One engine with room for structured replies (a JSON object is tens of tokens of the
    tiny vocabulary), shared by the grammar and tool-call tests of the engine and the server."""
    from jaxserve import LLM

    options = dict(max_model_len=256, num_pages=160, max_num_seqs=16, max_num_batched_tokens=256)
    spec = TinySpec("server", "LlamaForCausalLM", seed=5)
    return LLM(tiny_checkpoints(spec), warmup=False, **options)


@pytest.fixture(autouse=True)
def _compile_lazily(request, monkeypatch):
    """Tests build many tiny models: compile only the shapes a test runs, not all buckets.

    A test that exercises warm-up itself is marked `warmup`.
    """
    if "warmup" not in request.keywords:
        monkeypatch.setattr("jaxserve.llm.warmup_buckets", lambda *args: [])


@dataclasses.dataclass(frozen=True)
class DefaultServer:
    """A running `jaxserve run configs/default.yaml`: its base URL, pages at `/`."""

    url: str  # http://127.0.0.1:<port>

    @property
    def api(self) -> str:
        return f"{self.url}/v1"

    def metrics(self) -> dict[str, float]:
        """`/metrics` as {name: value}, named as the Dashboard's counters: prefix and model
        label dropped, `name:reason` per finish reason, histograms as `_sum` and `_count`."""
        text = httpx.get(f"{self.url}/metrics", timeout=30).raise_for_status().text
        values = {}
        for line in text.splitlines():
            if line.startswith("#") or not line:
                continue
            series, _, value = line.rpartition(" ")
            name, _, labels = series.removeprefix("jaxserve:").partition("{")
            if name.endswith("_bucket") or name in PROCESS_GAUGES:
                continue
            reason = re.search(r'finished_reason="([^"]*)"', labels)
            values[f"{name}:{reason.group(1)}" if reason else name] = float(value)
        return values


@contextlib.contextmanager
def jaxserve_run(
    command: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 180
) -> Iterator[DefaultServer]:
    """Runs a `jaxserve run ... --port 0` command until it logs its URL; yields the server.

    On leaving, SIGTERM: the server must drain and exit 0 (its log is in the failure).
    """
    process = subprocess.Popen(command, cwd=cwd, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        lines.extend(iter(process.stderr.readline, ""))

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + timeout
        port = None
        while port is None and time.monotonic() < deadline and process.poll() is None:
            found = (re.search(r"serving '\w+' at http://127\.0\.0\.1:(\d+)", x) for x in lines)
            port = next((int(m.group(1)) for m in found if m), None)
            time.sleep(0.1)
        assert port is not None, "".join(lines)
        yield DefaultServer(f"http://127.0.0.1:{port}")
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
        assert process.stderr is not None
        process.stderr.close()
        assert code == 0, "".join(lines)


@pytest.fixture(scope="session")
def default_server(tmp_path_factory) -> Iterator[DefaultServer]:
    """The shipped default config on a free loopback port, shared by every test of it: its
    start compiles every shape bucket (no lazy compile in a subprocess), so it starts once.

    Tests leave it idle. On SIGTERM at the end of the session it must drain and exit 0.
    """
    cache = tmp_path_factory.mktemp("xla-cache")
    with jaxserve_run(
        [sys.executable, "-m", "jaxserve.cli", "run", "configs/default.yaml", "--port", "0"],
        cwd=ROOT,
        env={**os.environ, "JAXSERVE_COMPILATION_CACHE": str(cache)},
    ) as server:
        yield server
