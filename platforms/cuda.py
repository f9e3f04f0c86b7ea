"""NVIDIA GPUs: bf16 compute; Pallas kernels arrive with the kernels issue, reference until then."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from platforms.base import Platform
from platforms.gpu_memory import free_device_memory


def compute_capability(device: jax.Device) -> tuple[int, int] | None:
    """(major, minor) of an NVIDIA device, or None where the runtime does not report it."""
    value = getattr(device, "compute_capability", None)
    if not value:
        return None
    major, _, minor = str(value).partition(".")
    return int(major), int(minor or 0)


def make(devices: tuple[jax.Device, ...]) -> Platform:
    return Platform(
        kind="cuda",
        devices=devices,
        device_kind=devices[0].device_kind,
        compute_dtype=jnp.dtype(jnp.bfloat16),
        kv_dtype=jnp.dtype(jnp.bfloat16),
        attention="reference",
        interpret=False,
        page_size=16,
        memory_bytes=free_device_memory(devices[0], fallback=16 * 2**30),
    )
