"""Dense matmul `x[M, K] . w[K, N]`: the contract in jnp, and the kernels' declarations."""

from pallas_kernels.matmul.kernel import (
    XLA_MATMUL,
    MatmulKernel,
    QuantizedMatrix,
    quantize_fp8,
    quantize_int8,
)
from pallas_kernels.matmul.reference import matmul_reference

__all__ = [
    "XLA_MATMUL",
    "MatmulKernel",
    "QuantizedMatrix",
    "matmul_reference",
    "quantize_fp8",
    "quantize_int8",
]
