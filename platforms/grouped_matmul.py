"""Which grouped matmul (the Mixture-of-Experts product) runs on a platform.

The same `attention_backend` value that picks the attention kernel picks this one: "auto" the
platform's (the Pallas kernel on TPU and GPUs; on CPU the XLA loop over (expert, row tile)
pairs, which `benchmarks/grouped_matmul_cpu.py` measured fastest there), "reference" the jnp
oracle, "pallas" / "pallas-interpret" the platform's Pallas kernel compiled or interpreted (on
CPU, the TPU kernel in TPU interpret mode).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax

from pallas_kernels import grouped_matmul as kernels
from pallas_kernels.grouped_matmul.cpu import grouped_matmul_cpu
from platforms.attention import resolve_attention
from platforms.base import Platform


def grouped_matmul_fn(platform: Platform, backend: str | None = None) -> Callable[..., jax.Array]:
    """`f(lhs[M, K], rhs[G, K, N], group_sizes i32[G]) -> [M, N]` for `attention_backend`."""
    impl, interpret = resolve_attention(platform, backend)  # validates `backend`
    if impl == "reference":
        return kernels.grouped_matmul_reference
    if impl == "cpu_native" or (platform.kind == "cpu" and not interpret):
        return grouped_matmul_cpu
    if impl == "pallas_tpu":
        return functools.partial(kernels.grouped_matmul_tpu, interpret=interpret)
    return functools.partial(kernels.grouped_matmul_triton, interpret=interpret)
