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


@pytest.mark.parametrize("rows", [2, 37])
@pytest.mark.parametrize("codes", [jnp.int8, jnp.float8_e4m3fn], ids=["int8", "fp8"])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_code_weights_multiply_by_their_values(rows, codes, dtype):
    """Quantized experts: rhs holds codes, and each path multiplies by their values."""
    rng = np.random.default_rng(rows)
    lhs = jnp.asarray(rng.normal(size=(rows, 48)), dtype)
    rhs = jnp.asarray(np.clip(rng.normal(size=(8, 48, 40)) * 40, -127, 127).round(), codes)
    group_sizes = jnp.asarray(np.bincount(rng.integers(0, 8, rows), minlength=8), jnp.int32)
    widened = grouped_matmul_reference(lhs, rhs.astype(dtype), group_sizes)
    for fn in (grouped_matmul_cpu, grouped_matmul_reference):
        ours = np.asarray(fn(lhs, rhs, group_sizes), np.float32)
        tol = 1e-5 if dtype == jnp.float32 else 2e-2
        np.testing.assert_allclose(ours, np.asarray(widened, np.float32), rtol=tol, atol=tol * 40)
    with pytest.raises(ValueError, match="int8 / float8_e4m3fn codes"):
        grouped_matmul_cpu(lhs, rhs.astype(jnp.float16), group_sizes)
