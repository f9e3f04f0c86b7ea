#!/usr/bin/env python3
"""Gradio's demo apps run unchanged under webui: how many start, list the same API, answer alike.

usage: gradio_demos.py GRADIO_CHECKOUT [--only NAME ...] [--jobs 1] [--timeout 60]
                       [--corpus ../shared/bench/gradio_demos.json]

GRADIO_CHECKOUT holds `demo/` of gradio-app/gradio at the corpus's `gradio_commit`. Each demo of
the corpus runs as the corpus ran it under Gradio: `python run.py` with the demo's folder as cwd,
`GRADIO_SERVER_PORT` set to a free port, `GRADIO_ANALYTICS_ENABLED=False`, `HF_HUB_OFFLINE=1`,
`MPLBACKEND=Agg`. `import gradio` gives webui through a shim written to a temporary folder first
on PYTHONPATH (a benchmark-side alias, not part of the product); `gradio_client` stays the real
one. Once `/config` answers (after `/login` for the demo recorded with `auth`), the real
gradio_client reads the API info, which is compared with the recorded named endpoints (names, and
each parameter's and return's component), and replays every recorded call (each in a fresh
session, as recorded), comparing answers
with Gradio's as the corpus normalised them (a file output recorded as `{"__file_output__": C}`
matches any value; an embedded FileData `{"__file__": ext, ...}` matches a FileData with that
suffix and those other keys; an int is not a float; `127.0.0.1:PORT` in text matches whatever
the port, since the harness picks it). The demo's process group is then killed.

Prints `PASS name` or `FAIL name: reason` per demo, then totals and a tally of failure reasons
(missing `gr.X` names counted one by one). Exits 0; the figures are the result.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "bench" / "gradio_demos.json"
CALL_TIMEOUT = 20.0  # seconds per recorded call, as when the corpus was recorded

# `import gradio` is webui: the module itself, and its submodules under gradio.* names, so
# `from gradio.themes import Soft` and `gr.themes` are the same objects.
SHIM = '''"""Benchmark shim: `import gradio` gives webui (benchmarks/gradio_demos.py)."""
import sys

import webui

sys.modules[__name__] = webui
for _name, _module in list(sys.modules.items()):
    if _name.startswith("webui."):
        sys.modules["gradio." + _name[len("webui."):]] = _module
'''


@dataclass
class Outcome:
    """One demo's verdict; `reason` is empty when it passed, `note` holds minor API differences."""

    name: str
    started: bool = False
    endpoints_match: bool = False
    reason: str = ""
    missing_names: list[str] = field(default_factory=list)
    note: str = ""
    seconds: float = 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_shim() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="webui-gradio-shim-"))
    (folder / "gradio").mkdir()
    (folder / "gradio" / "__init__.py").write_text(SHIM)
    return folder


def demo_env(shim: Path, port: int) -> dict[str, str]:
    import gradio_client

    client_root = Path(gradio_client.__file__).resolve().parents[1]
    env = dict(os.environ)
    path = [str(client_root), str(shim), str(REPO), env.get("PYTHONPATH", "")]
    env.update(
        PYTHONPATH=os.pathsep.join(p for p in path if p),
        GRADIO_SERVER_PORT=str(port),
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        MPLBACKEND="Agg",
        PYTHONUNBUFFERED="1",
    )
    return env


