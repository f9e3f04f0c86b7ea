"""The weight-only int8 CPU matmul against `matmul_reference` on the same `QuantizedMatrix`:
shapes, stacked layers, float32 and bfloat16 x, float32, bfloat16 and int16 products, batch
invariance and errors; int16 products also against float64 on long K, rows of any magnitude
and the bound of their int32 sums. Skipped, saying why, on a CPU without AVX512F and AVX512BW
(bfloat16 products: without AVX512_BF16; int16 products: without AVX512_VNNI)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pallas_kernels import native
from pallas_kernels.matmul import QuantizedMatrix, matmul_reference, quantize_int8
from platforms.attention import import_kernel

pytestmark = pytest.mark.cpu  # an XLA FFI target for the CPU only

module, reason, _ = import_kernel("pallas_kernels.matmul.cpu_int8")
if module is None:
    pytest.skip(f"the int8 matmul kernel is unavailable: {reason}", allow_module_level=True)
pack, matmul_int8_cpu, quantize_rows_int16 = (
    module.pack,
    module.matmul_int8_cpu,
    module.quantize_rows_int16,
)

BF16 = pytest.param(
    jnp.bfloat16,
    marks=pytest.mark.skipif(
        "avx512_bf16" not in native.cpu_flags(), reason="bfloat16 products need avx512_bf16"
    ),
)
INT16 = pytest.param(
    jnp.int16,
    marks=pytest.mark.skipif(
        "avx512_vnni" not in native.cpu_flags(), reason="int16 products need avx512_vnni"
    ),
)
PRODUCTS = [jnp.float32, BF16, INT16]


def _inputs(m: int, k: int, n: int, layers: int | None = None, seed: int = 0):
    """(x f32[m, k], the int8 rounding of a weight [layers, k, n] or [k, n])."""
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.standard_normal((m, k)), jnp.float32)
    lead = () if layers is None else (layers,)
    return x, quantize_int8(jnp.asarray(rng.standard_normal((*lead, k, n)), jnp.float32))


def _as_multiplied(x, products) -> jax.Array:
    """x as the kernel multiplies it: rounded to bfloat16, or quantized to int16 per row."""
    if jnp.dtype(products) == jnp.int16:
        x_q, s = quantize_rows_int16(x)
        return x_q.astype(jnp.float32) * s[..., None]
    return x.astype(products).astype(jnp.float32)


def _assert_close(got, x, qm: QuantizedMatrix, layer=None, products=jnp.float32) -> None:
    """`got` is `matmul_reference`'s float32 result (on x as the products take it) within 1e-5
    of the sum of the absolute products: the scale of the rounding error of either float32
    sum, however they cancel."""
    x = _as_multiplied(x, products)
    want = np.asarray(matmul_reference(x, qm, layer), np.float64)
    q, scale = (qm.q, qm.scale) if layer is None else (qm.q[layer], qm.scale[layer])
    magnitude = np.abs(np.asarray(x, np.float64)) @ np.abs(np.asarray(q, np.float64))
    bound = 1e-5 * magnitude * np.asarray(scale, np.float64) + 1e-30
    excess = np.abs(np.asarray(got, np.float64) - want) / bound
    assert excess.max(initial=0) <= 1, f"{excess.max()} times the tolerance"


@functools.partial(jax.jit, static_argnames="products")
def _run(x, w, layer=None, products=jnp.float32):
    return matmul_int8_cpu(x, w, layer, products=products)


SHAPES = [
    (1, 576, 192),  # one decoding sequence
    (1, 100, 70),  # one row, a ragged last panel after whole tiles of 4 panels
    (3, 33, 17),  # K and N not multiples of 32
    (16, 1536, 576),  # a decode step of 16: two tiles of 8 rows
    (64, 77, 130),
    (13, 5, 3),  # K shorter than a vector
]


@pytest.mark.parametrize("products", PRODUCTS)
@pytest.mark.parametrize(("m", "k", "n"), SHAPES)
def test_matches_the_reference_on_stacked_weights(m, k, n, products):
    x, qm = _inputs(m, k, n, layers=3)
    got = np.asarray(_run(x, pack(qm), jnp.int32(2), products=products))
    assert got.dtype == np.float32 and got.shape == (m, n)
    _assert_close(got, x, qm, 2, products)


@pytest.mark.parametrize("products", PRODUCTS)
@pytest.mark.parametrize(("m", "k", "n"), [(1, 64, 40), (4, 101, 33), (64, 200, 96)])
def test_unstacked_weights_and_leading_axes(m, k, n, products):
    x, qm = _inputs(m, k, n)
    got = _run(x, pack(qm), products=products)
    _assert_close(got, x, qm, products=products)
    split = _run(x.reshape(1, m, k), pack(qm), products=products)
    assert split.shape == (1, m, n)
    np.testing.assert_array_equal(np.asarray(split)[0], np.asarray(got))


@pytest.mark.parametrize("products", PRODUCTS)
@pytest.mark.parametrize(("m", "k", "n"), [(1, 576, 192), (3, 33, 17), (16, 100, 70)])
def test_bfloat16_x_is_widened_exactly(m, k, n, products):
    """bfloat16 x gives the float32 result of the same values, and the bfloat16 reference
    (which rounds its result to bfloat16) within a bfloat16 rounding."""
    x, qm = _inputs(m, k, n, layers=2, seed=1)
    xb = x.astype(jnp.bfloat16)
    w = pack(qm)
    got = np.asarray(_run(xb, w, jnp.int32(1), products=products))
    widened = np.asarray(_run(xb.astype(jnp.float32), w, jnp.int32(1), products=products))
    np.testing.assert_array_equal(got, widened)
    want = np.asarray(matmul_reference(xb, qm, 1).astype(jnp.float32))
    np.testing.assert_allclose(got, want, rtol=2**-8, atol=1e-2)


@pytest.mark.parametrize("products", PRODUCTS[:2])
def test_exact_on_integers_and_scales_each_column(products):
    """Small integers multiply exactly: the result is the integer product times the scale."""
    rng = np.random.default_rng(3)
    q = rng.integers(-127, 128, (40, 37)).astype(np.int8)
    scale = rng.uniform(0.5, 2.0, 37).astype(np.float32)
    x = rng.integers(-8, 9, (2, 40)).astype(np.float32)
    got = np.asarray(_run(jnp.asarray(x), pack(QuantizedMatrix(q, scale)), products=products))
    exact = (x.astype(np.int64) @ q.astype(np.int64)).astype(np.float32) * scale
    np.testing.assert_array_equal(got, exact)


@pytest.mark.parametrize("products", PRODUCTS)
def test_a_row_is_bitwise_the_same_alone_and_in_any_batch(products):
    """Each row's result does not depend on the rows beside it: alone, in a register tile of
    any height and panel width, or among hundreds split over units and threads."""
    x, qm = _inputs(260, 100, 301, seed=2)
    w = pack(qm)
    step = functools.partial(_run, products=products)
    alone = np.concatenate([np.asarray(step(x[i : i + 1], w)) for i in range(0, 260, 7)])
    for batch in (2, 3, 5, 7, 12, 13, 16, 64, 260):
        got = np.asarray(step(x[:batch], w))
        np.testing.assert_array_equal(got[::7], alone[: -(-batch // 7)], err_msg=f"{batch} rows")


@pytest.mark.parametrize("products", PRODUCTS)
def test_trailing_copies_of_the_last_row_give_its_result(products):
    """A decode step's padding rows (copies of one row, computed once) get that row's result,
    bitwise; distinct rows before them, and a copy that is not trailing, are computed."""
    x, qm = _inputs(6, 300, 70, seed=8)
    x = x.at[3:].set(x[2]).at[0].set(x[2])  # rows 0, 2, 3, 4, 5 alike; 2..5 trailing
    w = pack(qm)
    got = np.asarray(_run(x, w, products=products))
    alone = np.concatenate([np.asarray(_run(x[i : i + 1], w, products=products)) for i in (1, 2)])
    np.testing.assert_array_equal(got[1], alone[0])
    for row in (0, 2, 3, 4, 5):
        np.testing.assert_array_equal(got[row], alone[1], err_msg=f"row {row}")
    same = np.asarray(_run(jnp.broadcast_to(x[1], (4, 300)), w, products=products))
    np.testing.assert_array_equal(same, np.broadcast_to(alone[0], same.shape))


def test_empty_shapes():
    _, qm = _inputs(1, 8, 4)
    assert matmul_int8_cpu(jnp.ones((0, 8)), pack(qm)).shape == (0, 4)
    empty_k = QuantizedMatrix(jnp.zeros((0, 4), jnp.int8), jnp.ones(4, jnp.float32))
    zeros = matmul_int8_cpu(jnp.ones((3, 0)), pack(empty_k))
    np.testing.assert_array_equal(np.asarray(zeros), 0)


def test_pack_keeps_the_logical_shape_and_halves_the_bytes():
    _, qm = _inputs(1, 576, 1536, layers=3)
    w = jax.jit(pack)(qm)
    assert w.shape == (3, 576, 1536)
    assert w.data.shape == (3, 48, 288, 32, 2) and w.data.dtype == jnp.int8
    assert w.scale.shape == (3, 1536)
    assert w.nbytes == 3 * (576 * 1536 + 4 * 1536)
    assert jax.tree.leaves(w) == [w.data, w.scale]  # a pytree, k and n static


def test_refuses_what_it_does_not_compute():
    x, qm = _inputs(2, 8, 4)
    w = pack(qm)
    _, stacked = _inputs(2, 8, 4, layers=3)
    with pytest.raises(ValueError, match="x must be float32 or bfloat16"):
        matmul_int8_cpu(x.astype(jnp.float16), w)
    with pytest.raises(ValueError, match="w must be a PackedInt8"):
        matmul_int8_cpu(x, qm)
    with pytest.raises(ValueError, match=r"expected x\[..., 7\]"):
        matmul_int8_cpu(x, pack(_inputs(1, 7, 4)[1]))
    with pytest.raises(ValueError, match="products must be float32, bfloat16 or int16"):
        matmul_int8_cpu(x, w, products=jnp.float16)
    with pytest.raises(ValueError, match="cannot be transposed"):
        matmul_int8_cpu(x, w, transposed=True)
    with pytest.raises(ValueError, match="stacked w with a layer"):
        matmul_int8_cpu(x, w, 0)
    with pytest.raises(ValueError, match="unstacked w without one"):
        matmul_int8_cpu(x, pack(stacked))
    with pytest.raises(ValueError, match="expected a QuantizedMatrix"):
        pack(jnp.ones((8, 4), jnp.int8))
    with pytest.raises(Exception, match="layer is out of range"):
        jax.block_until_ready(_run(x, pack(stacked), jnp.int32(3)))


needs_vnni = pytest.mark.skipif(
    "avx512_vnni" not in native.cpu_flags(), reason="int16 products need avx512_vnni"
)


def _int16_bound(x, qm: QuantizedMatrix) -> np.ndarray:
    """How far int16 products may be from float64 `x . (q * scale)`: half a quantization step
    of each x (max|x[m]| / 65534) times sum_k |q[k, n]|, plus float32 rounding (1e-5 of the
    sum of the absolute products), times the column's scale; `[M, N]`."""
    x = np.asarray(x, np.float64)
    q = np.abs(np.asarray(qm.q, np.float64))
    step = np.abs(x).max(axis=1, keepdims=True) / module.INT16_MAX  # [M, 1]
    bound = 0.5 * (1 + 1e-6) * step * q.sum(axis=0) + 1e-5 * (np.abs(x) @ q)
    return bound * np.asarray(qm.scale, np.float64) + 1e-37


