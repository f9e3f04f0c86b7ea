"""A step's inputs packed into one buffer per dtype and sliced back out inside jit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxserve.engine.transfer import pack_tree, unpack_tree


def _tree(rows: int):
    return {
        "ids": np.arange(rows * 3, dtype=np.int32).reshape(rows, 3),
        "absent": None,
        "rows": (np.linspace(0, 1, rows, dtype=np.float32), np.zeros((0,), np.int32)),
        "seeds": np.array([7, 2**32 - 1], np.uint32),
    }


def test_round_trip_inside_jit_keeps_values_shapes_and_dtypes():
    tree = _tree(4)
    buffers, layout = pack_tree(tree)
    assert len(buffers) == 3 and layout.dtypes == ("float32", "int32", "uint32")
    got = jax.jit(unpack_tree, static_argnums=1)(tuple(map(jnp.asarray, buffers)), layout)
    assert jax.tree.structure(got) == jax.tree.structure(tree)
    for want, have in zip(jax.tree.leaves(tree), jax.tree.leaves(got), strict=True):
        assert have.dtype == want.dtype and have.shape == want.shape
        np.testing.assert_array_equal(np.asarray(have), want)


def test_the_layout_keys_a_program_by_shapes_not_values():
    _, first = pack_tree(_tree(4))
    again = _tree(4)
    again["ids"] = again["ids"] + 100
    _, same = pack_tree(again)
    _, other = pack_tree(_tree(5))
    assert first == same and hash(first) == hash(same)
    assert first != other
