"""Weight-only int8 matmul on CPUs with AVX-512: a native kernel (`cpu_int8_kernel.cc`).

A decode step of a few sequences is bound by the rate memory delivers the weights; int8 is
half the bytes of bfloat16 (`pallas_kernels.matmul.cpu_bf16`). Each int8 weight is widened
exactly and the per-column scale of a `QuantizedMatrix` multiplies each sum once at the end,
as `matmul_reference` computes it. Products in one of three dtypes:
  - float32 (the default): x float32, or bfloat16 widened exactly, multiplied by FMA;
  - bfloat16: x rounded to bfloat16 as `cpu_bf16` rounds it, pairs of exact products summed
    in float32 by `vdpbf16ps` (AVX512_BF16): twice the products per instruction, which is what
    bounds a step of 4 or more rows on these CPUs. For bfloat16 x the products are the same;
  - int16: each row of x quantized to int16 with its own scale (`quantize_rows_int16`), pairs
    of products summed exactly in int32 by `vpdpwssd` (AVX512_VNNI), in float32 every 256
    pairs. Widening a weight to int16 is one instruction per 32 where bfloat16 takes five, so
    a decode step streams the int8 weights at the rate memory delivers them. An error of at
    most half a step, max|x[m]| / 65534, on each element of x: within bfloat16's worst
    rounding (2^-8 of the element) for elements above 1/256 of their row's largest; coarser
    for smaller ones. Products of normal activations: ~50x closer to float64 than bfloat16's.

Each element of the result is summed in one order fixed by K alone, whatever the number of
rows and the threads: a row's result is bitwise the same alone or in a batch. So trailing
copies of the last row of x (the padding of a decode step's rows) are computed once and get
its result.

Importing this module on a CPU without `avx512f` and `avx512bw` raises `UnsupportedCpuError`;
elsewhere it compiles the kernel on first use (`pallas_kernels.native`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

import jax
import jax.numpy as jnp

from pallas_kernels import native
from pallas_kernels.matmul import cpu_bf16
from pallas_kernels.matmul.kernel import QuantizedMatrix

SOURCE = Path(__file__).with_name("cpu_int8_kernel.cc")
TARGET = "jaxserve_matmul_int8_cpu"  # float32 products
BF16_TARGET = "jaxserve_matmul_int8_bf16_cpu"  # x rounded to bfloat16, products by vdpbf16ps
INT16_TARGET = "jaxserve_matmul_int8_int16_cpu"  # x quantized to int16, products by vpdpwssd
INT16_MAX = 32767  # |x_q| <= this (the kernel's int32 sums rely on it)
REQUIRED_FLAGS = frozenset({"avx512f", "avx512bw"})
PANEL = 32  # columns of a panel
PACKED_RANK = 4  # [N/32, K/2, 32, 2]: the matrix's axes of `PackedInt8.data`


class UnsupportedCpuError(RuntimeError):
    """This CPU lacks the instructions the int8 kernel is built from."""


_missing = REQUIRED_FLAGS - native.cpu_flags()
if _missing:
    raise UnsupportedCpuError(f"this CPU lacks {', '.join(sorted(_missing))}")

native.register(
    SOURCE,
    {
        "JaxserveMatmulInt8": TARGET,
        "JaxserveMatmulInt8Bf16": BF16_TARGET,
        "JaxserveMatmulInt8Int16": INT16_TARGET,
    },
)
# The products the model's int8 matrices take (`KERNEL`): int16 where the CPU has vpdpwssd.
PRODUCT_FLAGS = {jnp.dtype(jnp.bfloat16): "avx512_bf16", jnp.dtype(jnp.int16): "avx512_vnni"}
MODEL_PRODUCTS = jnp.dtype(jnp.int16 if "avx512_vnni" in native.cpu_flags() else jnp.bfloat16)
TARGETS = {
    jnp.dtype(jnp.float32): TARGET,
    jnp.dtype(jnp.bfloat16): BF16_TARGET,
    jnp.dtype(jnp.int16): INT16_TARGET,
}


@functools.partial(
    jax.tree_util.register_dataclass, data_fields=["data", "scale"], meta_fields=["k", "n"]
)
@dataclasses.dataclass(frozen=True)
class PackedInt8:
    """An int8 matrix `q[..., K, N] * scale[..., N]` in the layout the kernel reads (`pack`).

    A pytree: `data` int8 `[..., ceil(N/32), ceil(K/2), 32, 2]` (panels of 32 columns, each
    one contiguous run) and `scale` float32 `[..., ceil(N/32) * 32]` are its leaves, leading
    axes such as layers kept; the logical K and N ride along as static metadata.
    """

    data: jax.Array
    scale: jax.Array
    k: int
    n: int

    @property
    def shape(self) -> tuple[int, ...]:
        """The logical shape, `[..., K, N]`."""
        return (*self.data.shape[: self.data.ndim - PACKED_RANK], self.k, self.n)

    @property
    def dtype(self) -> jnp.dtype:
        return self.data.dtype

    @property
    def nbytes(self) -> int:
        """Bytes stored, padding included."""
        return self.data.nbytes + self.scale.nbytes


def pack(qm: QuantizedMatrix) -> PackedInt8:
    """`q[..., K, N]` as panels `[..., ceil(N/32), ceil(K/2), 32, 2]`, its scale padded to match.

    Panel j holds columns 32j..32j+31, row pair by row pair: the pairs (k, k+1) of each column
    side by side, as `vdpbf16ps` multiplies them. K is padded to even and N to a multiple of 32
    with zero weights (and unit scales). Each panel is one contiguous run, which a decode step
    streams in order.
    """
    if not isinstance(qm, QuantizedMatrix):
        raise ValueError(f"expected a QuantizedMatrix, got {type(qm).__name__}")
    if qm.q.ndim < 2 or qm.q.dtype != jnp.int8:
        raise ValueError(f"expected int8 q[..., K, N], got {qm.q.dtype} {qm.q.shape}")
    *lead, k, n = qm.q.shape
    if qm.scale.shape != (*lead, n):
        raise ValueError(
            f"expected scale{[*lead, n]} for q{list(qm.q.shape)}, got {qm.scale.shape}"
        )
    pairs, panels = -(-k // 2), -(-n // PANEL)
    keep, columns = [(0, 0)] * len(lead), (0, panels * PANEL - n)
    q = jnp.pad(qm.q, [*keep, (0, 2 * pairs - k), columns])
    q = q.reshape(*lead, pairs, 2, panels, PANEL)
    nd = len(lead)
    data = q.transpose(*range(nd), nd + 2, nd, nd + 3, nd + 1)  # [..., N/32, K/2, 32, 2]
    scale = jnp.pad(qm.scale.astype(jnp.float32), [*keep, columns], constant_values=1.0)
    return PackedInt8(data, scale, k=k, n=n)


def matmul_int8_cpu(
    x: jax.Array,
    w: PackedInt8,
    layer: jax.Array | int | None = None,
    *,
    transposed: bool = False,
    products: jnp.dtype = jnp.float32,
) -> jax.Array:
    """`(x[..., K] . q) * scale`, or of `w[layer]` for a stacked `w` -> float32[..., N].

    Args:
        x: float32 or bfloat16 activations `[..., K]` (bfloat16 is widened exactly).
        w: a `PackedInt8` made by `pack` from `[K, N]` or stacked `[L, K, N]`.
        layer: for a stacked `w`, the layer to read in place (an int32 scalar, traced or
            not); one outside [0, L) is an error. None for an unstacked `w`.
        transposed: must be False: a packed matrix's orientation is fixed.
        products: float32 (x as it is), bfloat16 (x rounded to bfloat16, to nearest even;
            faster from about 4 rows; needs `avx512_bf16`) or int16 (each row of x quantized
            to int16 as `quantize_rows_int16` does; the fastest; needs `avx512_vnni`).

    Returns:
        float32 `[..., N]`: each sum of products in float32 (int16: in int32, 256 pairs of k
        at a time, those sums in float32, times the row's scale), times its column's scale.
        A row of x with an infinity or a NaN gives NaN everywhere under int16 products.
    """
    if not isinstance(w, PackedInt8):
        raise ValueError(f"w must be a PackedInt8 made by pack, got {type(w).__name__}")
    if transposed:
        raise ValueError("a packed int8 matrix is stored [K, N]; it cannot be transposed")
    products = jnp.dtype(products)
    if products not in TARGETS:
        raise ValueError(f"products must be float32, bfloat16 or int16, got {products}")
    flag = PRODUCT_FLAGS.get(products)
    if flag is not None and flag not in native.cpu_flags():
        raise ValueError(f"{products} products need {flag}, which this CPU lacks")
    if x.dtype not in (jnp.float32, jnp.bfloat16):
        raise ValueError(f"x must be float32 or bfloat16, got {x.dtype}")
    stacked = w.data.ndim == PACKED_RANK + 1
    if (layer is not None) != stacked or w.data.ndim not in (PACKED_RANK, PACKED_RANK + 1):
        want = "a stacked w with a layer" if layer is not None else "an unstacked w without one"
        raise ValueError(f"expected {want}, got packed shape {w.data.shape} (logical {w.shape})")
    if x.ndim < 1 or x.shape[-1] != w.k:
        raise ValueError(f"expected x[..., {w.k}] for w{list(w.shape)}, got {x.shape}")
    data, scale = (w.data, w.scale) if stacked else (w.data[None], w.scale[None])
    data = data.reshape(*data.shape[:3], 2 * PANEL)  # [L, N/32, K/2, 64]: the same bytes
    rows = x.reshape(math.prod(x.shape[:-1]), x.shape[-1])  # [M, K]
    result = jax.ShapeDtypeStruct((rows.shape[0], w.n), jnp.float32)
    call = jax.ffi.ffi_call(TARGETS[products], result)
    index = jnp.asarray(0 if layer is None else layer, jnp.int32).reshape(())
    out = call(rows, data, scale, index)
    return out.reshape(*x.shape[:-1], w.n)


def quantize_rows_int16(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(x_q int16[..., K], s float32[...]): x's rows as int16 products take them, for tests.

    s = max|x| / 32767 per row and x_q = round(x * (32767 / max|x|)), to nearest even: what
    the kernel multiplies is x_q * s. A row of zeros has s = 0.
    """
    x = x.astype(jnp.float32)
    top = jnp.max(jnp.abs(x), axis=-1, keepdims=True)  # [..., 1]
    inv = jnp.where(top > 0, jnp.float32(INT16_MAX) / jnp.where(top > 0, top, 1), 0)
    x_q = jnp.clip(jnp.round(x * inv), -INT16_MAX, INT16_MAX).astype(jnp.int16)
    return x_q, top[..., 0] / jnp.float32(INT16_MAX)


def _int8_or_bf16(x, w, layer=None, *, transposed: bool = False) -> jax.Array:
    """Int8 matrices by the int8 kernel (int16 products where the CPU has AVX512_VNNI, else
    bfloat16 ones, as the bfloat16 kernel's), the rest (the LM head, tied embeddings) by the
    bfloat16 kernel."""
    if isinstance(w, PackedInt8):
        return matmul_int8_cpu(x, w, layer, products=MODEL_PRODUCTS)
    return cpu_bf16.matmul_bf16_cpu(x, w, layer, transposed=transposed)


# What `quantization="int8"` multiplies with on a CPU with AVX512_BF16: the bfloat16 kernel's
# declaration (its layout serves the unquantized head), with int8 matrices packed by `pack`.
# Its `product_dtype` stays bfloat16, the coarsest rounding of x it makes: the unquantized
# matrices' products; the int8 matrices' are int16 ones where `MODEL_PRODUCTS` says so.
KERNEL = dataclasses.replace(
    cpu_bf16.KERNEL, name="cpu_native_int8", fn=_int8_or_bf16, pack_quantized=pack
)
