"""Child processes of `vs_anchors.py`: one engine at a time, each in its own process group.

Every engine (an offline script or a server) starts in a new session, so that it and the
workers it spawns (vLLM's engine core, compile workers) form one process group; stopping
it sends SIGTERM to the whole group, then SIGKILL after a grace period. The caller holds
each group in a `with` block, so Ctrl-C, a timeout or a failed step still ends it before
the next engine starts. Output goes to a log file per run, never to a pipe that could fill.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


class RunFailed(RuntimeError):
    """An engine run ended without a RESULT line; the message holds its log's tail."""


def parse_result(line: str) -> dict[str, float | str]:
    """`RESULT a=1.5 b=x` -> {"a": 1.5, "b": "x"}."""
    fields: dict[str, float | str] = {}
    for key, value in re.findall(r"(\w+)=(\S+)", line):
        try:
            fields[key] = float(value)
        except ValueError:
            fields[key] = value
    return fields


def log_tail(path: Path, chars: int = 3000) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-chars:]


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def stop_group(proc: subprocess.Popen, grace: float = 30.0) -> None:
    """Ends the process group led by `proc`: SIGTERM, then SIGKILL after `grace` seconds."""
    if not _signal_group(proc.pid, signal.SIGTERM):
        proc.poll()
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        # The leader may exit before its workers: wait for the whole group to be gone.
        proc.poll()
        if not _signal_group(proc.pid, 0):
            return
        time.sleep(0.2)
    _signal_group(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


@contextlib.contextmanager
def process_group(
    cmd: list[str], env: dict[str, str], log_path: Path
) -> Iterator[subprocess.Popen]:
    """Runs `cmd` in a session of its own, output to `log_path`; ends the group on exit."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(
            cmd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            yield proc
        finally:
            # A second Ctrl-C while the group stops must not leave it running.
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                stop_group(proc)
            finally:
                signal.signal(signal.SIGINT, previous)


def run_for_results(
    cmd: list[str], env: dict[str, str], log_path: Path, timeout: float
) -> list[str]:
    """Runs `cmd` to the end and returns its RESULT lines; raises `RunFailed`."""
    with process_group(cmd, env, log_path) as proc:
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise RunFailed(f"timed out after {timeout:.0f} s; log {log_path}") from None
    lines = [x for x in log_path.read_text(errors="replace").splitlines() if x.startswith("RESULT")]
    if code != 0 or not lines:
        raise RunFailed(f"exited with {code}, no RESULT; log {log_path}:\n{log_tail(log_path)}")
    return lines


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_healthy(proc: subprocess.Popen, url: str, timeout: float) -> float:
    """Seconds until `url/health` answers 200; raises `RunFailed` if the server dies first."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RunFailed(f"the server exited with {proc.returncode} before it was healthy")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/health", timeout=2) as response,
        ):
            if response.status == 200:
                return time.perf_counter() - start
        time.sleep(0.5)
    raise RunFailed(f"the server was not healthy after {timeout:.0f} s")
