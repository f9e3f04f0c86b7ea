"""The CPU grouped matmul (gathered rows for a few, tiled loop for many) against the oracle."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from pallas_kernels.grouped_matmul import grouped_matmul_reference
from pallas_kernels.grouped_matmul.cpu import GATHER_ROWS, grouped_matmul_cpu

pytestmark = pytest.mark.cpu


@pytest.mark.parametrize("rows", [1, GATHER_ROWS, GATHER_ROWS + 1, 37, 130])
@pytest.mark.parametrize("groups", [4, 64])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_matches_the_reference(rows, groups, dtype):
    rng = np.random.default_rng(rows * 100 + groups)
    lhs = jnp.asarray(rng.normal(size=(rows, 48)), dtype)
    rhs = jnp.asarray(rng.normal(size=(groups, 48, 40)), dtype)
    sizes = np.bincount(rng.integers(0, groups, rows), minlength=groups)
    sizes[0] = 0  # an empty first group
    sizes[-1] = max(sizes[-1] - 1, 0)  # and a row or two past the last group
    group_sizes = jnp.asarray(sizes, jnp.int32)
    ours = np.asarray(grouped_matmul_cpu(lhs, rhs, group_sizes), np.float32)
    ref = np.asarray(grouped_matmul_reference(lhs, rhs, group_sizes), np.float32)
    tol = 1e-5 if dtype == jnp.float32 else 2e-2
    np.testing.assert_allclose(ours, ref, rtol=tol, atol=tol * 8)
    past = int(sizes.sum())
    assert np.all(ours[past:] == 0), "rows past the last group are zeros"
