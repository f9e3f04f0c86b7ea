#!/usr/bin/env python3
"""jaxserve's OpenAI server against vLLM-CPU's, one after the other, through `serve_bench.py`.

usage: vs_vllm_serve.py MODEL_DIR --vllm-python /path/to/vllm-venv/bin/python
                        [--bench ../shared/bench/serve_bench.py] [--n-single 16]
                        [--engines vllm,jaxserve]

Each server starts in its own process (vLLM: bf16, 64 sequences, max_model_len 2048,
`VLLM_CPU_KVCACHE_SPACE=4` unless set; jaxserve: its platform defaults, 64 sequences x 512
tokens a step, 4 GiB of KV), is polled until `/health` answers, then takes two runs of the
engine-neutral client: 64 requests at 16 concurrent and `--n-single` requests one at a time,
each 128 prompt tokens and 128 output tokens (greedy, ignore_eos). Prints every RESULT line
with the engine's name and the start-to-healthy time.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

DEFAULT_BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench" / "serve_bench.py"
PORT = 8011


def wait_healthy(proc: subprocess.Popen, timeout: float = 900.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not become healthy")


def server_command(engine: str, args: argparse.Namespace, config_dir: str) -> list[str]:
    if engine == "vllm":
        return [
            args.vllm_python, "-m", "vllm.entrypoints.openai.api_server",
            "--model", args.model, "--served-model-name", "bench", "--dtype", "bfloat16",
            "--max-model-len", "2048", "--max-num-seqs", "64", "--port", str(PORT),
        ]  # fmt: skip
    config = Path(config_dir) / "bench.yaml"
    config.write_text(
        f"model: {Path(args.model).resolve()}\nserved_model_name: bench\nport: {PORT}\n"
        "max_model_len: 2048\nmax_num_seqs: 64\nmax_num_batched_tokens: 512\n"
        "kv_cache_memory: 4GiB\nwebui: false\nlog_level: warning\n"
    )
    return [sys.executable, "-m", "jaxserve.cli", "run", str(config)]


def bench(args: argparse.Namespace, engine: str, n: int, concurrency: int) -> None:
    out = subprocess.run(
        [sys.executable, args.bench, f"http://127.0.0.1:{PORT}", "bench",
         "--n", str(n), "--concurrency", str(concurrency)],
        capture_output=True, text=True,
    )  # fmt: skip
    lines = [x for x in out.stdout.splitlines() if x.startswith("RESULT")]
    if out.returncode != 0 or not lines:
        sys.stderr.write(out.stdout[-2000:] + out.stderr[-2000:])
        raise SystemExit(f"serve_bench failed against {engine}")
    print(f"{lines[-1]} engine={engine}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--vllm-python", required=True)
    ap.add_argument("--bench", default=str(DEFAULT_BENCH))
    ap.add_argument("--n-single", type=int, default=16)
    ap.add_argument("--engines", default="vllm,jaxserve")
    args = ap.parse_args()
    env = dict(os.environ)
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "4")
    for engine in args.engines.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.Popen(
                server_command(engine, args, tmp),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(Path(tmp) / "server.log", "w"),  # noqa: SIM115
            )
            try:
                print(f"RESULT engine={engine} start_to_healthy_s={wait_healthy(proc):.1f}")
                bench(args, engine, 64, 16)
                bench(args, engine, args.n_single, 1)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
