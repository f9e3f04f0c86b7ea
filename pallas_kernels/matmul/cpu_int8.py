"""Weight-only int8 matmul on CPUs with AVX-512: a native kernel (`cpu_int8_kernel.cc`).

A decode step of a few sequences is bound by the rate memory delivers the weights; int8 is
half the bytes of bfloat16 (`pallas_kernels.matmul.cpu_bf16`). Each int8 weight is widened
to float32 exactly and multiplied with x in float32 (x float32, or bfloat16 widened
exactly); the per-column scale of a `QuantizedMatrix` multiplies each sum once at the end,
as `matmul_reference` computes it.

Each element of the result is summed in one order fixed by K alone, whatever the number of
rows and the threads: a row's result is bitwise the same alone or in a batch.

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
from pallas_kernels.matmul.kernel import QuantizedMatrix

SOURCE = Path(__file__).with_name("cpu_int8_kernel.cc")
TARGET = "jaxserve_matmul_int8_cpu"
REQUIRED_FLAGS = frozenset({"avx512f", "avx512bw"})
PANEL = 32  # columns of a panel
PACKED_RANK = 3  # [N/32, K, 32]: the matrix's axes of `PackedInt8.data`


class UnsupportedCpuError(RuntimeError):
    """This CPU lacks the instructions the int8 kernel is built from."""


_missing = REQUIRED_FLAGS - native.cpu_flags()
if _missing:
    raise UnsupportedCpuError(f"this CPU lacks {', '.join(sorted(_missing))}")

native.register(SOURCE, {"JaxserveMatmulInt8": TARGET})


@functools.partial(
    jax.tree_util.register_dataclass, data_fields=["data", "scale"], meta_fields=["k", "n"]
)
@dataclasses.dataclass(frozen=True)
class PackedInt8:
    """An int8 matrix `q[..., K, N] * scale[..., N]` in the layout the kernel reads (`pack`).

    A pytree: `data` int8 `[..., ceil(N/32), K, 32]` (panels of 32 columns, each one contiguous
    run) and `scale` float32 `[..., ceil(N/32) * 32]` are its leaves, leading axes such as
    layers kept; the logical K and N ride along as static metadata.
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
    """`q[..., K, N]` as panels `[..., ceil(N/32), K, 32]`, its scale padded to match.

    Panel j holds columns 32j..32j+31, row by row; N is padded to a multiple of 32 with zero
    weights (and unit scales). Each panel is one contiguous run, which a decode step streams
    in order.
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
    panels = -(-n // PANEL)
    keep, columns = [(0, 0)] * len(lead), (0, panels * PANEL - n)
    q = jnp.pad(qm.q, [*keep, (0, 0), columns]).reshape(*lead, k, panels, PANEL)
    nd = len(lead)
    data = q.transpose(*range(nd), nd + 1, nd, nd + 2)  # [..., N/32, K, 32]
    scale = jnp.pad(qm.scale.astype(jnp.float32), [*keep, columns], constant_values=1.0)
    return PackedInt8(data, scale, k=k, n=n)


def matmul_int8_cpu(
    x: jax.Array,
    w: PackedInt8,
    layer: jax.Array | int | None = None,
    *,
    transposed: bool = False,
) -> jax.Array:
    """`(x[..., K] . q) * scale`, or of `w[layer]` for a stacked `w` -> float32[..., N].

    Args:
        x: float32 or bfloat16 activations `[..., K]` (bfloat16 is widened exactly).
        w: a `PackedInt8` made by `pack` from `[K, N]` or stacked `[L, K, N]`.
        layer: for a stacked `w`, the layer to read in place (an int32 scalar, traced or
            not); one outside [0, L) is an error. None for an unstacked `w`.
        transposed: must be False: a packed matrix's orientation is fixed.

    Returns:
        float32 `[..., N]`: each sum of float32 products, then times its column's scale.
    """
    if not isinstance(w, PackedInt8):
        raise ValueError(f"w must be a PackedInt8 made by pack, got {type(w).__name__}")
    if transposed:
        raise ValueError("a packed int8 matrix is stored [K, N]; it cannot be transposed")
    if x.dtype not in (jnp.float32, jnp.bfloat16):
        raise ValueError(f"x must be float32 or bfloat16, got {x.dtype}")
    stacked = w.data.ndim == PACKED_RANK + 1
    if (layer is not None) != stacked or w.data.ndim not in (PACKED_RANK, PACKED_RANK + 1):
        want = "a stacked w with a layer" if layer is not None else "an unstacked w without one"
        raise ValueError(f"expected {want}, got packed shape {w.data.shape} (logical {w.shape})")
    if x.ndim < 1 or x.shape[-1] != w.k:
        raise ValueError(f"expected x[..., {w.k}] for w{list(w.shape)}, got {x.shape}")
    data, scale = (w.data, w.scale) if stacked else (w.data[None], w.scale[None])
    rows = x.reshape(math.prod(x.shape[:-1]), x.shape[-1])  # [M, K]
    call = jax.ffi.ffi_call(TARGET, jax.ShapeDtypeStruct((rows.shape[0], w.n), jnp.float32))
    index = jnp.asarray(0 if layer is None else layer, jnp.int32).reshape(())
    out = call(rows, data, scale, index)
    return out.reshape(*x.shape[:-1], w.n)
