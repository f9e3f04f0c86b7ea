#!/usr/bin/env python3
"""What serving one model from two processes costs: TTFT and TPOT over HTTP, three layouts.

    python benchmarks/distributed_tpot.py [--model models/default] [--n 16]

Layouts, each on the same cores with the same config apart from the split:
- one process, one device (no tensor parallelism);
- one process, two virtual CPU devices, tensor parallelism 2 (collectives inside XLA);
- two processes, one device each, tensor parallelism 2 across them (`distributed:`, gloo
  collectives, each step's inputs sent from the leader over ZeroMQ).

Each server is measured with the shared engine-neutral client (`../shared/bench/serve_bench.py`,
streaming `/v1/completions`, 128 prompt tokens, 64 out, greedy) at 1 and at 8 concurrent.
The model must split over two devices (the default model: 8 heads, 4 KV heads); the
SmolLM2-135M benchmark checkpoint's 9 heads do not. Prints the host lines and a RESULT line
per layout and concurrency.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from anchors_host import busy_warnings, detect_host, host_lines
from anchors_procs import parse_result, process_group, run_for_results, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT.parent / "shared" / "bench" / "serve_bench.py"
CONFIG = """model: {model}
served_model_name: bench
port: {port}
max_model_len: 512
kv_cache_memory: 128MiB
max_num_seqs: 16
max_num_batched_tokens: 256
tensor_parallel_size: {tp}
webui: false
"""
DISTRIBUTED = """distributed:
  coordinator_address: 127.0.0.1:{coordinator}
  num_processes: 2
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(layout: str, model: Path, work: Path, env: dict[str, str]) -> Iterator[str]:
    """Starts `layout`'s server(s); yields the leader's base URL once healthy."""
    port = free_port()
    tp = 1 if layout == "1proc-tp1" else 2
    text = CONFIG.format(model=model, port=port, tp=tp)
    devices = 2 if layout == "1proc-tp2" else 1
    env = {**env, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    ranks = [None]
    if layout == "2proc-tp2":
        text += DISTRIBUTED.format(coordinator=free_port())
        ranks = [1, 0]  # the follower first; the leader serves
    config = work / f"{layout}.yaml"
    config.write_text(text)
    with contextlib.ExitStack() as stack:
        proc = None
        for rank in ranks:
            cmd = [sys.executable, "-m", "jaxserve.cli", "run", str(config)]
            if rank is not None:
                cmd += ["--process-id", str(rank)]
            log = work / f"{layout}-{rank}.log"
            proc = stack.enter_context(process_group(cmd, env, log))
        url = f"http://127.0.0.1:{port}"
        wait_healthy(proc, url, timeout=600)
        yield url


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    ap.add_argument("--n", type=int, default=16, help="requests per measurement")
    args = ap.parse_args()
    host = detect_host()
    print("\n".join(host_lines(host)), flush=True)
    for line in busy_warnings(host, "before the runs"):
        print(line, flush=True)
    with tempfile.TemporaryDirectory(prefix="distributed_tpot.") as tmp:
        work = Path(tmp)
        env = dict(os.environ, JAXSERVE_COMPILATION_CACHE=str(work / "xla"))
        for layout in ("1proc-tp1", "1proc-tp2", "2proc-tp2"):
            with serve(layout, args.model.resolve(), work, env) as url:
                for concurrency in (1, 8):
                    cmd = [
                        sys.executable, str(CLIENT), url, "bench", "--n", str(args.n),
                        "--concurrency", str(concurrency), "--input-len", "128",
                        "--output-len", "64",
                    ]  # fmt: skip
                    log = work / f"{layout}-client-{concurrency}.log"
                    (line,) = run_for_results(cmd, os.environ.copy(), log, timeout=900)
                    fields = parse_result(line)
                    shown = " ".join(f"{k}={v}" for k, v in fields.items())
                    print(f"RESULT layout={layout} concurrency={concurrency} {shown}", flush=True)
    for line in busy_warnings(host, "after the runs"):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
