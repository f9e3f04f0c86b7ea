"""Streaming diffs: the edit list that turns one generator output into the next (sse_v2+)."""

from __future__ import annotations

from typing import Any

Edit = list[Any]  # [action, path, value], action in replace | append | add | delete


def diff(old: Any, new: Any, path: list[Any] | None = None) -> list[Edit]:
    """Edits that gradio_client's `apply_diff` applies to `old` to get `new`.

    Strings that grow by a suffix become one `append`, which is what keeps streamed LLM text
    O(tokens) on the wire instead of O(tokens^2).
    """
    path = path or []
    if type(old) is not type(new):
        return [["replace", path, new]]
    if isinstance(old, str):
        if old == new:
            return []
        if new.startswith(old):
            return [["append", path, new[len(old) :]]]
        return [["replace", path, new]]
    if isinstance(old, list):
        edits: list[Edit] = []
        for i in range(min(len(old), len(new))):
            edits += diff(old[i], new[i], [*path, i])
        for i in range(len(old), len(new)):
            edits.append(["add", [*path, i], new[i]])
        for i in reversed(range(len(new), len(old))):
            edits.append(["delete", [*path, i], None])
        return edits
    if isinstance(old, dict):
        edits = []
        for key in old:
            if key in new:
                edits += diff(old[key], new[key], [*path, key])
            else:
                edits.append(["delete", [*path, key], None])
        for key in new:
            if key not in old:
                edits.append(["add", [*path, key], new[key]])
        return edits
    return [] if old == new else [["replace", path, new]]
