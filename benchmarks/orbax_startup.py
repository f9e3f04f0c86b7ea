#!/usr/bin/env python3
"""Seconds from `jaxserve run` to a healthy server: the model from its safetensors directory
against the same model converted by `jaxserve convert` (a pre-sharded Orbax checkpoint).

    python benchmarks/orbax_startup.py [--model /work/benchmodel] [--repeats 5]

Converts the model once per quantization (none and int8; the conversion's wall time, the
first one's including the native kernels' build into the empty cache, and the sizes on disk
are printed), then starts each server `--repeats` times, the sources alternating, all
with one compile cache (XLA's and the native kernels', warmed by an untimed start of each
first), so what differs is reading (and, for int8, quantizing) the weights. Each start is
server_startup.start_to_healthy: `GET /health` polled every 50 ms, then SIGTERM. Prints the
host lines the other benchmarks print, a RESULT line per start and a median per source.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from anchors_host import busy_warnings, detect_host, host_lines
from anchors_procs import port_in_use
from server_startup import start_to_healthy

CONFIG = """model: {model}
port: {port}
max_model_len: 1024
kv_cache_memory: 256MiB
max_num_seqs: 16
max_num_batched_tokens: 256
webui: false
quantization: {quantization}
"""


def disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def convert(model: Path, out: Path, quantization: str | None, env: dict[str, str]) -> float:
    """Runs `jaxserve convert`; its wall seconds."""
    cmd = [sys.executable, "-m", "jaxserve.cli", "convert", str(model), str(out)]
    if quantization:
        cmd += ["--quantization", quantization]
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("/work/benchmodel"))
    ap.add_argument("--port", type=int, default=8127)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if port_in_use(args.port):
        raise SystemExit(f"port {args.port} is in use")
    host = detect_host()
    print("\n".join(host_lines(host)), flush=True)
    for line in busy_warnings(host, "before the runs"):
        print(line, flush=True)
    with tempfile.TemporaryDirectory(prefix="orbax_startup.") as tmp:
        work = Path(tmp)
        env = dict(  # the caches start_to_healthy gives the servers
            os.environ,
            JAXSERVE_COMPILATION_CACHE=str(work / "xla"),
            JAXSERVE_KERNEL_CACHE=str(work / "kernels"),
        )
        configs = {}
        print(f"RESULT size source=safetensors mib={disk_bytes(args.model) / 2**20:.1f}")
        for quantization in (None, "int8"):
            q = quantization or "none"
            out = work / f"orbax-{q}"
            seconds = convert(args.model, out, quantization, env)
            mib = disk_bytes(out) / 2**20
            print(f"RESULT convert quantization={q} seconds={seconds:.2f} mib={mib:.1f}")
            for source, model in (("safetensors", args.model), ("orbax", out)):
                config = work / f"{source}-{q}.yaml"
                yaml_q = quantization or "null"
                config.write_text(CONFIG.format(model=model, port=args.port, quantization=yaml_q))
                configs[(source, q)] = config
        for config in configs.values():  # compile and page caches warm for every source
            start_to_healthy(str(config), args.port, tmp)
        times: dict[tuple[str, str], list[float]] = {key: [] for key in configs}
        for _ in range(args.repeats):
            for (source, q), config in configs.items():
                seconds = start_to_healthy(str(config), args.port, tmp)
                times[(source, q)].append(seconds)
                print(f"RESULT start source={source} quantization={q} seconds={seconds:.2f}")
        for line in busy_warnings(host, "after the runs"):
            print(line, flush=True)
    for q in ("none", "int8"):
        st = statistics.median(times[("safetensors", q)])
        ob = statistics.median(times[("orbax", q)])
        print(
            f"RESULT median quantization={q} safetensors_seconds={st:.2f} "
            f"orbax_seconds={ob:.2f} saved_seconds={st - ob:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
