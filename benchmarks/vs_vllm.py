#!/usr/bin/env python3
"""jaxserve against vLLM-CPU on the offline throughput workload, one after the other in one run.

usage: vs_vllm.py MODEL_DIR --vllm-python /path/to/vllm-venv/bin/python
                  [--anchor ../shared/bench/vllm_offline.py] [--num-prompts 64]
                  [--input-len 128] [--output-len 128]

Runs the anchor script (vLLM's offline `generate`, bf16, its default CPU thread binding, with
`VLLM_CPU_KVCACHE_SPACE=4` unless set) and then `jaxserve bench throughput` on the same
seeded workload, each in its own process, and prints both RESULT lines and the ratio of
output tokens per second.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

DEFAULT_ANCHOR = Path(__file__).resolve().parents[2] / "shared" / "bench" / "vllm_offline.py"


def result_line(cmd: list[str], env: dict[str, str]) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT")]
    if out.returncode != 0 or not lines:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"{cmd[0]} failed ({out.returncode})")
    return lines[-1]


def out_tok_s(line: str) -> float:
    return float(re.search(r"out_tok_s=([\d.]+)", line).group(1))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--vllm-python", required=True)
    ap.add_argument("--anchor", default=str(DEFAULT_ANCHOR))
    ap.add_argument("--num-prompts", type=int, default=64)
    ap.add_argument("--input-len", type=int, default=128)
    ap.add_argument("--output-len", type=int, default=128)
    args = ap.parse_args()
    sizes = ["--input-len", str(args.input_len), "--output-len", str(args.output_len)]
    env = dict(os.environ)
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "4")
    vllm = result_line(
        [args.vllm_python, args.anchor, args.model, "--n", str(args.num_prompts), *sizes], env
    )
    print(vllm, flush=True)
    jaxserve = result_line(
        [
            sys.executable,
            "-m",
            "jaxserve.cli",
            "bench",
            "throughput",
            "--model",
            args.model,
            "--num-prompts",
            str(args.num_prompts),
            *sizes,
        ],
        env,
    )
    print(jaxserve)
    print(
        f"RESULT jaxserve/vllm-cpu out tok/s ratio = {out_tok_s(jaxserve) / out_tok_s(vllm):.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