def exception_line(log: str) -> str:
    """The last `SomeError: message` line of a traceback, else the last line printed."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b", line):
            return line[:300]
    return lines[-1][:300] if lines else "(no output)"


def missing_gr_names(line: str) -> list[str]:
    match = re.search(r"module '(?:webui|gradio)[\w.]*' has no attribute '(\w+)'", line)
    if match:
        return [match.group(1)]
    match = re.search(r"cannot import name '(\w+)' from '(?:webui|gradio)", line)
    if match:
        return [match.group(1)]
    match = re.search(r"No module named '(gradio\.[\w.]+)'", line)
    if match:
        return [match.group(1)]
    match = re.search(r"(\w+)(?:\.__init__)?\(\) got an unexpected keyword argument '(\w+)'", line)
    return [f"{match.group(1)}({match.group(2)}=)"] if match else []


def get_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, ValueError):
        return 0


def wait_until_serving(proc: subprocess.Popen, url: str, log: Path, deadline: float) -> str:
    """'' once /config answers (401 counts, for auth demos); else why it did not start."""
    while time.monotonic() < deadline:
        status = get_status(url + "config")
        if status in (200, 401):
            return ""
        if status >= 500:  # serving, but the app cannot describe itself: it will not recover
            time.sleep(0.5)  # for the server's log of the error to reach the file
            line = exception_line(log.read_text(errors="replace"))
            return f"no start: /config answers {status} ({line})"
        if proc.poll() is not None:
            return f"no start: {exception_line(log.read_text(errors='replace'))}"
        announced = re.search(r"Running on local URL:\s+(\S+)", log.read_text(errors="replace"))
        if announced and urllib.parse.urlsplit(announced.group(1)).port != int(
            urllib.parse.urlsplit(url).port or 0
        ):
            return f"no start: GRADIO_SERVER_PORT ignored (serves at {announced.group(1)})"
        time.sleep(0.25)
    tail = exception_line(log.read_text(errors="replace"))
    return f"no start: no answer from /config in time (last output: {tail})"


def stop(proc: subprocess.Popen) -> None:
    """Ends the demo's process group (the demo was started in a session of its own)."""
    if proc.poll() is None:
        with _suppress():
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            with _suppress():
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, *rest: object) -> bool:
        return kind is not None and issubclass(kind, ProcessLookupError | PermissionError)


def compare_endpoints(recorded: list[dict], info: dict) -> tuple[str, str]:
    """(reason, note): reason names a structural difference, note a minor one (labels...)."""
    named = info.get("named_endpoints", {})
    want = {e["api_name"]: e for e in recorded}
    missing = [name for name in want if name not in named]
    extra = [name for name in named if name not in want]
    if missing or extra:
        return f"endpoints differ: missing {missing[:4]} extra {extra[:4]}", ""
    notes = []
    for api_name, expected in want.items():
        got = named[api_name]
        got_params = [p["component"] for p in got["parameters"]]
        want_params = [p["component"] for p in expected["parameters"]]
        if got_params != want_params:
            return f"endpoints differ: {api_name} parameters {got_params} != {want_params}", ""
        got_returns = [r["component"] for r in got["returns"]]
        want_returns = [r["component"] for r in expected["returns"]]
        if got_returns != want_returns:
            return f"endpoints differ: {api_name} returns {got_returns} != {want_returns}", ""
        for got_p, want_p in zip(got["parameters"], expected["parameters"], strict=True):
            pairs = {
                "name": (got_p.get("parameter_name"), want_p["name"]),
                "label": (got_p.get("label"), want_p["label"]),
                "has_default": (got_p.get("parameter_has_default"), want_p["has_default"]),
                "default": (got_p.get("parameter_default"), want_p["default"]),
            }
            for key, (have, wanted) in pairs.items():
                if isinstance(wanted, dict) and key == "label":
                    continue  # Gradio's translation metadata, not a label to compare
                if not same(have, wanted):
                    notes.append(f"{api_name} {want_p['name']} {key} {have!r} != {wanted!r}")
    return "", "; ".join(notes)[:300]


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


# The loopback address with the port a demo ran on: the recording's port and this run's
# (each a free port the harness picked) are no part of the answer.
LOOPBACK_PORT = re.compile(r"\b(127\.0\.0\.1|localhost):\d+")


def same(got: Any, want: Any) -> bool:
    """Equality as the corpus recorded answers: file placeholders, ints not floats, and
    `127.0.0.1:PORT` in text taken as the demo's address whatever its port."""
    if isinstance(want, dict) and "__file_output__" in want:
        return True
    if isinstance(want, dict) and "__file__" in want:
        if not isinstance(got, dict) or not str(got.get("path") or got.get("url") or "").endswith(
            want["__file__"]
        ):
            return False
        return all(same(got.get(k), v) for k, v in want.items() if k != "__file__")
    if isinstance(want, bool) or isinstance(got, bool):
        return type(got) is type(want) and got == want
    if isinstance(want, float) and isinstance(got, float):
        return math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9) or got == want
    if isinstance(want, int | float) or isinstance(got, int | float):
        return type(got) is type(want) and got == want
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(same(got[k], want[k]) for k in want)
        )
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(same(g, w) for g, w in zip(got, want, strict=True))
        )
    if isinstance(want, str) and isinstance(got, str):
        return LOOPBACK_PORT.sub(r"\1:PORT", got) == LOOPBACK_PORT.sub(r"\1:PORT", want)
    return got == want


