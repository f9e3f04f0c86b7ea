"""Where a decode step's time goes: host phases of `Engine.step` and device ablations.

    python benchmarks/step_profile.py /work/benchmodel [--seqs 64 1] [--steps 10]
        [--quantization int8]

For each batch size it fills the engine with that many requests (128-token prompts), runs
them into decode, then times whole engine steps split into host phases (schedule, sampling
rows, packing, transfer, dispatch, device wait, read-back, the rest) and, on the same
inputs, device programs with parts of the step removed (ablations): the differences are
the parts' costs. Medians of `--steps` repetitions; run on a quiet machine, or compare only
within one run.
"""

from __future__ import annotations

import argparse
import functools
import glob
import gzip
import json
import re
import statistics
import time
from collections import defaultdict

import jax
import numpy as np

import jaxserve.engine.engine as engine_mod
import jaxserve.engine.runner as runner_mod
from jaxserve.llm import LLM
from jaxserve.sampling_params import SamplingParams

PHASES = defaultdict(list)


def timed(name, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            PHASES[name].append(time.perf_counter() - start)

    return wrapper


def instrument(llm: LLM) -> None:
    """Wraps the step's phases with timers (module functions and the runner's methods)."""
    engine, runner = llm.engine, llm.runner
    engine.scheduler.schedule = timed("schedule", engine.scheduler.schedule)
    engine_mod.pack_sampling = timed("sampling_rows", engine_mod.pack_sampling)
    runner_mod.pack_step = timed("pack_step", runner_mod.pack_step)
    runner_mod.pad_rows = timed("pad_rows", runner_mod.pad_rows)
    runner_mod.pack_tree = timed("pack_tree", runner_mod.pack_tree)
    runner._put = timed("device_put", runner._put)

    def run(step, *args, **static):
        start = time.perf_counter()
        exe = runner._executable(step, *args, **static)
        out = exe(*args)
        PHASES["dispatch"].append(time.perf_counter() - start)
        start = time.perf_counter()
        jax.block_until_ready(out)
        PHASES["device_wait"].append(time.perf_counter() - start)
        return out

    runner._run = run
    execute = runner.execute

    def execute_timed(*args, **kwargs):
        start = time.perf_counter()
        out = execute(*args, **kwargs)
        PHASES["execute"].append(time.perf_counter() - start)
        return out

    runner.execute = execute_timed


def fill(llm: LLM, num_seqs: int, prompt_len: int) -> None:
    rng = np.random.default_rng(0)
    params = SamplingParams(temperature=0.0, max_tokens=1000, ignore_eos=True)
    for _ in range(num_seqs):
        llm.engine.add_request(rng.integers(3, 8000, prompt_len).tolist(), params)
    while any(
        r.num_computed_tokens < r.num_tokens - 1 for r in llm.engine.scheduler.requests.values()
    ):
        llm.engine.step()
    for _ in range(3):  # compile the decode bucket
        llm.engine.step()


def host_breakdown(llm: LLM, steps: int) -> None:
    PHASES.clear()
    walls = []
    for _ in range(steps):
        start = time.perf_counter()
        llm.engine.step()
        walls.append(time.perf_counter() - start)
    med = {k: statistics.median(v) * 1e3 for k, v in PHASES.items()}
    wall = statistics.median(walls) * 1e3
    inside = med["execute"] - sum(
        med.get(k, 0)
        for k in ("pack_step", "pad_rows", "pack_tree", "device_put", "dispatch", "device_wait")
    )
    outside = wall - med["execute"] - med["schedule"] - med.get("sampling_rows", 0)
    rows = [
        (k, med.get(k, 0.0))
        for k in (
            "schedule",
            "sampling_rows",
            "pack_step",
            "pad_rows",
            "pack_tree",
            "device_put",
            "dispatch",
            "device_wait",
        )
    ]
    rows += [("readback+rest of execute", inside), ("engine bookkeeping", outside)]
    print(f"  engine.step wall {wall:7.2f} ms (median of {steps})")
    for name, ms in rows:
        print(f"    {name:28s} {ms:7.2f} ms {100 * ms / wall:5.1f}%")


def device_ops(llm: LLM, steps: int, trace_dir: str) -> None:
    """Per-op device time of the step program, from a `jax.profiler` trace of `steps` steps.

    XLA:CPU records each thunk it runs; custom calls are named by their FFI target and output
    shape from the compiled program's text, so the layer matmuls, the LM head and attention
    show apart.
    """
    labels = {}
    for exe in llm.runner.executables._memory.values():
        for m in re.finditer(
            r"%?([\w.-]+) = (\S+) custom-call\(.*?custom_call_target=\"(\w+)\"", exe.as_text()
        ):
            labels[m.group(1)] = f"{m.group(3)} -> {m.group(2)}"
    jax.profiler.start_trace(trace_dir, create_perfetto_trace=True)
    walls = []
    for _ in range(steps):
        start = time.perf_counter()
        llm.engine.step()
        walls.append(time.perf_counter() - start)
    jax.profiler.stop_trace()
    path = sorted(glob.glob(f"{trace_dir}/**/*.trace.json.gz", recursive=True))[-1]
    with gzip.open(path) as f:
        events = [e for e in json.load(f)["traceEvents"] if e.get("ph") == "X"]
    per_op = defaultdict(float)
    for e in events:
        name = e["name"]
        if name.startswith("$") or "ThunkExecutor" in name or name.startswith("Pjit"):
            continue  # Python frames and the executor's own spans hold the ops below
        per_op[labels.get(name, name)] += e["dur"] / 1e3 / steps
    wall = sum(walls) / steps * 1e3
    print(f"  device ops (trace, mean of {steps} steps; step wall {wall:.1f} ms):")
    for name, ms in sorted(per_op.items(), key=lambda kv: -kv[1])[:16]:
        print(f"    {ms:7.2f} ms {100 * ms / wall:5.1f}%  {name[:90]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--seqs", type=int, nargs="+", default=[64, 1])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--prompt-len", type=int, default=128)
    parser.add_argument("--trace-dir", default="/tmp/step_profile")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--quantization", default=None, help="LLM's quantization, e.g. int8")
    args = parser.parse_args()
    for num_seqs in args.seqs:
        llm = LLM(
            args.model,
            skip_tokenizer_init=True,
            max_model_len=2048,
            max_num_seqs=64,
            max_num_batched_tokens=512,
            warmup=False,
            dtype=args.dtype,
            quantization=args.quantization,
        )
        instrument(llm)
        fill(llm, num_seqs, args.prompt_len)
        ctx = statistics.mean(r.num_tokens for r in llm.engine.scheduler.running)
        print(f"decode step, {num_seqs} sequences, mean context {ctx:.0f}")
        host_breakdown(llm, args.steps)
        device_ops(llm, args.steps, f"{args.trace_dir}/{num_seqs}")
        del llm


if __name__ == "__main__":
    main()
