"""CPU: float32 compute (XLA's bf16 matmuls are 2-4x slower there), native-kernel attention.

Attention is `pallas_kernels.ragged_paged_attention.cpu`, a C++ kernel behind XLA's FFI,
built on first use; where it cannot be built the platform falls back to the jnp reference.
The layers' matmuls are `pallas_kernels.matmul.cpu`, which reads bfloat16 weights directly
(float32 compute, half the bytes a decode step streams); without it, XLA and float32 weights.

Pallas kernels only run interpreted on CPU; the TPU kernel is the one to interpret, as TPU
interpret mode is JAX's most complete Pallas interpreter (DMAs, semaphores, VMEM).
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp

from platforms.base import Platform


def available_host_memory() -> int:
    """Bytes of host memory not in use right now (what a KV cache could take)."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 4 * 2**30


def make(devices: tuple[jax.Device, ...]) -> Platform:
    return Platform(
        kind="cpu",
        devices=devices,
        device_kind=devices[0].device_kind,
        compute_dtype=jnp.dtype(jnp.float32),
        kv_dtype=jnp.dtype(jnp.float32),
        attention="cpu_native",
        pallas_attention="pallas_tpu",
        interpret=True,
        matmul="cpu_native",
        page_size=16,
        # Host memory is shared by all virtual CPU devices.
        memory_bytes=available_host_memory() // len(devices),
    )
