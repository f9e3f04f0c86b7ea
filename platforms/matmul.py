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
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from pallas_kernels.matmul import matmul_reference
from platforms.attention import import_kernel
from platforms.base import MatmulImpl, Platform

logger = logging.getLogger(__name__)

MatmulFn = Callable[..., jax.Array]
KERNEL_MODULES: dict[MatmulImpl, str] = {"cpu_native": "pallas_kernels.matmul.cpu"}
SELFCHECK_TOLERANCE = 1e-5  # float32 sums of 96 products


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


def selfcheck(platform: Platform) -> tuple[bool, str]:
    """(passed, detail): the platform's matmul against float64 numpy on a few small shapes.

    Decode-sized and prefill-sized row counts, float32 and bfloat16 stacked weights read at a
    layer index, and a transposed (tied LM head) product.
    """
    fn = matmul_fn(platform)
    rng = np.random.default_rng(0)
    worst = 0.0
    start = time.perf_counter()
    try:
        for rows, dtype in ((3, jnp.float32), (37, jnp.bfloat16), (5, jnp.bfloat16)):
            x = rng.standard_normal((rows, 96)).astype(np.float32)
            w = jnp.asarray(rng.standard_normal((2, 96, 80)), dtype)
            wide = np.asarray(w.astype(jnp.float32), np.float64)
            got = np.asarray(fn(jnp.asarray(x), w, jnp.int32(1)), np.float64)
            worst = max(worst, _rel_err(got, x @ wide[1]))
            got = np.asarray(fn(jnp.asarray(x), jnp.swapaxes(w[0], 0, 1), transposed=True))
            worst = max(worst, _rel_err(np.asarray(got, np.float64), x @ wide[0]))
    except Exception as e:  # the doctor reports a broken kernel, it does not crash on it
        message = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return False, f"{type(e).__name__}: {message}"[:100]
    seconds = time.perf_counter() - start
    passed = worst <= SELFCHECK_TOLERANCE
    return passed, f"rel err {worst:.1e} (tol {SELFCHECK_TOLERANCE:.0e}), {seconds:.1f} s"


def _rel_err(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.linalg.norm(got - want) / np.linalg.norm(want))
