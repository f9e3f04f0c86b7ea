"""The native CPU matmul against float64 numpy: shapes, dtypes, stacked layers, batch invariance."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pallas_kernels.matmul import matmul_reference
from platforms.attention import import_kernel

pytestmark = pytest.mark.cpu  # an XLA FFI target for the CPU only

module, reason, _ = import_kernel("pallas_kernels.matmul.cpu")
if module is None:
    pytest.skip(f"the native matmul kernel is unavailable: {reason}", allow_module_level=True)
matmul_cpu = module.matmul_cpu


def _inputs(m: int, k: int, n: int, dtype, layers: int = 1, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = jnp.asarray(rng.standard_normal((layers, k, n)), dtype)
    return x, w


def _expected(x: np.ndarray, w: jax.Array) -> np.ndarray:
    return x.astype(np.float64) @ np.asarray(w.astype(jnp.float32), np.float64)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize(
    ("m", "k", "n"),
    [
        (1, 576, 192),  # one decoding sequence
        (4, 576, 1536),
        (6, 33, 17),  # the largest "small" M; ragged K and N
        (7, 100, 37),  # the smallest packed M
        (64, 1536, 576),
        (200, 48, 130),  # more rows than a unit takes; N not a multiple of 16
        (3, 5, 3),  # K shorter than one band
        (13, 1, 16),
    ],
)
def test_matches_float64(m, k, n, dtype):
    x, w = _inputs(m, k, n, dtype)
    got = np.asarray(jax.jit(matmul_cpu)(jnp.asarray(x), w[0]))
    np.testing.assert_allclose(got, _expected(x, w[0]), rtol=1e-5, atol=1e-4 * np.sqrt(k))


def test_stacked_weights_are_read_at_the_layer_index():
    x, w = _inputs(5, 64, 48, jnp.bfloat16, layers=3)
    step = jax.jit(matmul_cpu)
    for layer in range(3):
        got = np.asarray(step(jnp.asarray(x), w, jnp.int32(layer)))
        np.testing.assert_allclose(got, _expected(x, w[layer]), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(
        np.asarray(matmul_reference(jnp.asarray(x), w, 2)),
        np.asarray(step(jnp.asarray(x), w, jnp.int32(2))),
        rtol=1e-5,
        atol=1e-4,
    )


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_a_row_is_bitwise_the_same_in_any_batch(dtype):
    """One summation order for every M and thread schedule: decode alone == decode in a batch."""
    x, w = _inputs(64, 1536, 96, dtype, seed=1)
    step = jax.jit(matmul_cpu)
    full = np.asarray(step(jnp.asarray(x), w[0]))
    for rows in (slice(0, 1), slice(3, 7), slice(10, 16), slice(5, 64)):
        np.testing.assert_array_equal(np.asarray(step(jnp.asarray(x[rows]), w[0])), full[rows])
    np.testing.assert_array_equal(np.asarray(step(jnp.asarray(x), w[0])), full)  # run to run


def test_empty_dimensions():
    assert np.asarray(matmul_cpu(jnp.ones((0, 8)), jnp.ones((8, 4)))).shape == (0, 4)
    np.testing.assert_array_equal(np.asarray(matmul_cpu(jnp.ones((3, 0)), jnp.ones((0, 4)))), 0)
    x = jnp.ones((2, 3, 8))  # leading axes are flattened into rows and restored
    assert matmul_cpu(x, jnp.ones((8, 5), jnp.bfloat16)).shape == (2, 3, 5)


def test_bad_inputs_are_clear_errors():
    x = jnp.ones((2, 8))
    with pytest.raises(ValueError, match="x must be float32"):
        matmul_cpu(x.astype(jnp.bfloat16), jnp.ones((8, 4)))
    with pytest.raises(ValueError, match="w must be float32 or bfloat16"):
        matmul_cpu(x, jnp.ones((8, 4), jnp.float16))
    with pytest.raises(ValueError, match=r"expected x\[..., K\] and w\[K, N\]"):
        matmul_cpu(x, jnp.ones((7, 4)))
    with pytest.raises(ValueError, match="with a layer"):
        matmul_cpu(x, jnp.ones((8, 4)), 0)
    with pytest.raises(Exception, match="layer is out of range"):  # checked when it runs
        jax.block_until_ready(jax.jit(matmul_cpu)(x, jnp.ones((3, 8, 4)), jnp.int32(3)))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize(
    ("m", "k", "n"),
    [
        (1, 576, 1000),
        (4, 64, 37),
        (8, 13, 9),
        (20, 40, 50),
        (100, 100, 301),  # K % 8 == 4; a last strip of w of 13 rows
        (300, 576, 1000),  # a prefill's worth of rows; bfloat16 widened per strip
        (5, 0, 7),
    ],
)
def test_transposed_weights(m, k, n, dtype):
    """A tied LM head: w is [N, K], multiplied by the kernel for any number of rows."""
    x, w = _inputs(m, k, n, dtype)
    w_t = jnp.swapaxes(w[0], 0, 1)  # [N, K]
    got = np.asarray(jax.jit(functools.partial(matmul_cpu, transposed=True))(jnp.asarray(x), w_t))
    np.testing.assert_allclose(got, _expected(x, w[0]), rtol=1e-5, atol=1e-4 * np.sqrt(k))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize("k", [100, 576])  # with and without a K % 8 tail
def test_transposed_rows_are_bitwise_the_same_alone_and_in_any_batch(k, dtype):
    """A sequence's logits do not depend on how many others share its step: each row's result,
    computed alone, is bitwise what it is at any place in batches small and large."""
    x, w = _inputs(100, k, 301, dtype, seed=2)
    step = jax.jit(functools.partial(matmul_cpu, transposed=True))
    w_t = jnp.swapaxes(w[0], 0, 1)  # [N, K]
    alone = np.concatenate([np.asarray(step(jnp.asarray(x[i : i + 1]), w_t)) for i in range(100)])
    for batch in (1, 3, 8, 9, 17, 64, 100):
        for start in (0, 100 - batch, (100 - batch) // 3):  # a row lands at different places
            rows = slice(start, start + batch)
            got = np.asarray(step(jnp.asarray(x[rows]), w_t))
            np.testing.assert_array_equal(got, alone[rows], err_msg=f"{batch} rows from {start}")
