"""What multiplies by the layers' weight matrices, and in which dtypes weights and products are.

`Platform.matmul` names the family: "xla" (`jnp.dot`, weights in the compute dtype) or
"cpu_native" (native kernels behind XLA's FFI, compiled on first use). On CPU the compute
dtype picks the kernel:
- float32: `pallas_kernels.matmul.cpu`. It reads bfloat16 weights and widens them exactly as
  it goes, so a bfloat16 checkpoint keeps its weights in bfloat16: the products of float32
  weights, at half the bytes to stream. Exact parity with a float32 reference.
- bfloat16: `pallas_kernels.matmul.cpu_bf16` where the CPU has AVX512_BF16: activations
  rounded to bfloat16, pairs of bfloat16 products summed in float32 (`vdpbf16ps`), twice the
  multiply-adds per instruction, on weights packed at load into the panels it streams
  (`MatmulKernel.layout`). The rest of the model (norms, residual, attention) stays in
  float32; the KV cache is bfloat16.
Each kernel declares what it takes (`pallas_kernels.matmul.MatmulKernel`). Where a kernel
cannot be built, the model is split over several devices (the kernels have no sharding
rule) or the CPU lacks the instructions, the platform uses XLA, saying why.
"""

from __future__ import annotations

import logging
import time

import jax.numpy as jnp
import numpy as np

from pallas_kernels.matmul import XLA_MATMUL, MatmulKernel
from platforms.attention import import_kernel
from platforms.base import Platform
from platforms.cuda import compute_capability

logger = logging.getLogger(__name__)

KERNEL_MODULES = {
    ("cpu_native", jnp.dtype(jnp.float32)): "pallas_kernels.matmul.cpu",
    ("cpu_native", jnp.dtype(jnp.bfloat16)): "pallas_kernels.matmul.cpu_bf16",
}
# int8 weights: only where products are bfloat16 anyway (float32 compute keeps exact products).
INT8_KERNEL_MODULES = {("cpu_native", jnp.dtype(jnp.bfloat16)): "pallas_kernels.matmul.cpu_int8"}
SELFCHECK_TOLERANCE = {"float32": 1e-5}  # float32 sums of 96 products; other outputs 1e-2


def matmul_kernel(
    platform: Platform,
    *,
    num_devices: int = 1,
    compute_dtype: jnp.dtype | None = None,
    quantization: str | None = None,
) -> MatmulKernel:
    """The matmul the model calls on `platform` for a model over `num_devices` devices, with
    its layer matrices `quantization` ("int8" or "fp8") or as loaded (None). fp8 weights go to
    XLA, which widens the codes inside the product on the GPUs that take them."""
    if platform.matmul == "xla" or quantization == "fp8":
        return XLA_MATMUL
    compute_dtype = jnp.dtype(compute_dtype or platform.compute_dtype)
    modules = INT8_KERNEL_MODULES if quantization == "int8" else KERNEL_MODULES
    name = modules.get((platform.matmul, compute_dtype))
    if name is None:
        logger.info("matmul: XLA, for %s compute", compute_dtype.name)
        return XLA_MATMUL
    if num_devices > 1:
        logger.info("matmul: XLA, as the model is split over %d devices", num_devices)
        return XLA_MATMUL
    module, reason, _ = import_kernel(name)
    if module is None:
        logger.warning("matmul: %s is unavailable (%s); using XLA", name, reason)
        return XLA_MATMUL
    return module.KERNEL


# AMD Instinct chips with fp8 matrix cores.
ROCM_FP8_CHIPS = ("MI300", "MI325", "MI350", "MI355")


def fp8_weights(platform: Platform) -> str | None:
    """None where `platform` has fp8 (e4m3) matmuls for fp8 weights; else why not."""
    if platform.kind == "cuda":
        capability = compute_capability(platform.devices[0])
        if capability is not None and capability >= (8, 9):
            return None
        return f"{platform.device_kind} (compute capability {capability}) has no fp8 tensor cores"
    if platform.kind == "rocm" and any(chip in platform.device_kind for chip in ROCM_FP8_CHIPS):
        return None
    return f"{platform.device_kind} ({platform.kind}) has no fp8 matmuls"


