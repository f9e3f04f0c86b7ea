"""The host side of `vs_anchors.py`: CPU model and flags, other busy processes, known figures.

The anchors' figures depend on the CPU more than jaxserve's do (vLLM-CPU's bf16 path needs
`avx512_bf16`), so every run states the CPU first and checks each anchor's figure against
what that kind of CPU gave before; a far lower figure means the anchor is not at its best
here and a ratio against it flatters jaxserve.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
import subprocess
import time
from pathlib import Path

FLAGS_OF_INTEREST = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx512_fp16")
# An anchor below this share of its known low figure (or above high / this, for latency) is
# flagged: run-to-run drift on these hosts stays well inside it.
SANITY_FRACTION = 0.6
README = "shared/bench/README.md"


@dataclasses.dataclass(frozen=True)
class Host:
    model_name: str
    flags: frozenset[str]
    cpus: int

    @property
    def kind(self) -> str:
        """The CPU kinds the known figures were measured on: AVX-512 BF16, or AVX2 only."""
        if "avx512_bf16" in self.flags:
            return "avx512_bf16"
        return "avx2" if "avx2" in self.flags else "other"


@dataclasses.dataclass(frozen=True)
class Known:
    """An anchor's figure measured before on one kind of CPU, at the reference sizes."""

    engine: str  # vllm | llamacpp
    workload: str  # offline | single | server16 | server1
    metric: str  # a key of the RESULT line
    low: float
    high: float
    higher_is_better: bool
    cpu_kind: str
    source: str


KNOWN = (
    Known("vllm", "offline", "out_tok_s", 236, 280, True, "avx512_bf16",
          f"{README}, 2026-11-27 (236-265) and 2026-12-04 (277-280), Zen 4, 2 cores"),
    Known("vllm", "offline", "out_tok_s", 17, 18, True, "avx2",
          f"{README}: AVX2-only EPYC, vLLM's bf16 oneDNN matmul fails to build (fallback path)"),
    Known("llamacpp", "offline", "out_tok_s", 206, 245, True, "avx512_bf16",
          f"{README}, 2026-12-04 (206-211) and 2026-11-27 (245), f16 batched, 2 cores"),
    Known("llamacpp", "single", "tpot_ms", 10.1, 12.2, False, "avx512_bf16",
          f"{README}, 2026-11-27 (10.1-10.5) and 2026-12-04 (12.0-12.2), in-process"),
    Known("vllm", "server16", "out_tok_s", 219.8, 219.8, True, "avx512_bf16",
          f"{README}, 2026-12-04, 64 requests at 16 concurrent"),
    Known("vllm", "server1", "tpot_p50_ms", 29.2, 29.2, False, "avx512_bf16",
          f"{README}, 2026-12-04, 1 concurrent"),
)  # fmt: skip

LIKELY_CAUSES = {
    "vllm": "no avx512_bf16 (vLLM's oneDNN bf16 matmul needs it, else a path 10-15x slower); "
    "thread binding (VLLM_CPU_OMP_THREADS_BIND, cores shared); another process on the machine",
    "llamacpp": "llama.cpp built without the host's AVX-512 (see the line 'llama.cpp "
    "system_info'); --threads not the core count; another process on the machine",
}


def _lscpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        out = Path("/proc/cpuinfo").read_text()
    match = re.search(r"^(?:Model name|model name)\s*:\s*(.+)$", out, re.MULTILINE)
    return match.group(1).strip() if match else "unknown"


def detect_host() -> Host:
    text = Path("/proc/cpuinfo").read_text()
    match = re.search(r"^flags\s*:\s*(.+)$", text, re.MULTILINE)
    flags = frozenset(match.group(1).split()) if match else frozenset()
    return Host(_lscpu_model(), flags, os.cpu_count() or 1)


def host_lines(host: Host) -> list[str]:
    """What every run prints first: date, CPU model, the flags the engines' speed hinges on."""
    marks = ", ".join(f"{f} {'yes' if f in host.flags else 'no'}" for f in FLAGS_OF_INTEREST)
    amx = ", ".join(sorted(f for f in host.flags if f.startswith("amx"))) or "none"
    mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    gib = f"{int(mem.group(1)) / 2**20:.1f} GiB" if mem else "unknown"
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return [
        f"HOST date={now}",
        f"HOST cpu_model={host.model_name!r} cpus={host.cpus} memory={gib} kind={host.kind}",
        f"HOST flags: {marks}, amx: {amx}",
        f"HOST load_average={' '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]


def llamacpp_system_info(python: str) -> str:
    """The CPU features llama.cpp was built with (AVX512, AVX512_BF16 ...), as it reports them."""
    code = "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unknown ({error})"
    return out.stdout.strip() or f"unknown ({out.stderr.strip()[-300:]})"


def _cpu_ticks() -> dict[int, tuple[str, int]]:
    ticks = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # the process ended
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        ticks[int(stat.parent.name)] = (name, int(fields[11]) + int(fields[12]))
    return ticks


def busy_processes(seconds: float = 1.0, threshold: float = 0.2) -> list[tuple[int, str, float]]:
    """Processes that used over `threshold` of a core in the last `seconds`, busiest first."""
    before = _cpu_ticks()
    time.sleep(seconds)
    after = _cpu_ticks()
    hz = os.sysconf("SC_CLK_TCK")
    busy = []
    for pid, (name, ticks) in after.items():
        if pid == os.getpid() or pid not in before:
            continue
        share = (ticks - before[pid][1]) / hz / seconds
        if share > threshold:
            busy.append((pid, name, share))
    return sorted(busy, key=lambda item: -item[2])


def _cpu_times() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_warnings(host: Host, when: str, seconds: float = 2.0) -> list[str]:
    """WARNING lines if the machine is not idle now; the engines must run alone on it.

    Measured over `seconds` (all CPUs, then per process), not from the load average: that
    trails by a minute and would blame the previous engine of this very run.
    """
    lines = []
    busy0, total0 = _cpu_times()
    busy = busy_processes(seconds)
    busy1, total1 = _cpu_times()
    share = (busy1 - busy0) / max(1, total1 - total0)
    if share > 0.25:
        lines.append(
            f"WARNING the CPUs were {share:.0%} busy {when}: other work is running, figures "
            "will be low and noisy"
        )
    if busy:
        top = ", ".join(f"pid {pid} {name} {share:.0%} of a core" for pid, name, share in busy[:4])
        lines.append(f"WARNING busy processes {when}: {top}")
    return lines


def sanity_warnings(host: Host, workload: str, engine: str, result: dict) -> list[str]:
    """WARNING lines for an anchor far off what it gave before on this kind of CPU."""
    lines = []
    for known in KNOWN:
        if (known.engine, known.workload, known.cpu_kind) != (engine, workload, host.kind):
            continue
        value = result.get(known.metric)
        if not isinstance(value, float):
            continue
        far = (
            value < known.low * SANITY_FRACTION
            if known.higher_is_better
            else value > known.high / SANITY_FRACTION
        )
        expected = f"{known.low:g}" if known.low == known.high else f"{known.low:g}-{known.high:g}"
        if far:
            lines.append(
                f"WARNING anchor {engine} {workload} {known.metric}={value:g}, expected "
                f"{expected} on {host.kind} hosts ({known.source}); likely causes: "
                f"{LIKELY_CAUSES[engine]}. Find out why before quoting a ratio against it."
            )
        elif engine == "vllm" and host.kind == "avx2":
            lines.append(
                f"NOTE vllm {workload} {known.metric}={value:g} is its AVX2-only fallback path "
                f"(expected {expected}); a ratio against it overstates jaxserve"
            )
    return lines
