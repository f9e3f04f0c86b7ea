"""Dense matmul in bfloat16 on CPUs with AVX512_BF16: a native kernel (`cpu_bf16_kernel.cc`).

x is rounded to bfloat16 and every product of two bfloat16 numbers is summed in float32 by
`vdpbf16ps`, two k at a time: twice the multiply-adds per instruction of float32, which is
what bounds a batched decode or prefill step on these CPUs. This is what a bfloat16 model
computes in on such a CPU (vLLM's CPU backend does the same through oneDNN); float32 compute
stays exact (`pallas_kernels.matmul.cpu`).

Each element of the result is summed in one order fixed by K alone, whatever the number of
rows and the threads: a row's result is bitwise the same alone or in a batch.

Importing this module on a CPU without `avx512_bf16` and `avx512bw` raises
`UnsupportedCpuError`; elsewhere it compiles the kernel on first use (`pallas_kernels.native`).
"""

from __future__ import annotations

import math
from pathlib import Path

import jax
import jax.numpy as jnp

from pallas_kernels import native
from pallas_kernels.matmul.kernel import MatmulKernel, PackedMatrix, WeightLayout

SOURCE = Path(__file__).with_name("cpu_bf16_kernel.cc")
TARGET = "jaxserve_matmul_bf16_cpu"
REQUIRED_FLAGS = frozenset({"avx512_bf16", "avx512bw"})


class UnsupportedCpuError(RuntimeError):
    """This CPU lacks the instructions the bfloat16 kernel is built from."""


_missing = REQUIRED_FLAGS - native.cpu_flags()
if _missing:
    raise UnsupportedCpuError(f"this CPU lacks {', '.join(sorted(_missing))} (vdpbf16ps)")

native.register(SOURCE, {"JaxserveMatmulBf16": TARGET})

PANEL = 32  # columns of a panel


def pack(w: jax.Array) -> jax.Array:
    """`w[..., K, N]` as panels `[..., ceil(N/32), ceil(K/2), 32, 2]` of bfloat16.

    Panel j holds columns 32j..32j+31, row pair by row pair: the pairs (k, k+1) of each column
    side by side, as `vdpbf16ps` multiplies them. K is padded to even and N to a multiple of
    32 with zeros. Each panel is one contiguous run, which a decode step streams in order.
    """
    *lead, k, n = w.shape
    pairs, panels = -(-k // 2), -(-n // PANEL)
    pad = [(0, 0)] * len(lead) + [(0, 2 * pairs - k), (0, panels * PANEL - n)]
    w = jnp.pad(w.astype(jnp.bfloat16), pad).reshape(*lead, pairs, 2, panels, PANEL)
    nd = len(lead)
    return w.transpose(*range(nd), nd + 2, nd, nd + 3, nd + 1)


def columns(packed: jax.Array, ids: jax.Array) -> jax.Array:
    """Columns `ids` of an unstacked packed `w` as rows, `[R, 2 * ceil(K/2)]` (K padded)."""
    if packed.ndim != 4:
        raise ValueError(
            f"expected an unstacked packed matrix [N/32, K/2, 32, 2], got {packed.shape}"
        )
    rows = packed[ids // PANEL, :, ids % PANEL, :]  # [R, K/2, 2]
    return rows.reshape(*rows.shape[:-2], -1)


def matmul_bf16_cpu(
    x: jax.Array,
    w: PackedMatrix,
    layer: jax.Array | int | None = None,
    *,
    transposed: bool = False,
) -> jax.Array:
    """`bf16(x[..., K]) . w`, or `. w[layer]` for a stacked `w` -> float32[..., N].

    `w` is packed by `KERNEL.pack` from `[K, N]` or stacked `[L, K, N]` (its orientation is
    fixed then: a tied LM head packs the embeddings with `transposed=True`). x is float32
    (rounded to bfloat16 inside, to nearest even). Stacked weights are read in place at `layer`
    (an int32 scalar, traced or not); a `layer` outside [0, L) is an error. Products are summed
    in float32.
    """
    if not isinstance(w, PackedMatrix):
        raise ValueError(f"w must be a PackedMatrix made by KERNEL.pack, got {type(w).__name__}")
    if transposed:
        raise ValueError(
            "a packed matrix's orientation is fixed when packed: pack(w, transposed=True)"
        )
    if x.dtype != jnp.float32:
        raise ValueError(f"x must be float32, got {x.dtype}")
    if w.data.dtype != jnp.bfloat16:
        raise ValueError(f"w must be bfloat16, got {w.data.dtype}")
    stacked = w.data.ndim == 5
    if (layer is not None) != stacked or w.data.ndim not in (4, 5):
        want = "a stacked w with a layer" if layer is not None else "an unstacked w without one"
        raise ValueError(f"expected {want}, got packed shape {w.data.shape} (logical {w.shape})")
    if x.ndim < 1 or x.shape[-1] != w.k:
        raise ValueError(f"expected x[..., {w.k}] for w{list(w.shape)}, got {x.shape}")
    data = w.data if stacked else w.data[None]
    data = data.reshape(*data.shape[:3], 2 * PANEL)  # [L, N/32, K/2, 64]: the same bytes
    rows = x.reshape(math.prod(x.shape[:-1]), x.shape[-1])  # [M, K]
    call = jax.ffi.ffi_call(TARGET, jax.ShapeDtypeStruct((rows.shape[0], w.n), jnp.float32))
    out = call(rows, data, jnp.asarray(0 if layer is None else layer, jnp.int32).reshape(()))
    return out.reshape(*x.shape[:-1], w.n)


KERNEL = MatmulKernel(
    name="cpu_native_bf16",
    fn=matmul_bf16_cpu,
    reads_stacked=True,
    weight_dtypes=(jnp.dtype(jnp.bfloat16),),
    activation_dtype=jnp.dtype(jnp.float32),
    product_dtype=jnp.dtype(jnp.bfloat16),
    layout=WeightLayout(name="bf16_panels_32", pack=pack, columns=columns),
)
