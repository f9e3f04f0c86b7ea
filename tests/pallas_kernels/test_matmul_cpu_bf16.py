"""The bfloat16 CPU matmul against float64 numpy on the same rounded inputs: shapes, stacked
layers, a tied LM head packed from the embeddings, reading columns back from the packing,
batch invariance and errors. Skipped, saying why, on a CPU without AVX512_BF16."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from platforms.attention import import_kernel

pytestmark = pytest.mark.cpu  # an XLA FFI target for the CPU only

module, reason, _ = import_kernel("pallas_kernels.matmul.cpu_bf16")
if module is None:
    pytest.skip(f"the bfloat16 matmul kernel is unavailable: {reason}", allow_module_level=True)
KERNEL = module.KERNEL


def matmul_bf16_cpu(x, w, layer=None, *, transposed=False):
    """The kernel on weights as loaded: packs them (in the trace, when jitted) first."""
    return KERNEL(x, KERNEL.pack(w, transposed=transposed), layer)


def _inputs(m: int, k: int, n: int, layers: int = 1, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((m, k)).astype(np.float32)
    w = jnp.asarray(rng.standard_normal((layers, k, n)), jnp.bfloat16)
    return x, w


def _expected(x: np.ndarray, w: jax.Array) -> np.ndarray:
    """x rounded to bfloat16 as the kernel rounds it, then an exact product."""
    rounded = np.asarray(jnp.asarray(x).astype(jnp.bfloat16).astype(jnp.float32), np.float64)
    return rounded @ np.asarray(w.astype(jnp.float32), np.float64)


def _tolerance(k: int) -> dict:
    return dict(rtol=1e-5, atol=2e-5 * np.sqrt(max(k, 1)))  # float32 sums of k products


SHAPES = [
    (1, 576, 192),  # one decoding sequence
    (4, 576, 1536),
    (12, 33, 17),  # one full register tile; odd K (a zero-padded pair) and ragged N
    (13, 100, 37),  # a tile and one row
    (64, 1536, 576),
    (300, 48, 130),  # more rows than a unit takes; N not a multiple of 32
    (3, 5, 3),  # K shorter than a vector
    (13, 1, 16),
]


@pytest.mark.parametrize(("m", "k", "n"), SHAPES)
def test_matches_float64_on_the_rounded_inputs(m, k, n):
    x, w = _inputs(m, k, n, layers=3)
    got = np.asarray(jax.jit(matmul_bf16_cpu)(jnp.asarray(x), w, jnp.int32(2)))
    np.testing.assert_allclose(got, _expected(x, w[2]), **_tolerance(k))


def test_rounds_x_to_nearest_even_and_keeps_float32_sums():
    """x = 1 + 2^-8 lies halfway between two bfloat16 numbers: it rounds to 1 (even), while
    1 + 3 * 2^-8 rounds up to 1 + 2^-6; the sum of 300 such products is exact in float32."""
    x = jnp.full((1, 300), 1 + 2**-8, jnp.float32).at[0, 1::2].set(1 + 3 * 2**-8)
    w = jnp.ones((300, 1), jnp.bfloat16)
    got = float(matmul_bf16_cpu(x, w)[0, 0])
    assert got == 150 * 1.0 + 150 * (1 + 2**-6)


@pytest.mark.parametrize(
    ("m", "k", "n"),
    [(1, 576, 1000), (4, 64, 37), (8, 13, 9), (100, 100, 301), (300, 576, 1000), (5, 0, 7)],
)
def test_transposed_weights(m, k, n):
    """A tied LM head: w is [N, K] (the embeddings), any number of rows, K tails masked."""
    x, w = _inputs(m, k, n)
    w_t = jnp.swapaxes(w[0], 0, 1)  # [N, K]
    step = jax.jit(functools.partial(matmul_bf16_cpu, transposed=True))
    got = np.asarray(step(jnp.asarray(x), w_t))
    np.testing.assert_allclose(got, _expected(x, w[0]), **_tolerance(k))


@pytest.mark.parametrize("transposed", [False, True])
def test_a_row_is_bitwise_the_same_alone_and_in_any_batch(transposed):
    """Each row's result does not depend on the rows beside it: alone, in a register tile of
    any height, or among hundreds split over units and threads."""
    x, w = _inputs(260, 100, 301, seed=2)
    w = jnp.swapaxes(w[0], 0, 1) if transposed else w[0]
    step = jax.jit(functools.partial(matmul_bf16_cpu, transposed=transposed))
    alone = np.concatenate([np.asarray(step(jnp.asarray(x[i : i + 1]), w)) for i in range(260)])
    for batch in (2, 11, 12, 13, 64, 241, 260):
        for start in (0, 260 - batch, (260 - batch) // 3):
            rows = slice(start, start + batch)
            got = np.asarray(step(jnp.asarray(x[rows]), w))
            np.testing.assert_array_equal(got, alone[rows], err_msg=f"{batch} rows from {start}")


def test_empty_shapes():
    assert np.asarray(matmul_bf16_cpu(jnp.ones((0, 8)), jnp.ones((8, 4), jnp.bfloat16))).shape == (
        0,
        4,
    )
    zeros = matmul_bf16_cpu(jnp.ones((3, 0)), jnp.ones((0, 4), jnp.bfloat16))
    np.testing.assert_array_equal(np.asarray(zeros), 0)
    leading = matmul_bf16_cpu(jnp.ones((2, 3, 8)), jnp.ones((8, 5), jnp.bfloat16))
    assert leading.shape == (2, 3, 5)


@pytest.mark.parametrize(("k", "n"), [(576, 1000), (33, 17), (1, 64), (64, 1)])
def test_columns_read_back_from_the_packing(k, n):
    """A tied model keeps only the packed head: its embedding rows come back exactly."""
    _, w = _inputs(1, k, n)
    packed = KERNEL.pack(w[0])
    assert packed.shape == (k, n)
    ids = jnp.asarray([0, n - 1, n // 2, 0], jnp.int32)
    got = jax.jit(KERNEL.columns)(packed, ids)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(jnp.swapaxes(w[0], 0, 1)[ids]))


def test_refuses_what_it_does_not_compute():
    x = jnp.ones((2, 8))
    packed = KERNEL.pack(jnp.ones((8, 4), jnp.bfloat16))
    with pytest.raises(ValueError, match="x must be float32"):
        KERNEL(x.astype(jnp.bfloat16), packed)
    with pytest.raises(ValueError, match="w must be a PackedMatrix"):
        KERNEL(x, jnp.ones((8, 4), jnp.bfloat16))
    with pytest.raises(ValueError, match=r"expected x\[..., 7\]"):
        KERNEL(x, KERNEL.pack(jnp.ones((7, 4), jnp.bfloat16)))
    with pytest.raises(ValueError, match="orientation is fixed"):
        KERNEL(x, packed, transposed=True)
    with pytest.raises(ValueError, match="stacked w with a layer"):
        KERNEL(x, packed, 0)
    with pytest.raises(ValueError, match="unstacked w without one"):
        KERNEL(x, KERNEL.pack(jnp.ones((3, 8, 4), jnp.bfloat16)))
    with pytest.raises(Exception, match="layer is out of range"):
        stacked = KERNEL.pack(jnp.ones((3, 8, 4), jnp.bfloat16))
        jax.block_until_ready(jax.jit(KERNEL.__call__)(x, stacked, jnp.int32(3)))
