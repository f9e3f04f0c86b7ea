#!/usr/bin/env python3
"""webui against Gradio on one app (`echo_app.py`), through `sse_v3_bench.py` and gradio_client.

usage: webui_vs_gradio.py --gradio-python /path/to/gradio-venv/bin/python
                          [--bench-dir ../shared/bench] [--n 1000] [--client-n 200]
                          [--libs webui,gradio]

Each library serves the unchanged `echo_app.py` in its own process, alone on the machine in turn
(webui from this checkout with this interpreter, Gradio with `--gradio-python`), on a free
loopback port; once `/config` answers, the lean protocol client runs `--n` calls one at a time
and then at 32 concurrent. Against webui, the real gradio_client also runs `--client-n` calls
one at a time and at 16 concurrent. Prints every RESULT line, with the CPU time a call cost the
server process and the client process, then one table with webui's figures over Gradio's.
Exits 1 when any reply was wrong or failed, or a run printed no result.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]
DEFAULT_BENCH_DIR = REPO.parent / "shared" / "bench"
RESULT = re.compile(r"^RESULT (.*)$", re.MULTILINE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(proc: subprocess.Popen, url: str, timeout: float = 180.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(f"{url}/config", timeout=2) as reply:
                if reply.status == 200:
                    return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{url}/config did not answer within {timeout:.0f} s")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a running process (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_bench(
    script: Path, url: str, n: int, concurrency: int, api: str, server_pid: int
) -> dict[str, str]:
    """One bench run: its RESULT fields plus the CPU milliseconds a call cost the client
    (`client_cpu_ms`) and the server (`server_cpu_ms`); {} when it printed no RESULT."""
    command = [sys.executable, str(script), url, "--n", str(n), "--concurrency", str(concurrency)]
    command += ["--api", api]
    server_before = cpu_seconds(server_pid)
    client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(command, capture_output=True, text=True, timeout=900)
    client_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = cpu_seconds(server_pid) - server_before
    found = RESULT.findall(out.stdout)
    if not found:
        print(f"{script.name} printed no RESULT (exit {out.returncode}):\n{out.stderr[-2000:]}")
        return {}
    client_cpu = (client_after.ru_utime + client_after.ru_stime) - (
        client_before.ru_utime + client_before.ru_stime
    )  # includes the client's warm-up call and start-up
    fields = dict(field.split("=", 1) for field in found[-1].split())
    fields["client_cpu_ms"] = f"{1000 * client_cpu / n:.2f}"
    fields["server_cpu_ms"] = f"{1000 * server_cpu / n:.2f}"
    print(
        f"RESULT {found[-1]} client_cpu_ms={fields['client_cpu_ms']} "
        f"server_cpu_ms={fields['server_cpu_ms']}",
        flush=True,
    )
    return fields


def serve(lib: str, python: str, app: Path, port: int, log: IO[str]) -> subprocess.Popen:
    env = dict(os.environ)
    if lib == "webui":  # this checkout's webui, whatever is installed
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    command = [python, str(app), "--lib", lib, "--port", str(port)]
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
    )


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure(lib: str, python: str, args: argparse.Namespace) -> dict[str, dict[str, str]]:
    bench_dir = Path(args.bench_dir)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log:
        proc = serve(lib, python, bench_dir / "echo_app.py", port, log)
        runs: dict[str, dict[str, str]] = {}
        try:
            try:
                ready = wait_ready(proc, url)
            except SystemExit:
                log.seek(0)
                print(f"{lib} server output:\n{log.read()[-3000:]}")
                raise
            print(f"{lib}: ready in {ready:.1f} s on {url}", flush=True)
            sse = bench_dir / "sse_v3_bench.py"
            runs["sse seq"] = run_bench(sse, url, args.n, 1, "echo", proc.pid)
            runs["sse 32"] = run_bench(sse, url, args.n, 32, "echo", proc.pid)
            if lib == "webui":
                client = bench_dir / "webui_client_bench.py"
                runs["client seq"] = run_bench(client, url, args.client_n, 1, "/echo", proc.pid)
                runs["client 16"] = run_bench(client, url, args.client_n, 16, "/echo", proc.pid)
        finally:
            stop(proc)
    return runs


def row(name: str, webui: dict[str, str], gradio: dict[str, str], key: str) -> str:
    if key not in webui:
        return f"| {name} | - | - | - |"
    w = float(webui[key])
    if key not in gradio:
        return f"| {name} | {w:.1f} | - | - |"
    g = float(gradio[key])
    ratio = f"{w / g:.2f}x" if g else "-"
    return f"| {name} | {w:.1f} | {g:.1f} | {ratio} |"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gradio-python", help="the interpreter of a venv with gradio installed")
    ap.add_argument("--bench-dir", default=str(DEFAULT_BENCH_DIR))
    ap.add_argument("--n", type=int, default=1000, help="calls per sse_v3_bench run")
    ap.add_argument("--client-n", type=int, default=200, help="calls per gradio_client run")
    ap.add_argument("--libs", default="webui,gradio")
    args = ap.parse_args()
    libs = args.libs.split(",")
    if "gradio" in libs and not args.gradio_python:
        ap.error("--gradio-python is needed to run Gradio (keep gradio out of this venv)")
    results = {
        lib: measure(lib, sys.executable if lib == "webui" else args.gradio_python, args)
        for lib in libs
    }
    webui, gradio = results.get("webui", {}), results.get("gradio", {})
    print("\n| run | webui | Gradio | webui / Gradio |\n|---|---|---|---|")
    for run in ("sse seq", "sse 32"):
        w, g = webui.get(run, {}), gradio.get(run, {})
        print(row(f"{run}: calls/s", w, g, "calls_s"))
        print(row(f"{run}: p50 ms", w, g, "p50_ms"))
        print(row(f"{run}: p99 ms", w, g, "p99_ms"))
        print(row(f"{run}: server CPU ms a call", w, g, "server_cpu_ms"))
        print(row(f"{run}: client CPU ms a call", w, g, "client_cpu_ms"))
    for run in ("client seq", "client 16"):
        w = webui.get(run, {})
        print(row(f"gradio_client {run.split()[1]}: calls/s", w, {}, "calls_s"))
        print(row(f"gradio_client {run.split()[1]}: p50 ms", w, {}, "p50_ms"))
    bad = 0
    for lib, runs in results.items():
        for run, fields in runs.items():
            errors = int(fields.get("wrong", 1)) + int(fields.get("failed", 0))
            if errors:
                print(f"{lib} {run}: {errors} wrong or failed replies (or no result)")
            bad += errors
    if webui.get("sse 32") and gradio.get("sse 32"):
        w, g = webui["sse 32"], gradio["sse 32"]
        speed = float(w["calls_s"]) / float(g["calls_s"])
        p99 = float(w["p99_ms"]) / float(g["p99_ms"])
        cpu = float(w["server_cpu_ms"]) / float(g["server_cpu_ms"])
        met = speed >= 3 and p99 <= 1 / 3
        print(
            f"\nat 32 concurrent: webui {speed:.2f}x Gradio's calls/s (bar 3x), p99 {p99:.2f} of "
            f"Gradio's (bar 0.33): {'met' if met else 'NOT met'}"
        )
        lean = cpu <= 1 / 8 and speed >= 2
        print(
            f"at 32 concurrent: server CPU a call {cpu:.3f} of Gradio's (bar 1/8 = 0.125) and "
            f"{speed:.2f}x its calls/s (bar 2x): {'met' if lean else 'NOT met'}"
        )
    print(f"wrong or failed replies: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
