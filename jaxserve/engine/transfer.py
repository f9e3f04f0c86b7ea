"""A step's inputs in one host-to-device copy per dtype.

A step's `StepInput` is a dozen small arrays. Sent leaf by leaf, each pays a transfer's fixed
cost (about 25 us on CPU, more on an accelerator); on a decode step of one sequence, which
takes about 10 ms, that came to 2% of the step. `pack_tree` concatenates the leaves of each
dtype into one buffer on the host, and `unpack_tree`, inside the jitted step, slices them back
out: the slices are free, and the layout is static, so it keys the compiled program.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import numpy as np


@dataclasses.dataclass(frozen=True)
class TreeLayout:
    """Where each leaf of a pytree lies in the per-dtype buffers (hashable: a static argument).

    Attributes:
        treedef: the pytree's structure.
        dtypes: the dtype of each buffer, by name.
        slots: per leaf, (buffer index, offset in elements, shape).
    """

    treedef: Any
    dtypes: tuple[str, ...]
    slots: tuple[tuple[int, int, tuple[int, ...]], ...]


def pack_tree(tree: Any) -> tuple[tuple[np.ndarray, ...], TreeLayout]:
    """`tree`'s host array leaves as one flat buffer per dtype, and the layout to undo it."""
    leaves, treedef = jax.tree.flatten(tree)
    leaves = [np.asarray(leaf) for leaf in leaves]
    dtypes = tuple(sorted({leaf.dtype.name for leaf in leaves}))
    parts: list[list[np.ndarray]] = [[] for _ in dtypes]
    sizes = [0] * len(dtypes)
    slots = []
    for leaf in leaves:
        b = dtypes.index(leaf.dtype.name)
        slots.append((b, sizes[b], leaf.shape))
        parts[b].append(leaf.ravel())
        sizes[b] += leaf.size
    buffers = tuple(np.concatenate(p) for p in parts)
    return buffers, TreeLayout(treedef, dtypes, tuple(slots))


def unpack_tree(buffers: tuple[jax.Array, ...], layout: TreeLayout) -> Any:
    """The pytree `pack_tree` made `buffers` from (inside `jit`, the slices cost nothing)."""
    leaves = [
        buffers[b][offset : offset + math.prod(shape)].reshape(shape)
        for b, offset, shape in layout.slots
    ]
    return jax.tree.unflatten(layout.treedef, leaves)
