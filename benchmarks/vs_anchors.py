#!/usr/bin/env python3
"""jaxserve against its anchors, vLLM-CPU and llama.cpp, on one checkpoint in one run.

usage: vs_anchors.py MODEL_DIR [--engines vllm,llamacpp,jaxserve] [--skip-offline] [--skip-server]
                     [--num-prompts 64] [--input-len 128] [--output-len 128] [--max-num-seqs 64]
                     [--dtype auto|bfloat16|float32] [--single-repeats 3]
                     [--server-requests 64] [--server-concurrency 16] [--n-single 16]
                     [--max-num-batched-tokens 2048]
                     [--vllm-python /work/vllm-venv/bin/python]
                     [--llamacpp-python /work/llama-venv/bin/python] [--threads NPROC]
                     [--convert-python PYTHON] [--work-dir ~/.cache/jaxserve/anchors]
                     [--port 8011]
  e.g. the full run (about an hour on 2 cores): vs_anchors.py /work/benchmodel
       a smoke run: vs_anchors.py /work/benchmodel --engines jaxserve,llamacpp --skip-server
                    --num-prompts 4 --input-len 16 --output-len 16 --max-num-seqs 4

Prints the date, the CPU model and the flags the engines' speed hinges on first, and warns
when other processes are busy. Then each engine runs alone, in its own process group, one
after another (anchors_procs.py), on the same seeded random prompt token ids, greedy with
ignore_eos:
  offline  vLLM-CPU: shared/bench/vllm_offline.py (bf16, VLLM_CPU_KVCACHE_SPACE=4 unless set);
           llama.cpp: shared/bench/llamacpp_bench.py (batched, plus single-stream TTFT/TPOT) on
           an f16 GGUF that hf_to_gguf_llama.py writes once into --work-dir;
           jaxserve: `jaxserve bench throughput` and `jaxserve bench single-stream`.
  server   vLLM's OpenAI server and `jaxserve run`, each through shared/bench/serve_bench.py
           at 16 concurrent and then 1 concurrent, with the start-to-healthy time (llama.cpp
           takes no part: llama-cpp-python's server is Python-bound, not llama.cpp at its best).
Last, a table of every figure with how many times better jaxserve is than the best anchor,
and WARNING lines for an anchor far off what it gave before on this kind of CPU
(anchors_host.KNOWN). Every run's log is kept under --work-dir/logs/<time>/.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from anchors_host import (
    Host,
    busy_warnings,
    detect_host,
    host_lines,
    llamacpp_system_info,
    sanity_warnings,
)
from anchors_procs import (
    RunFailed,
    log_tail,
    parse_result,
    port_in_use,
    process_group,
    run_for_results,
    wait_healthy,
)

WORK = Path(__file__).resolve().parents[2]  # holds shared/ and the anchors' venvs
BENCH_DIR = WORK / "shared" / "bench"
ENGINES = {"vllm": "vLLM-CPU", "llamacpp": "llama.cpp", "jaxserve": "jaxserve"}
ANCHORS = ("vllm", "llamacpp")
REFERENCE = dict(
    num_prompts=64, input_len=128, output_len=128, max_num_seqs=64, server_requests=64, conc=16
)
RUN_TIMEOUT_S = 3600.0
SERVER_START_TIMEOUT_S = 900.0

Results = dict[tuple[str, str], dict]  # (workload, engine) -> a RESULT line's fields


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("model", help="Hugging Face checkpoint directory (e.g. /work/benchmodel)")
    ap.add_argument("--engines", default="vllm,llamacpp,jaxserve", help="comma-separated subset")
    ap.add_argument("--skip-offline", action="store_true")
    ap.add_argument("--skip-server", action="store_true")
    ap.add_argument("--num-prompts", type=int, default=REFERENCE["num_prompts"])
    ap.add_argument("--input-len", type=int, default=REFERENCE["input_len"])
    ap.add_argument("--output-len", type=int, default=REFERENCE["output_len"])
    ap.add_argument("--dtype", default="auto", choices=("auto", "bfloat16", "float32"),
                    help="jaxserve's dtype (auto: the platform's)")  # fmt: skip
    ap.add_argument("--max-num-seqs", type=int, default=REFERENCE["max_num_seqs"],
                    help="most sequences in one step, for vLLM and jaxserve")  # fmt: skip
    ap.add_argument(
        "--max-num-batched-tokens", type=int, default=2048,
        help="jaxserve server's tokens a step (default: what vLLM's CPU server schedules)",
    )  # fmt: skip
    ap.add_argument("--server-requests", type=int, default=REFERENCE["server_requests"])
    ap.add_argument("--server-concurrency", type=int, default=REFERENCE["conc"])
    ap.add_argument("--n-single", type=int, default=16, help="requests at 1 concurrent")
    ap.add_argument("--single-repeats", type=int, default=3, help="jaxserve single-stream runs")
    ap.add_argument("--vllm-python", default=str(WORK / "vllm-venv" / "bin" / "python"))
    ap.add_argument("--llamacpp-python", default=str(WORK / "llama-venv" / "bin" / "python"))
    convert_help = "a python with gguf, safetensors and torch, for hf_to_gguf_llama.py"
    ap.add_argument("--convert-python", default=sys.executable, help=convert_help)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="llama.cpp threads")
    ap.add_argument("--work-dir", default=str(Path.home() / ".cache" / "jaxserve" / "anchors"))
    ap.add_argument("--port", type=int, default=8011)
    args = ap.parse_args(argv)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(args.engines) - set(ENGINES))
    if unknown or not args.engines:
        ap.error(f"--engines: unknown {unknown}; choose from {', '.join(ENGINES)}")
    positive = ("num_prompts", "input_len", "max_num_seqs", "server_requests", "n_single")
    for name in (*positive, "server_concurrency", "single_repeats"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.output_len < 2:
        ap.error("--output-len must be at least 2 (TPOT counts the tokens after the first)")
    return args


def check_inputs(args: argparse.Namespace) -> list[str]:
    """Problems that would fail a run hours in, found before any engine starts."""
    problems = []
    if not (Path(args.model) / "config.json").is_file():
        problems.append(f"{args.model} holds no config.json: not a checkpoint directory")
    pythons = {"vllm": args.vllm_python, "llamacpp": args.llamacpp_python}
    for engine, python in pythons.items():
        if engine in args.engines and not Path(python).is_file():
            problems.append(f"{ENGINES[engine]}: no python at {python} (drop it from --engines)")
    for script in ("vllm_offline.py", "llamacpp_bench.py", "hf_to_gguf_llama.py", "serve_bench.py"):
        if not (BENCH_DIR / script).is_file():
            problems.append(f"missing anchor script {BENCH_DIR / script}")
    return problems


def sizes(args: argparse.Namespace) -> list[str]:
    return ["--input-len", str(args.input_len), "--output-len", str(args.output_len)]


def at_reference_sizes(args: argparse.Namespace, workload: str) -> bool:
    """Whether the known figures (measured at 64 x 128/128) apply to this run's sizes."""
    lengths = (args.input_len, args.output_len, args.max_num_seqs) == (128, 128, 64)
    if workload == "offline":
        return lengths and args.num_prompts == REFERENCE["num_prompts"]
    if workload == "server16":
        reference = (REFERENCE["server_requests"], REFERENCE["conc"])
        return lengths and (args.server_requests, args.server_concurrency) == reference
    return lengths


