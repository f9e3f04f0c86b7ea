"""AMD GPUs (ROCm): bf16 compute; Pallas reaches ROCm only through its Triton backend."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from platforms.base import Platform
from platforms.gpu_memory import free_device_memory


def make(devices: tuple[jax.Device, ...]) -> Platform:
    return Platform(
        kind="rocm",
        devices=devices,
        device_kind=devices[0].device_kind,
        compute_dtype=jnp.dtype(jnp.bfloat16),
        kv_dtype=jnp.dtype(jnp.bfloat16),
        attention="pallas_triton",
        pallas_attention="pallas_triton",
        interpret=False,
        page_size=16,
        memory_bytes=free_device_memory(devices[0], fallback=16 * 2**30),
    )
