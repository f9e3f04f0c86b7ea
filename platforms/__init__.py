"""Device detection: which platform this process runs on and the per-platform choices.

`detect()` looks at JAX's default backend and its devices and builds a frozen `Platform`
from the table below; model code asks the platform, never the backend, what to do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax

from pallas_kernels.ragged_paged_attention import ragged_paged_attention_reference
from platforms import cpu, cuda, rocm, tpu
from platforms.base import AttentionImpl, Platform, PlatformKind

__all__ = ["Platform", "PlatformKind", "attention_fn", "detect", "platform_kind"]

_MAKERS: dict[PlatformKind, Callable[[tuple[jax.Device, ...]], Platform]] = {
    "cpu": cpu.make,
    "cuda": cuda.make,
    "rocm": rocm.make,
    "tpu": tpu.make,
}

_ATTENTION: dict[AttentionImpl, Callable[..., jax.Array]] = {
    "reference": ragged_paged_attention_reference,
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
    """The platform of JAX's default backend (or of `backend`, e.g. "cpu")."""
    devices = tuple(jax.devices(backend))
    return _MAKERS[platform_kind(devices[0])](devices)


def attention_fn(platform: Platform) -> Callable[..., jax.Array]:
    """The ragged paged attention implementation this platform selected."""
    return _ATTENTION[platform.attention]