def phase(workload: str) -> str:
    return "offline" if workload in ("offline", "single") else "server"


class Run:
    """What one invocation carries between engines: arguments, host, results, warnings."""

    def __init__(self, args: argparse.Namespace, host: Host):
        self.args = args
        self.host = host
        self.results: Results = {}
        self.warnings: list[str] = []
        self.failed: dict[tuple[str, str], str] = {}  # (phase, engine) -> the error
        self.flagged: set[tuple[str, str]] = set()  # (workload, anchor) far off its known figure
        self.log_dir = Path(args.work_dir) / "logs" / time.strftime("%Y%m%d-%H%M%S")
        self.env = dict(os.environ)
        self.env.setdefault("VLLM_CPU_KVCACHE_SPACE", "4")

    def check_idle(self, what: str) -> None:
        for warning in busy_warnings(self.host, f"before {what}"):
            self.warnings.append(warning)
            print(warning, flush=True)

    def fail(self, phase: str, engine: str, error: Exception) -> None:
        self.failed[(phase, engine)] = str(error).splitlines()[0]
        print(f"FAILED {ENGINES[engine]} {phase}: {error}", flush=True)


def record(run: Run, workload: str, engine: str, line: str) -> None:
    fields = parse_result(line)
    run.results[(workload, engine)] = fields
    print(f"{line} workload={workload}", flush=True)
    if engine in ANCHORS and at_reference_sizes(run.args, workload):
        for warning in sanity_warnings(run.host, workload, engine, fields):
            run.warnings.append(warning)
            if warning.startswith("WARNING"):
                run.flagged.add((workload, engine))
            print(warning, flush=True)