def replay(connect: Callable[[], Any], calls: list[dict]) -> str:
    """'' when every recorded call answers as Gradio did; else the first difference.

    Each call runs from a fresh Client (a session of its own), as the corpus recorded it: an
    earlier call must not change the State a later one reads (simple_state's /lambda reads the
    cart that /add_items would otherwise have filled)."""
    for call in calls:
        client = connect()
        try:
            job = client.submit(*call["args"], api_name=call["api_name"])
            try:
                result = jsonable(job.result(timeout=CALL_TIMEOUT))
            except cf.TimeoutError:
                return f"answer differs: {call['api_name']} timed out after {CALL_TIMEOUT:.0f} s"
            except Exception as error:  # the client raises whatever the app raised, as AppError
                line = str(error).splitlines()[0] if str(error) else ""
                reason = f"answer differs: {call['api_name']} raised {type(error).__name__}: {line}"
                return reason[:300]
        finally:
            client.close()
        if not same(result, call["result"]):
            got, want = json.dumps(result)[:120], json.dumps(call["result"])[:120]
            return f"answer differs: {call['api_name']} gave {got}, Gradio {want}"
    return ""


def check_served(demo: dict, url: str) -> tuple[str, bool, str]:
    """(reason, endpoints_match, note) of a serving demo, through the real gradio_client."""
    from gradio_client import Client

    auth = tuple(demo["auth"]) if demo.get("auth") else None

    def connect() -> Any:
        return Client(url, verbose=False, auth=auth, analytics_enabled=False)

    try:
        client = connect()
    except Exception as error:
        return f"endpoints differ: gradio_client could not connect: {error!s:.200}", False, ""
    try:
        info = client.view_api(print_info=False, return_format="dict")
        reason, note = compare_endpoints(demo["endpoints"], info)
        if reason:
            return reason, False, note
        return replay(connect, demo["calls"]), True, note
    finally:
        client.close()


