"""NVIDIA GPUs: bf16 compute; the attention kernel follows the compute capability."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from platforms.base import AttentionImpl, Platform
from platforms.gpu_memory import free_device_memory

# Oldest compute capability first served by each kernel. Mosaic GPU needs Hopper's wgmma and
# TMA (sm90; Blackwell runs the same code); older GPUs take the Triton kernel.
KERNEL_BY_CAPABILITY: tuple[tuple[tuple[int, int], AttentionImpl], ...] = (
    ((9, 0), "pallas_mosaic_gpu"),
    ((0, 0), "pallas_triton"),
)


def compute_capability(device: jax.Device) -> tuple[int, int] | None:
    """(major, minor) of an NVIDIA device, or None where the runtime does not report it."""
    value = getattr(device, "compute_capability", None)
    if not value:
        return None
    major, _, minor = str(value).partition(".")
    return int(major), int(minor or 0)


def attention_kernel(capability: tuple[int, int] | None) -> AttentionImpl:
    """The Pallas kernel for a compute capability; unknown ones get Triton, which runs on all."""
    capability = capability or (0, 0)
    return next(kernel for oldest, kernel in KERNEL_BY_CAPABILITY if capability >= oldest)


def make(devices: tuple[jax.Device, ...]) -> Platform:
    kernel = attention_kernel(compute_capability(devices[0]))
    return Platform(
        kind="cuda",
        devices=devices,
        device_kind=devices[0].device_kind,
        compute_dtype=jnp.dtype(jnp.bfloat16),
        kv_dtype=jnp.dtype(jnp.bfloat16),
        attention=kernel,
        pallas_attention=kernel,
        interpret=False,
        page_size=16,
        memory_bytes=free_device_memory(devices[0], fallback=16 * 2**30),
    )