def preferred_compute_dtype(platform: Platform, stored: jnp.dtype) -> jnp.dtype:
    """What `dtype="auto"` computes a checkpoint stored in `stored` in.

    The platform's compute dtype, except on a CPU that multiplies bfloat16 natively, where a
    bfloat16 checkpoint computes in bfloat16 (as it would under vLLM): twice the throughput
    of float32 there. `dtype="float32"` keeps exact float32 products.
    """
    preferred = jnp.dtype(platform.compute_dtype)
    bf16 = jnp.dtype(jnp.bfloat16)
    if jnp.dtype(stored) != bf16 or preferred == bf16:
        return preferred
    name = KERNEL_MODULES.get((platform.matmul, bf16))
    if name is None or import_kernel(name)[0] is None:
        return preferred
    return bf16


def weight_dtype(kernel: MatmulKernel, activation_dtype: jnp.dtype) -> jnp.dtype | None:
    """The dtype `kernel` needs weight matrices converted to; None: keep bfloat16 as stored."""
    if not kernel.weight_dtypes:
        return jnp.dtype(activation_dtype)
    if jnp.dtype(activation_dtype) in kernel.weight_dtypes:
        return None  # float32 converts to float32, bfloat16 stays
    return kernel.weight_dtypes[0]


def selfcheck(platform: Platform, compute_dtype: jnp.dtype | None = None) -> tuple[bool, str]:
    """(passed, detail): the platform's matmul against float64 numpy on a few small shapes.

    Decode-sized and prefill-sized row counts, bfloat16 (and, where the kernel takes them,
    float32) stacked weights in the kernel's layout read at a layer index, and a transposed
    (tied LM head) product.
    The reference multiplies the same inputs the kernel sees: x rounded to bfloat16 where the
    kernel forms bfloat16 products.
    """
    kernel = matmul_kernel(platform, compute_dtype=compute_dtype)
    x_dtype = kernel.activation_dtype or jnp.dtype(compute_dtype or platform.compute_dtype)
    weights = kernel.weight_dtypes or (x_dtype,)
    rng = np.random.default_rng(0)
    worst = 0.0
    start = time.perf_counter()
    try:
        for rows, dtype in ((3, weights[0]), (37, weights[-1]), (5, weights[-1])):
            x = jnp.asarray(rng.standard_normal((rows, 96)), x_dtype)
            w = jnp.asarray(rng.standard_normal((2, 96, 80)), dtype)
            xs = np.asarray(_as_multiplied(x, kernel), np.float64)
            wide = np.asarray(w.astype(jnp.float32), np.float64)
            got = kernel(x, kernel.pack(w), jnp.int32(1)).astype(jnp.float32)
            worst = max(worst, _rel_err(np.asarray(got, np.float64), xs @ wide[1]))
            head = jnp.swapaxes(w[0], 0, 1)  # [N, K], as a tied LM head's embeddings
            if kernel.layout is None:
                got = kernel(x, head, transposed=True)
            else:
                got = kernel(x, kernel.pack(head, transposed=True))
            got = got.astype(jnp.float32)
            worst = max(worst, _rel_err(np.asarray(got, np.float64), xs @ wide[0]))
    except Exception as e:  # the doctor reports a broken kernel, it does not crash on it
        message = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return False, f"{type(e).__name__}: {message}"[:100]
    seconds = time.perf_counter() - start
    tolerance = SELFCHECK_TOLERANCE.get(jnp.dtype(x_dtype).name, 1e-2)  # the output's dtype
    passed = worst <= tolerance
    return passed, f"{kernel.name}: rel err {worst:.1e} (tol {tolerance:.0e}), {seconds:.1f} s"


def _as_multiplied(x, kernel: MatmulKernel):
    """x as the kernel multiplies it: rounded to its product dtype, if it has one."""
    if kernel.product_dtype is not None:
        x = x.astype(kernel.product_dtype)
    return x.astype(jnp.float32)


def _rel_err(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.linalg.norm(got - want) / np.linalg.norm(want))
