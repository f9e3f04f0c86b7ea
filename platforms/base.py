"""The `Platform` record: what was detected and the decisions that follow from it."""

from __future__ import annotations

import dataclasses
from typing import Literal

import jax
import jax.numpy as jnp

PlatformKind = Literal["cpu", "cuda", "rocm", "tpu"]
AttentionImpl = Literal[
    "reference", "cpu_native", "pallas_tpu", "pallas_mosaic_gpu", "pallas_triton"
]
MatmulImpl = Literal["xla", "cpu_native"]
# Implementations that are neither interpreted nor Pallas: they always run compiled.
NATIVE_ATTENTION: tuple[AttentionImpl, ...] = ("reference", "cpu_native")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Platform:
    """One detected accelerator platform and the choices jaxserve makes for it.

    Attributes:
        kind: cpu, cuda, rocm or tpu.
        devices: the JAX devices of this platform, in `jax.devices()` order.
        device_kind: the vendor's name for the chip (e.g. "NVIDIA H100 80GB HBM3").
        compute_dtype: dtype of weights and activations ("auto" resolves to this).
        kv_dtype: dtype of the paged KV cache.
        attention: the ragged paged attention implementation the model calls by default
            (`attention_backend="auto"`).
        pallas_attention: this platform's Pallas kernel, what `attention_backend="pallas"`
            and `"pallas-interpret"` select (on CPU the TPU kernel, for its interpreter).
        matmul: what multiplies by the layers' weight matrices: "xla" (weights in the compute
            dtype), or "cpu_native" (`pallas_kernels.matmul.cpu`; a bfloat16 checkpoint keeps
            its weights in bfloat16, widened exactly as the kernel reads them).
        interpret: whether Pallas kernels run in interpret mode rather than compiled.
        page_size: default tokens per KV page.
        memory_bytes: memory per device available for weights, activations and KV cache.
    """

    kind: PlatformKind
    devices: tuple[jax.Device, ...]
    device_kind: str
    compute_dtype: jnp.dtype
    kv_dtype: jnp.dtype
    attention: AttentionImpl
    pallas_attention: AttentionImpl
    interpret: bool
    matmul: MatmulImpl = "xla"
    page_size: int
    memory_bytes: int

    @property
    def device_count(self) -> int:
        return len(self.devices)

    def describe(self) -> str:
        """A few human-readable lines for `jaxserve doctor` and start-up logs."""
        gib = self.memory_bytes / 2**30
        mode = "interpret mode" if self.interpret else "compiled"
        interpreted = self.interpret and self.attention not in NATIVE_ATTENTION
        return "\n".join(
            [
                f"platform:      {self.kind} ({self.device_kind}) x {self.device_count}",
                f"compute dtype: {jnp.dtype(self.compute_dtype).name}",
                f"kv dtype:      {jnp.dtype(self.kv_dtype).name}",
                f"attention:     {self.attention}" + (" (interpret mode)" if interpreted else ""),
                f"pallas kernel: {self.pallas_attention} ({mode})",
                f"matmul:        {self.matmul}",
                f"page size:     {self.page_size}",
                f"memory:        {gib:.1f} GiB per device",
            ]
        )
