"""Platform detection from JAX's devices, and the per-platform decisions."""

from __future__ import annotations

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import pytest

import platforms
from pallas_kernels.ragged_paged_attention import ragged_paged_attention_reference
from platforms import cpu, cuda, rocm, tpu


def fake_device(platform, kind, version="", memory=None, capability=None):
    return SimpleNamespace(
        platform=platform,
        device_kind=kind,
        client=SimpleNamespace(platform_version=version),
        compute_capability=capability,
        memory_stats=lambda: memory,
    )


@pytest.mark.cpu
def test_detects_this_cpu():
    platform = platforms.detect()
    assert platform.kind == "cpu"
    assert platform.devices == tuple(jax.devices())
    assert platform.compute_dtype == jnp.float32
    assert platform.kv_dtype == jnp.float32
    # The native kernel where this machine can build it, else the reference.
    native = platforms.attention.kernel_status("cpu_native").available
    assert platform.attention == ("cpu_native" if native else "reference")
    assert platform.memory_bytes > 0
    assert platforms.attention_fn(platform, "reference") is ragged_paged_attention_reference
    assert "platform:      cpu" in platform.describe()


@pytest.mark.parametrize(
    ("device", "kind"),
    [
        (fake_device("cpu", "cpu"), "cpu"),
        (fake_device("tpu", "TPU v5 lite"), "tpu"),
        (fake_device("gpu", "NVIDIA H100 80GB HBM3", "cuda 12080"), "cuda"),
        (fake_device("cuda", "NVIDIA A100-SXM4-40GB"), "cuda"),
        (fake_device("gpu", "AMD Instinct MI300X", "rocm 60300"), "rocm"),
        (fake_device("gpu", "gfx942", "ROCm 6.3"), "rocm"),
        (fake_device("rocm", "AMD Instinct MI250X"), "rocm"),
    ],
)
def test_classifies_devices(device, kind):
    assert platforms.platform_kind(device) == kind


def test_unknown_backend_is_named():
    with pytest.raises(RuntimeError, match="unsupported JAX platform 'metal'"):
        platforms.platform_kind(fake_device("metal", "Apple M3"))


@pytest.mark.parametrize("module", [cuda, rocm, tpu])
def test_accelerators_compute_in_bf16_with_reported_memory(module):
    device = fake_device("gpu", "chip", memory={"bytes_limit": 80 * 2**30, "bytes_in_use": 2**30})
    platform = module.make((device, device))
    assert platform.compute_dtype == jnp.bfloat16
    assert platform.kv_dtype == jnp.bfloat16
    assert platform.memory_bytes == 79 * 2**30
    assert platform.device_count == 2
    assert not platform.interpret


def test_memory_falls_back_when_runtime_is_silent():
    platform = cuda.make((fake_device("gpu", "chip", memory=None),))
    assert platform.memory_bytes == 16 * 2**30


@pytest.mark.parametrize(
    ("module", "device", "kernel"),
    [
        (tpu, fake_device("tpu", "TPU v5 lite"), "pallas_tpu"),
        (cuda, fake_device("gpu", "NVIDIA H100 80GB HBM3", capability="9.0"), "pallas_mosaic_gpu"),
        (cuda, fake_device("gpu", "NVIDIA B200", capability="10.0"), "pallas_mosaic_gpu"),
        (cuda, fake_device("gpu", "NVIDIA A100-SXM4-40GB", capability="8.0"), "pallas_triton"),
        (cuda, fake_device("gpu", "NVIDIA L4", capability="8.9"), "pallas_triton"),
        (cuda, fake_device("gpu", "Tesla T4", capability="7.5"), "pallas_triton"),
        (cuda, fake_device("gpu", "unreported"), "pallas_triton"),
        (rocm, fake_device("gpu", "AMD Instinct MI300X", "rocm 60300"), "pallas_triton"),
    ],
    ids=lambda x: x if isinstance(x, str) else getattr(x, "device_kind", None),
)
def test_accelerators_run_their_pallas_kernel_compiled(module, device, kernel):
    platform = module.make((device,))
    assert platform.attention == platform.pallas_attention == kernel
    assert not platform.interpret
    assert f"attention:     {kernel}\n" in platform.describe()


def test_cpu_runs_the_native_kernel_and_interprets_the_tpu_kernel():
    platform = cpu.make(tuple(jax.devices()))
    assert (platform.attention, platform.pallas_attention) == ("cpu_native", "pallas_tpu")
    assert platform.interpret
    assert "attention:     cpu_native\n" in platform.describe()
    assert "pallas kernel: pallas_tpu (interpret mode)" in platform.describe()


def test_an_unimportable_kernel_falls_back_to_the_reference(monkeypatch, caplog):
    monkeypatch.setitem(
        platforms.attention.KERNEL_MODULES, "pallas_tpu", "pallas_kernels.no_such_kernel"
    )
    platform = platforms.with_available_attention(tpu.make((fake_device("tpu", "TPU v4"),)))
    assert (platform.attention, platform.pallas_attention) == ("reference", "pallas_tpu")
    assert "pallas_tpu is unavailable (ModuleNotFoundError" in caplog.text


def test_cuda_compute_capability():
    assert cuda.compute_capability(fake_device("gpu", "H100", capability="9.0")) == (9, 0)
    assert cuda.compute_capability(fake_device("gpu", "x")) is None


def test_platform_is_frozen():
    platform = cpu.make(tuple(jax.devices()))
    with pytest.raises(AttributeError):
        platform.kind = "tpu"  # type: ignore[misc]