@needs_vnni
@pytest.mark.parametrize(("m", "k", "n"), [(1, 2049, 97), (5, 1537, 33), (16, 513, 3072)])
def test_int16_products_against_float64_on_rows_of_any_magnitude(m, k, n):
    """K of 2 to 5 blocks of 256 pairs (odd, ragged N); rows scaled from 1e-25 to 1e25 and
    one of zeros: each within half a quantization step of x of the exact product."""
    x, qm = _inputs(m, k, n, seed=4)
    magnitudes = np.logspace(-25, 25, m) if m > 1 else np.ones(1)
    x = np.asarray(x, np.float64) * magnitudes[:, None]
    if m > 2:
        x[m // 2] = 0
    x = jnp.asarray(x, jnp.float32)
    got = np.asarray(_run(x, pack(qm), products=jnp.int16), np.float64)
    exact = np.asarray(x, np.float64) @ (np.asarray(qm.q, np.float64) * np.asarray(qm.scale))
    excess = np.abs(got - exact) / _int16_bound(x, qm)
    assert excess.max() <= 1, f"{excess.max()} times the tolerance"
    if m > 2:
        np.testing.assert_array_equal(got[m // 2], 0)


@needs_vnni
def test_int16_products_are_finer_than_bfloat16_ones():
    """On rows of a normal spread the int16 error is a small fraction of bfloat16's."""
    x, qm = _inputs(8, 576, 256, seed=5)
    exact = np.asarray(x, np.float64) @ (np.asarray(qm.q, np.float64) * np.asarray(qm.scale))
    errors = {}
    for products in (jnp.int16, jnp.float32):
        got = np.asarray(_run(x, pack(qm), products=products), np.float64)
        errors[products] = np.linalg.norm(got - exact) / np.linalg.norm(exact)
    bf16_x = np.asarray(x.astype(jnp.bfloat16).astype(jnp.float32), np.float64)
    bf16 = np.linalg.norm(bf16_x @ (np.asarray(qm.q, np.float64) * np.asarray(qm.scale)) - exact)
    assert errors[jnp.int16] < 0.1 * bf16 / np.linalg.norm(exact)
    assert errors[jnp.int16] < 1e-4


@needs_vnni
@pytest.mark.parametrize("w", [127, -128])
def test_int16_sums_stay_within_int32(w):
    """The largest products, |x_q| = 32767 and |w| = 128 (or 127), over 3 blocks of 256 pairs
    and a ragged one: a block's int32 sum reaches 2^31 - 65536 and must not wrap."""
    k = 3 * 512 + 7
    q = jnp.full((k, 40), w, jnp.int8)
    x = jnp.asarray(np.stack([np.full(k, 32767.0), np.full(k, -32767.0)]), jnp.float32)
    got = np.asarray(
        _run(x, pack(QuantizedMatrix(q, jnp.ones(40, jnp.float32))), products=jnp.int16)
    )
    exact = np.array([[1.0], [-1.0]]) * 32767.0 * w * k
    np.testing.assert_allclose(got, np.broadcast_to(exact, got.shape), rtol=1e-6)


@needs_vnni
def test_int16_products_of_a_row_with_an_infinity_or_a_nan_are_nan():
    x, qm = _inputs(3, 100, 40, seed=6)
    x = x.at[0, 7].set(jnp.inf).at[2, 99].set(jnp.nan)
    got = np.asarray(_run(x, pack(qm), products=jnp.int16))
    assert np.isnan(got[0]).all() and np.isnan(got[2]).all()
    _assert_close(got[1:2], x[1:2], qm, products=jnp.int16)


def test_the_model_kernel_takes_int16_products_where_the_cpu_has_vnni():
    """`KERNEL` multiplies int8 matrices with `MODEL_PRODUCTS`: int16 with AVX512_VNNI."""
    want = jnp.int16 if "avx512_vnni" in native.cpu_flags() else jnp.bfloat16
    assert jnp.dtype(want) == module.MODEL_PRODUCTS
    if "avx512_bf16" not in native.cpu_flags():
        pytest.skip("the model kernel needs avx512_bf16")
    x, qm = _inputs(2, 96, 64, layers=2, seed=7)
    w = pack(qm)
    got = module.KERNEL(x, w, jnp.int32(1))
    np.testing.assert_array_equal(
        np.asarray(got), np.asarray(matmul_int8_cpu(x, w, jnp.int32(1), products=want))
    )