def run_demo(demo: dict, checkout: Path, shim: Path, timeout: float) -> Outcome:
    outcome = Outcome(demo["name"])
    began = time.monotonic()
    folder = checkout / "demo" / demo["name"]
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.NamedTemporaryFile("w+b", suffix=".log", delete=False) as log_file:
        log = Path(log_file.name)
        proc = subprocess.Popen(
            [sys.executable, "run.py"],
            cwd=folder,
            env=demo_env(shim, port),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        reason = wait_until_serving(proc, url, log, began + timeout)
        if reason:
            outcome.reason = reason
            outcome.missing_names = missing_gr_names(reason)
            return outcome
        outcome.started = True
        result: list[tuple[str, bool, str]] = []
        worker = threading.Thread(
            target=lambda: result.append(check_served(demo, url)), daemon=True
        )
        worker.start()
        worker.join(
            max(10.0, began + timeout - time.monotonic()) + CALL_TIMEOUT * len(demo["calls"])
        )
        if not result:
            outcome.reason = "answer differs: no verdict in time (client hung)"
            return outcome
        outcome.reason, outcome.endpoints_match, outcome.note = result[0]
        return outcome
    except Exception as error:
        outcome.reason = f"answer differs: {type(error).__name__}: {error!s:.200}"
        return outcome
    finally:
        stop(proc)
        log.unlink(missing_ok=True)
        outcome.seconds = time.monotonic() - began


def category(reason: str) -> str:
    """A reason without its specifics, for the tally."""
    if reason.startswith("no start:"):
        names = missing_gr_names(reason)
        if names and "(" in names[0]:
            return "no start: unsupported keyword argument (counted below)"
        if names:
            return "no start: missing gr name or gradio module (counted below)"
        line = reason.removeprefix("no start: ")
        line = re.sub(r"(?<!\w)(/[\w.-]+)+|\(serves at \S+\)|\(last output: .*", "…", line)
        return "no start: " + line[:110]
    if reason.startswith("endpoints differ:"):
        if "missing" in reason:
            return "endpoints differ: missing/extra endpoint names"
        match = re.search(r"(parameters|returns) (\[.*?\]) != (\[.*?\])", reason)
        return (
            f"endpoints differ: {match.group(1)} {match.group(2)} != {match.group(3)}"[:120]
            if match
            else reason[:90]
        )
    match = re.search(r"raised (\w+)", reason)
    if match:
        return f"answer differs: raised {match.group(1)}"
    return "answer differs: " + ("timeout" if "timed out" in reason else "value")


def _has_module(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def lacking_names(outcomes: list[Outcome], checkout: Path) -> collections.Counter[str]:
    """For demos that did not start: each `gr.X` their source uses that webui lacks, counted
    once per demo (a static scan, so it sees every missing name, not only the first to fail)."""
    import webui

    counts: collections.Counter[str] = collections.Counter()
    for outcome in outcomes:
        if outcome.started:
            continue
        source = "\n".join(
            path.read_text(errors="replace")
            for path in (checkout / "demo" / outcome.name).glob("*.py")
        )
        used = set(re.findall(r"\bgr\.([A-Za-z_]\w*)", source))
        counts.update(name for name in used if not hasattr(webui, name))
        modules = set(re.findall(r"^\s*(?:from|import) gradio\.([\w.]+)", source, re.MULTILINE))
        counts.update(f"gradio.{m}" for m in modules if not _has_module(f"webui.{m}"))
    return counts


def summarise(outcomes: list[Outcome], corpus_size: int, checkout: Path) -> None:
    started = sum(o.started for o in outcomes)
    matched = sum(not o.reason for o in outcomes)
    endpoints = sum(o.endpoints_match for o in outcomes)
    print()
    print(f"demos run: {len(outcomes)} of {corpus_size} in the corpus")
    print(f"started: {started} ({100 * started / corpus_size:.1f}% of corpus)")
    print(f"endpoints match: {endpoints} ({100 * endpoints / corpus_size:.1f}% of corpus)")
    print(f"matched (PASS): {matched} ({100 * matched / corpus_size:.1f}% of corpus)")
    print(
        f"minor API differences among matched (labels, defaults): "
        f"{sum(bool(o.note) for o in outcomes if not o.reason)}"
    )
    reasons = collections.Counter(category(o.reason) for o in outcomes if o.reason)
    print("\nfailure reasons:")
    for reason, count in reasons.most_common(25):
        print(f"  {count:4d}  {reason}")
    names = collections.Counter(n for o in outcomes for n in o.missing_names)
    if names:
        print("\nmissing gr names and keyword arguments (demos failing on each):")
        for name, count in names.most_common(40):
            print(f"  {count:4d}  {name}")
    lacking = lacking_names(outcomes, checkout)
    if lacking:
        print("\ngr names webui lacks, by demos not started that use them (static scan):")
        for name, count in lacking.most_common(50):
            print(f"  {count:4d}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="gradio-app/gradio at the corpus commit")
    parser.add_argument("--only", nargs="+", default=None, metavar="NAME")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to start")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--notes", action="store_true", help="print minor API differences")
    args = parser.parse_args()
    corpus = json.loads(args.corpus.read_text())
    demos = [d for d in corpus["demos"] if d["starts"]]
    if args.only:
        unknown = sorted(set(args.only) - {d["name"] for d in demos})
        if unknown:
            parser.error(f"not in the corpus: {', '.join(unknown)}")
        demos = [d for d in demos if d["name"] in args.only]
    if not (args.checkout / "demo").is_dir():
        parser.error(f"{args.checkout}/demo is not a folder: fetch gradio-app/gradio there")
    shim = write_shim()
    print(
        f"corpus: gradio {corpus['gradio_version']} at {corpus['gradio_commit'][:12]}, "
        f"{len(demos)} demos, {args.jobs} at a time",
        flush=True,
    )
    outcomes = []
    with cf.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_demo, d, args.checkout, shim, args.timeout) for d in demos]
        for future in cf.as_completed(futures):
            outcome = future.result()
            outcomes.append(outcome)
            verdict = (
                f"FAIL {outcome.name}: {outcome.reason}"
                if outcome.reason
                else f"PASS {outcome.name}"
            )
            if args.notes and outcome.note:
                verdict += f"  [note: {outcome.note}]"
            print(f"{verdict}  ({outcome.seconds:.1f} s)", flush=True)
    summarise(outcomes, len(corpus["demos"]), args.checkout)


if __name__ == "__main__":
    main()
