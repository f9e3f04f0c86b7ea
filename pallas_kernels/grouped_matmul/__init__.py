"""Grouped matmul (the product behind Mixture-of-Experts layers), `jax.lax.ragged_dot`'s contract.

`f(lhs[M, K], rhs[G, K, N], group_sizes i32[G]) -> [M, N]` in lhs's dtype, float32
accumulation: rows `sum(group_sizes[:g]) : sum(group_sizes[:g + 1])` of lhs are multiplied by
`rhs[g]`, rows past `sum(group_sizes)` come out as zeros.

- `grouped_matmul_reference`: pure jnp, the oracle (one masked dense product per group).
- `grouped_matmul_tpu`: Mosaic TPU kernel in megablox's design (TPU interpret mode on CPU).
- `grouped_matmul_triton`: Pallas Triton kernel for GPUs (Pallas interpret mode on CPU).
"""

from pallas_kernels.grouped_matmul.reference import grouped_matmul_reference
from pallas_kernels.grouped_matmul.tpu import grouped_matmul_tpu
from pallas_kernels.grouped_matmul.triton import grouped_matmul_triton

__all__ = ["grouped_matmul_reference", "grouped_matmul_tpu", "grouped_matmul_triton"]