def gguf_file(run: Run) -> Path:
    """The f16 GGUF of the checkpoint, converted on first use and cached in --work-dir."""
    weights = sorted(Path(run.args.model).resolve().glob("*.safetensors"))
    stamp = "".join(f"{w}:{w.stat().st_size}:{w.stat().st_mtime_ns};" for w in weights)
    key = hashlib.sha1(stamp.encode()).hexdigest()[:12]
    out = Path(run.args.work_dir) / f"{Path(run.args.model).resolve().name}-{key}-f16.gguf"
    if out.is_file():
        print(f"llama.cpp: cached GGUF {out}", flush=True)
        return out
    partial = out.with_suffix(".partial.gguf")
    cmd = [run.args.convert_python, str(BENCH_DIR / "hf_to_gguf_llama.py"), run.args.model]
    log = run.log_dir / "convert-gguf.log"
    print(f"llama.cpp: converting the checkpoint to {out} (log {log})", flush=True)
    with process_group([*cmd, str(partial)], run.env, log) as proc:
        try:
            code = proc.wait(RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise RunFailed(f"hf_to_gguf_llama.py timed out; see {log}") from None
    if code != 0 or not partial.is_file():
        raise RunFailed(f"hf_to_gguf_llama.py exited with {code}; {log}:\n{log_tail(log, 800)}")
    partial.rename(out)
    return out


def offline_jobs(run: Run, engine: str) -> list[tuple[str, list[str]]]:
    """(log name, command) of each offline process an engine runs."""
    a = run.args
    if engine == "vllm":
        script = str(BENCH_DIR / "vllm_offline.py")
        cmd = [a.vllm_python, script, a.model, "--n", str(a.num_prompts)]
        return [("vllm-offline", [*cmd, "--max-num-seqs", str(a.max_num_seqs)])]
    if engine == "llamacpp":
        script, gguf = str(BENCH_DIR / "llamacpp_bench.py"), str(gguf_file(run))
        cmd = [a.llamacpp_python, script, gguf, "--n", str(a.num_prompts), "--threads"]
        return [("llamacpp-offline", [*cmd, str(a.threads)])]
    bench = [sys.executable, "-m", "jaxserve.cli", "bench"]
    common = ["--model", a.model, "--dtype", a.dtype, "--max-num-seqs", str(a.max_num_seqs)]
    return [
        ("jaxserve-offline", [*bench, "throughput", *common, "--num-prompts", str(a.num_prompts)]),
        ("jaxserve-single", [*bench, "single-stream", *common, "--repeats", str(a.single_repeats)]),
    ]


def run_offline(run: Run, engine: str) -> None:
    if engine == "llamacpp":
        print(f"llama.cpp system_info: {llamacpp_system_info(run.args.llamacpp_python)}")
    run.check_idle(f"{ENGINES[engine]} offline")
    try:
        for name, cmd in offline_jobs(run, engine):
            log = run.log_dir / f"{name}.log"
            print(f"running {ENGINES[engine]} {name} (log {log})", flush=True)
            for line in run_for_results([*cmd, *sizes(run.args)], run.env, log, RUN_TIMEOUT_S):
                record(run, "single" if "single-stream" in line else "offline", engine, line)
    except RunFailed as error:
        run.fail("offline", engine, error)


def server_command(run: Run, engine: str, config_dir: Path) -> list[str]:
    a = run.args
    if engine == "vllm":
        return [
            a.vllm_python, "-m", "vllm.entrypoints.openai.api_server",
            "--model", a.model, "--served-model-name", "bench", "--dtype", "bfloat16",
            "--max-model-len", "2048", "--max-num-seqs", str(a.max_num_seqs),
            "--port", str(a.port),
        ]  # fmt: skip
    config = config_dir / "bench.yaml"
    config.write_text(
        f"model: {Path(a.model).resolve()}\nserved_model_name: bench\nport: {a.port}\n"
        f"dtype: {a.dtype}\nmax_model_len: 2048\nmax_num_seqs: {a.max_num_seqs}\n"
        f"max_num_batched_tokens: {a.max_num_batched_tokens}\n"
        "kv_cache_memory: 4GiB\nwebui: false\nlog_level: warning\n"
    )
    return [sys.executable, "-m", "jaxserve.cli", "run", str(config)]


def serve_bench(run: Run, engine: str, workload: str, n: int, concurrency: int) -> None:
    url = f"http://127.0.0.1:{run.args.port}"
    cmd = [sys.executable, str(BENCH_DIR / "serve_bench.py"), url, "bench", "--n", str(n)]
    cmd += ["--concurrency", str(concurrency), *sizes(run.args)]
    log = run.log_dir / f"{engine}-{workload}.log"
    (line,) = run_for_results(cmd, run.env, log, RUN_TIMEOUT_S)[-1:]
    if parse_result(line).get("failed", 0.0) != 0.0:
        raise RunFailed(f"requests failed: {line}")
    record(run, workload, engine, f"{line} engine={engine}")


def run_server(run: Run, engine: str) -> None:
    if engine == "llamacpp":
        return  # no llama.cpp server in this comparison: its python server is not its best
    if port_in_use(run.args.port):
        run.fail("server", engine, RunFailed(f"port {run.args.port} is taken; pass --port"))
        return
    run.check_idle(f"{ENGINES[engine]} server")
    log = run.log_dir / f"{engine}-server.log"
    print(f"starting {ENGINES[engine]}'s server (log {log})", flush=True)
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            process_group(server_command(run, engine, Path(tmp)), run.env, log) as proc,
        ):
            url = f"http://127.0.0.1:{run.args.port}"
            healthy = wait_healthy(proc, url, SERVER_START_TIMEOUT_S)
            record(
                run, "startup", engine, f"RESULT engine={engine} start_to_healthy_s={healthy:.1f}"
            )
            a = run.args
            serve_bench(run, engine, "server16", a.server_requests, a.server_concurrency)
            serve_bench(run, engine, "server1", a.n_single, 1)
    except RunFailed as error:
        run.fail("server", engine, error)


