"""Rendering a whole Blocks app inside another (`demo.render()` in an open Blocks).

The inner app's blocks join the outer app's tree under the open layout, with new ids from the
outer root; its events join the outer app's event list with their targets, follow-ups and
cancels renumbered, and api names made unique there. The inner app is left empty: its blocks
and events now belong to the outer one (as in Gradio, render it into one app only).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from webui.tree import Block, BlockContext

if TYPE_CHECKING:
    from webui.root import Root


def _readopt(block: Block, root: Root, ids: dict[int, int]) -> None:
    old = block._id
    block._id = None
    block.root = root
    block._id = root._register(block)
    if old is not None:
        ids[old] = block._id
    if isinstance(block, BlockContext):
        for child in block.children:
            _readopt(child, root, ids)


def _unique_against(name: str, taken: set[str]) -> str:
    """`name`, or `name_1`, `name_2`, ... whichever `taken` lacks (Gradio's suffix rule)."""
    candidate, n = name, 0
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    return candidate


def move_into(inner: Root, parent: BlockContext) -> None:
    """Move `inner`'s blocks under `parent` (an open layout of another app) and its events into
    that app."""
    root = parent.root
    assert root is not None  # an open layout always belongs to an app
    ids: dict[int, int] = {inner.id: root.id}  # the inner app's own `load` targets the outer
    for child in inner.children:
        _readopt(child, root, ids)
        parent.children.append(child)
    event_ids: dict[int, int] = {}
    for dependency in inner.dependencies:
        event_ids[dependency.id] = len(root.dependencies) + len(event_ids)
    # As Gradio: a name is made unique against the names the outer app had before the move,
    # so two moved events may end up sharing one (its API info then shows the later).
    taken = {d.api_name for d in root.dependencies}
    for dependency in inner.dependencies:
        moved = dataclasses.replace(
            dependency,
            id=event_ids[dependency.id],
            root=root,
            targets=[(ids[target], event) for target, event in dependency.targets],
            api_name=_unique_against(dependency.api_name, taken),
            trigger_after=None
            if dependency.trigger_after is None
            else event_ids[dependency.trigger_after],
            cancels=[event_ids[c] for c in dependency.cancels],
        )
        root.add_dependency(moved)
    root.startup_hooks.extend(inner.startup_hooks)
    inner.children, inner.dependencies, inner.startup_hooks = [], [], []
    inner.blocks = {inner.id: inner}
