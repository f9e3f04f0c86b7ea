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

from pathlib import Path

import jax
import jax.numpy as jnp

from pallas_kernels import native
from pallas_kernels.matmul.ffi import call_native_matmul
from pallas_kernels.matmul.kernel import MatmulKernel

SOURCE = Path(__file__).with_name("cpu_bf16_kernel.cc")
TARGET = "jaxserve_matmul_bf16_cpu"
TRANSPOSED_TARGET = "jaxserve_matmul_bf16_transposed_cpu"
REQUIRED_FLAGS = frozenset({"avx512_bf16", "avx512bw"})


class UnsupportedCpuError(RuntimeError):
    """This CPU lacks the instructions the bfloat16 kernel is built from."""


_missing = REQUIRED_FLAGS - native.cpu_flags()
if _missing:
    raise UnsupportedCpuError(f"this CPU lacks {', '.join(sorted(_missing))} (vdpbf16ps)")

native.register(
    SOURCE, {"JaxserveMatmulBf16": TARGET, "JaxserveMatmulBf16Transposed": TRANSPOSED_TARGET}
)


def matmul_bf16_cpu(
    x: jax.Array,
    w: jax.Array,
    layer: jax.Array | int | None = None,
    *,
    transposed: bool = False,
) -> jax.Array:
    """`bf16(x[..., K]) . w[K, N]`, or `. w[layer]` for stacked `w[L, K, N]` -> float32[..., N].

    x is float32 (rounded to bfloat16 inside, to nearest even), w bfloat16. Stacked weights
    are read in place at `layer` (an int32 scalar, traced or not); a `layer` outside [0, L)
    is an error. `transposed`: w is [N, K] (a tied LM head multiplying by the embeddings),
    unstacked. Products are summed in float32.
    """
    if x.dtype != jnp.float32:
        raise ValueError(f"x must be float32, got {x.dtype}")
    if w.dtype != jnp.bfloat16:
        raise ValueError(f"w must be bfloat16, got {w.dtype}")
    return call_native_matmul(TARGET, TRANSPOSED_TARGET, x, w, layer, transposed=transposed)


KERNEL = MatmulKernel(
    name="cpu_native_bf16",
    fn=matmul_bf16_cpu,
    reads_stacked=True,
    weight_dtypes=(jnp.dtype(jnp.bfloat16),),
    activation_dtype=jnp.dtype(jnp.float32),
    product_dtype=jnp.dtype(jnp.bfloat16),
)
