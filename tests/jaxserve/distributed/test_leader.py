"""Two processes, one CPU device each, serve one model with tensor parallelism 2 across them.

Each process runs `jaxserve run` on the same config (gloo collectives between the two); the
leader serves HTTP. Its greedy tokens equal one process's, and a killed follower makes the
leader fail its health check and exit, naming the lost process.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import yaml

from jaxserve import LLM, SamplingParams
from jaxserve.distributed.leader import EXIT_PEER_LOST
from jaxserve.loader.convert import convert
from tests.tiny_models import TinySpec

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.cpu

SPEC = TinySpec("distributed-gqa", "LlamaForCausalLM", num_heads=4, num_kv_heads=2)
PROMPTS = [
    "hello world",
    "the quick brown fox jumps over the lazy dog " * 4,  # longer than a step: chunked
    "the quick brown fox jumps over the lazy dog " * 4 + "again",  # its prefix cached
    "a b c d e f g",
]
# Few shape buckets: each process compiles them all at start.
ENGINE = {"max_model_len": 256, "max_num_seqs": 4, "max_num_batched_tokens": 32}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Process:
    """A `jaxserve run` subprocess and the lines of its stderr so far."""

    def __init__(self, command: list[str], env: dict[str, str]):
        self.popen = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        self.lines.extend(iter(self.popen.stderr.readline, ""))

    @property
    def log(self) -> str:
        return "".join(self.lines)


@contextlib.contextmanager
def _job(
    tmp_path: Path, checkpoint: str | Path, xla_cache: Path
) -> Iterator[tuple[str, _Process, _Process]]:
    """Leader and follower of the shipped config (a tiny model, a free port, a short
    heartbeat timeout); yields the leader's URL and both processes."""
    shipped = yaml.safe_load((ROOT / "configs" / "distributed.yaml").read_text())
    distributed = {
        **shipped["distributed"],
        "coordinator_address": f"127.0.0.1:{_free_port()}",
        "heartbeat_timeout": 3,  # a loaded CI host must not starve a beat that long
    }
    config = tmp_path / "distributed.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                **shipped,
                "model": str(checkpoint),
                "served_model_name": "tiny",
                **ENGINE,
                "webui": False,
                "distributed": distributed,
            }
        )
    )
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=1",  # one CPU device each
        "JAXSERVE_COMPILATION_CACHE": str(xla_cache),
    }
    run = [sys.executable, "-m", "jaxserve.cli", "run", str(config), "--port", "0"]
    processes = [_Process([*run, "--process-id", str(rank)], env) for rank in (1, 0)]
    follower, leader = processes
    try:
        deadline = time.monotonic() + 240
        port = None
        while port is None and time.monotonic() < deadline:
            assert leader.popen.poll() is None, leader.log + follower.log
            found = re.search(r"serving 'tiny' at http://127\.0\.0\.1:(\d+)", leader.log)
            port = int(found.group(1)) if found else None
            time.sleep(0.1)
        assert port is not None, leader.log + follower.log
        yield f"http://127.0.0.1:{port}", leader, follower
    finally:
        for process in processes:
            if process.popen.poll() is None:
                process.popen.kill()
            process.popen.wait(30)
            assert process.popen.stderr is not None
            process.popen.stderr.close()


@pytest.fixture(scope="module")
def xla_cache(tmp_path_factory) -> Path:
    """One compilation cache for the module's jobs: the second starts without compiling."""
    return tmp_path_factory.mktemp("xla-cache")


@pytest.fixture(scope="module")
def offline_texts(tiny_checkpoints) -> list[str]:
    """One process's greedy completions of `PROMPTS`."""
    llm = LLM(tiny_checkpoints(SPEC), warmup=False, **ENGINE)
    outputs = llm.generate(PROMPTS, SamplingParams(temperature=0, max_tokens=12, ignore_eos=True))
    return [o.outputs[0].text for o in outputs]


def _complete(url: str, prompt: str) -> str:
    response = httpx.post(
        f"{url}/v1/completions",
        json={"model": "tiny", "prompt": prompt, "max_tokens": 12, "temperature": 0},
        timeout=120,
    )
    return response.raise_for_status().json()["choices"][0]["text"]


def test_two_processes_give_one_process_tokens_and_stop_when_a_follower_dies(
    tiny_checkpoints, offline_texts, xla_cache, tmp_path
):
    with _job(tmp_path, tiny_checkpoints(SPEC), xla_cache) as (url, leader, follower):
        with ThreadPoolExecutor(len(PROMPTS)) as pool:  # at once: steps batch them
            served = list(pool.map(lambda p: _complete(url, p), PROMPTS))
        assert served == offline_texts
        assert "process 1 follows the leader" in follower.log

        follower.popen.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        health = []
        while leader.popen.poll() is None and time.monotonic() - killed < 30:
            with contextlib.suppress(httpx.TransportError):
                health.append(httpx.get(f"{url}/health", timeout=1).status_code)
            time.sleep(0.2)
        assert leader.popen.wait(max(0.1, 30 - (time.monotonic() - killed))) == EXIT_PEER_LOST
        assert 503 in health, health
        assert "lost follower process 1: no heartbeat for 3 s" in leader.log


def test_an_orbax_conversion_restores_across_processes_and_sigterm_stops_both(
    tiny_checkpoints, offline_texts, xla_cache, tmp_path
):
    """Each process restores its own shards of a `jaxserve convert` output; on SIGTERM the
    leader drains, tells the follower to stop, and both exit 0."""
    converted = convert(tiny_checkpoints(SPEC), tmp_path / "converted", tensor_parallel_size=2)
    with _job(tmp_path, converted, xla_cache) as (url, leader, follower):
        assert _complete(url, PROMPTS[1]) == offline_texts[1]
        leader.popen.send_signal(signal.SIGTERM)
        assert leader.popen.wait(60) == 0, leader.log
        assert follower.popen.wait(30) == 0, follower.log
        assert "the leader stopped after" in follower.log
