"""The front's `/metrics`: every replica's Prometheus text in one exposition, by replica label.

Each replica renders the same families (`jaxserve:...`), so their `# HELP` and `# TYPE` lines
are kept once and every sample gains a `replica="i"` label; a dashboard sums over it. The front
adds its own gauges: replicas up, and requests in flight per replica.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?(\s.*)$")


def _labelled(line: str, replica: int) -> str:
    match = _SAMPLE.match(line)
    if match is None:
        return line
    name, labels, rest = match.groups()
    inner = labels[1:-1] if labels else ""
    inner = f'replica="{replica}",{inner}' if inner else f'replica="{replica}"'
    return f"{name}{{{inner}}}{rest}"


def merge_expositions(texts: Sequence[str | None]) -> str:
    """One Prometheus text from replica i's `texts[i]` (None: the replica did not answer)."""
    families: dict[str, list[str]] = {}  # family -> its HELP/TYPE lines, then samples
    family = ""
    for replica, text in enumerate(texts):
        if text is None:
            continue
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("#"):
                parts = line.split(maxsplit=3)
                if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                    family = parts[2]
                    header = families.setdefault(family, [])
                    if line not in header:
                        header.append(line)
                continue
            families.setdefault(family, []).append(_labelled(line, replica))
    headers_first = (
        sorted(lines, key=lambda line: not line.startswith("#")) for lines in families.values()
    )
    return "".join(line + "\n" for lines in headers_first for line in lines)


def front_lines(up: Sequence[bool], in_flight: Sequence[int]) -> str:
    """The front's own gauges: `jaxserve:replicas_up` and in-flight requests per replica."""
    lines = [
        "# HELP jaxserve:replicas_up Replicas serving now (the others are restarting).",
        "# TYPE jaxserve:replicas_up gauge",
        f"jaxserve:replicas_up {sum(up)}",
        "# HELP jaxserve:replica_requests_in_flight Requests the front has sent to a replica "
        "and not yet finished.",
        "# TYPE jaxserve:replica_requests_in_flight gauge",
    ]
    lines += [
        f'jaxserve:replica_requests_in_flight{{replica="{i}"}} {n}' for i, n in enumerate(in_flight)
    ]
    return "".join(line + "\n" for line in lines)
