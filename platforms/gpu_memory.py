"""Free accelerator memory as the runtime reports it."""

from __future__ import annotations

import jax


def free_device_memory(device: jax.Device, fallback: int) -> int:
    """Bytes the runtime still lets this device allocate, or `fallback` when it won't say."""
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if not stats or "bytes_limit" not in stats:
        return fallback
    return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