SUMMARY_ROWS = (
    # workload, metric, label, higher is better, anchors it is compared with
    ("offline", "out_tok_s", "offline out tok/s", True, ANCHORS),
    ("single", "ttft_ms", "single-stream TTFT ms", False, ("llamacpp",)),
    ("single", "tpot_ms", "single-stream TPOT ms", False, ("llamacpp",)),
    ("startup", "start_to_healthy_s", "server start-to-healthy s", False, ("vllm",)),
    ("server16", "out_tok_s", "server {c}-conc out tok/s", True, ("vllm",)),
    ("server16", "ttft_p50_ms", "server {c}-conc TTFT p50 ms", False, ("vllm",)),
    ("server16", "tpot_p50_ms", "server {c}-conc TPOT p50 ms", False, ("vllm",)),
    ("server1", "ttft_p50_ms", "server 1-conc TTFT p50 ms", False, ("vllm",)),
    ("server1", "tpot_p50_ms", "server 1-conc TPOT p50 ms", False, ("vllm",)),
)


def cell(run: Run, workload: str, engine: str, metric: str) -> str:
    value = run.results.get((workload, engine), {}).get(metric)
    if isinstance(value, float):
        return f"{value:.1f}"
    return "failed" if (phase(workload), engine) in run.failed else "-"


