"""Dense matmul `x[M, K] . w[K, N]` with float32 activations and float32 or bfloat16 weights."""

from pallas_kernels.matmul.reference import matmul_reference

__all__ = ["matmul_reference"]
