"""What multiplies by the layers' weight matrices, and in which dtype those weights are kept.

`Platform.matmul` names the implementation: "xla" (`jnp.dot`, weights in the compute dtype)
or "cpu_native" (`pallas_kernels.matmul.cpu`, compiled on first use). The native kernel reads
bfloat16 weights and widens them exactly as it goes, so a bfloat16 checkpoint served in
float32 keeps its weights in bfloat16: the same products, half the bytes to stream. Where the
kernel cannot be built, the model is split over several devices (the kernel has no
sharding rule) or computes in another dtype than float32, the platform uses XLA, saying why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import jax
import jax.numpy as jnp

from pallas_kernels.matmul import matmul_reference
from platforms.attention import import_kernel
from platforms.base import MatmulImpl, Platform

logger = logging.getLogger(__name__)

MatmulFn = Callable[..., jax.Array]
KERNEL_MODULES: dict[MatmulImpl, str] = {"cpu_native": "pallas_kernels.matmul.cpu"}


def matmul_fn(
    platform: Platform, *, num_devices: int = 1, compute_dtype: jnp.dtype | None = None
) -> MatmulFn:
    """The matmul the model calls on `platform` for a model over `num_devices` devices."""
    if platform.matmul == "xla":
        return matmul_reference
    compute_dtype = jnp.dtype(compute_dtype or platform.compute_dtype)
    if compute_dtype != jnp.float32:  # the kernel computes in float32 only
        logger.info("matmul: XLA, for %s compute", compute_dtype.name)
        return matmul_reference
    if num_devices > 1:
        logger.info("matmul: XLA, as the model is split over %d devices", num_devices)
        return matmul_reference
    module, reason, _ = import_kernel(KERNEL_MODULES[platform.matmul])
    if module is None:
        logger.warning(
            "matmul: the %s kernel is unavailable (%s); using XLA", platform.matmul, reason
        )
        return matmul_reference
    return module.matmul_cpu


def keeps_bfloat16_weights(fn: MatmulFn, compute_dtype: jnp.dtype) -> bool:
    """Whether a bfloat16 checkpoint's weight matrices stay bfloat16 under `fn`.

    Only under the native kernel with float32 compute: widening bfloat16 is exact, so the
    products are those of float32 weights, at half the bytes. XLA would widen a copy per call.
    """
    return fn is not matmul_reference and jnp.dtype(compute_dtype) == jnp.float32