def jaxserve_vs_best(run: Run, workload: str, metric: str, better_high, anchors) -> str:
    """How many times better jaxserve is than the best anchor that ran (>1: jaxserve wins)."""
    results = run.results
    ours = results.get((workload, "jaxserve"), {}).get(metric)
    theirs = {
        e: v
        for e in anchors
        if isinstance(v := results.get((workload, e), {}).get(metric), float) and v > 0
    }
    if not isinstance(ours, float) or ours <= 0 or not theirs:
        return "-"
    best = (max if better_high else min)(theirs, key=theirs.get)
    ratio = ours / theirs[best] if better_high else theirs[best] / ours
    flag = " (anchor flagged)" if (workload, best) in run.flagged else ""
    return f"{ratio:.2f}x vs {ENGINES[best]}{flag}"


def print_summary(run: Run) -> None:
    a = run.args
    print(f"\nSUMMARY {run.host.model_name} ({run.host.kind}, {run.host.cpus} CPUs)")
    parts = [] if a.skip_offline else [f"offline {a.num_prompts} x {a.input_len}/{a.output_len}"]
    if not a.skip_server:
        parts.append(
            f"server {a.server_requests} requests at {a.server_concurrency} conc and "
            f"{a.n_single} at 1, {a.input_len}/{a.output_len}"
        )
    print("; ".join([*parts, f"{a.max_num_seqs} sequences a step, jaxserve dtype {a.dtype}"]))
    print("ratio: how many times better jaxserve is than the best anchor (more tok/s, less time)")
    header = ["workload", *(ENGINES[e] for e in ENGINES), "jaxserve vs best anchor"]
    rows = [header]
    for workload, metric, label, better_high, anchors in SUMMARY_ROWS:
        figures = [cell(run, workload, e, metric) for e in ENGINES]
        if all(f in ("-", "failed") for f in figures):
            continue
        ratio = jaxserve_vs_best(run, workload, metric, better_high, anchors)
        rows.append([label.format(c=a.server_concurrency), *figures, ratio])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for label, *figures in rows:
        cells = [x.rjust(w) for x, w in zip(figures, widths[1:], strict=True)]
        print("  ".join([label.ljust(widths[0]), *cells]))
    failures = [f"FAILED {ENGINES[e]} {p}: {error}" for (p, e), error in run.failed.items()]
    for line in [*run.warnings, *failures]:
        print(line)
    if not all(at_reference_sizes(a, w) for w in ("offline", "server16", "single")):
        print(
            "NOTE sizes differ from the reference (64 x 128/128, 64 sequences a step): "
            "anchors not checked against their known figures"
        )


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # so that every `with process_group` ends its group


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    host = detect_host()
    for line in host_lines(host):
        print(line, flush=True)
    problems = check_inputs(args)
    for problem in problems:
        print(f"ERROR {problem}", file=sys.stderr)
    if problems:
        return 2
    run = Run(args, host)
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"engines {', '.join(args.engines)}, one at a time; logs in {run.log_dir}", flush=True)
    try:
        for engine in [] if args.skip_offline else args.engines:
            run_offline(run, engine)
        for engine in [] if args.skip_server else args.engines:
            run_server(run, engine)
    except KeyboardInterrupt:
        print("\nINTERRUPTED: the running engine's process group was stopped", flush=True)
        print_summary(run)
        return 130
    print_summary(run)
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
