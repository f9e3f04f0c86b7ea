"""Device detection: which platform this process runs on and the per-platform choices.

`detect()` looks at JAX's default backend and its devices and builds a frozen `Platform`
from the table below; model code asks the platform, never the backend, what to do.
`attention_fn(platform, attention_backend)` hands out the attention implementation
(`platforms.attention` documents the choices); `platforms.selfcheck` tests them all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax

from platforms import cpu, cuda, rocm, tpu
from platforms.attention import (
    ATTENTION_BACKENDS,
    AttentionBackendError,
    attention_fn,
    resolve_attention,
    with_available_attention,
)
from platforms.base import AttentionImpl, MatmulImpl, Platform, PlatformKind
from platforms.grouped_matmul import grouped_matmul_fn
from platforms.huge_pages import back_with_huge_pages
from platforms.matmul import fp8_weights, matmul_kernel, preferred_compute_dtype, weight_dtype

__all__ = [
    "ATTENTION_BACKENDS",
    "AttentionBackendError",
    "AttentionImpl",
    "MatmulImpl",
    "Platform",
    "PlatformKind",
    "attention_fn",
    "back_with_huge_pages",
    "detect",
    "fp8_weights",
    "grouped_matmul_fn",
    "matmul_kernel",
    "platform_kind",
    "preferred_compute_dtype",
    "resolve_attention",
    "weight_dtype",
    "with_available_attention",
]

_MAKERS: dict[PlatformKind, Callable[[tuple[jax.Device, ...]], Platform]] = {
    "cpu": cpu.make,
    "cuda": cuda.make,
    "rocm": rocm.make,
    "tpu": tpu.make,
}


def platform_kind(device: jax.Device) -> PlatformKind:
    """Classifies one JAX device as cpu, cuda, rocm or tpu."""
    name = device.platform.lower()
    if name in ("cpu", "tpu", "cuda", "rocm"):
        return name  # type: ignore[return-value]
    if name == "gpu":
        version = str(getattr(device.client, "platform_version", "")).lower()
        kind_name = device.device_kind.lower()
        if "rocm" in version or "hip" in version or kind_name.startswith("amd"):
            return "rocm"
        return "cuda"
    raise RuntimeError(
        f"unsupported JAX platform {device.platform!r}; jaxserve runs on {sorted(_MAKERS)}"
    )


@functools.cache
def detect(backend: str | None = None) -> Platform:
    """The platform of JAX's default backend (or of `backend`, e.g. "cpu").

    Where the platform's attention kernel does not import (see `platforms.attention`), its
    `attention` falls back to the jnp reference; `pallas_attention` still names the kernel.
    """
    devices = tuple(jax.devices(backend))
    return with_available_attention(_MAKERS[platform_kind(devices[0])](devices))
