#!/usr/bin/env python3
"""Seconds from `jaxserve run CONFIG` to a healthy server, cold and with the compile cache warm.

usage: server_startup.py [CONFIG] [--port 8123]

Runs the server twice in fresh processes against one emptied cache directory (XLA's
compilation cache, `JAXSERVE_COMPILATION_CACHE`, and the native CPU kernel's build,
`JAXSERVE_KERNEL_CACHE`, so a cold start compiles both), polling `GET /health` every 50 ms,
and prints a RESULT line per start and their ratio. The server is stopped with SIGTERM after
each start.
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


def start_to_healthy(config: str, port: int, cache: str, timeout: float = 300.0) -> float:
    env = dict(
        os.environ,
        JAXSERVE_COMPILATION_CACHE=os.path.join(cache, "xla"),
        JAXSERVE_KERNEL_CACHE=os.path.join(cache, "kernels"),
    )
    cmd = [sys.executable, "-m", "jaxserve.cli", "run", config, "--port", str(port)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < timeout:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited with {proc.returncode} before it was healthy")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - start
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"not healthy after {timeout:.0f} s")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("config", nargs="?", default="configs/default.yaml")
    ap.add_argument("--port", type=int, default=8123)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        cold = start_to_healthy(args.config, args.port, cache)
        print(f"RESULT start=cold seconds={cold:.2f}", flush=True)
        warm = start_to_healthy(args.config, args.port, cache)
        print(f"RESULT start=warm seconds={warm:.2f}", flush=True)
    print(f"RESULT cold/warm = {cold / warm:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
