"""Which matmul kernel the platform hands the model, what it declares, and the auto dtype."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import pytest

import platforms
from pallas_kernels.matmul import XLA_MATMUL
from platforms import matmul
from platforms.attention import import_kernel

CPU = platforms.detect()
native = import_kernel("pallas_kernels.matmul.cpu")[0]
native_bf16, bf16_reason, _ = import_kernel("pallas_kernels.matmul.cpu_bf16")
needs_kernel = pytest.mark.skipif(native is None, reason="the native matmul kernel is unavailable")
needs_bf16 = pytest.mark.skipif(native_bf16 is None, reason=f"no bfloat16 kernel: {bf16_reason}")
BF16, F32 = jnp.dtype(jnp.bfloat16), jnp.dtype(jnp.float32)


@needs_kernel
def test_float32_compute_uses_the_native_kernel_and_keeps_bfloat16_weights():
    kernel = platforms.matmul_kernel(CPU)
    assert kernel is native.KERNEL and kernel.reads_stacked
    assert kernel.activation_dtype == F32 and kernel.product_dtype is None
    assert platforms.weight_dtype(kernel, F32) is None  # bfloat16 stays, float32 stays


@needs_bf16
def test_bfloat16_compute_uses_the_bfloat16_kernel_with_bfloat16_weights():
    kernel = platforms.matmul_kernel(CPU, compute_dtype=BF16)
    assert kernel is native_bf16.KERNEL and kernel.reads_stacked
    assert kernel.activation_dtype == F32 and kernel.product_dtype == BF16
    assert platforms.weight_dtype(kernel, F32) == BF16  # float32 checkpoints are converted


def test_auto_compute_dtype_follows_the_checkpoint_where_the_cpu_multiplies_bfloat16():
    assert platforms.preferred_compute_dtype(CPU, F32) == F32
    want = BF16 if native_bf16 is not None else F32
    assert platforms.preferred_compute_dtype(CPU, BF16) == want
    xla = dataclasses.replace(CPU, matmul="xla")
    assert platforms.preferred_compute_dtype(xla, BF16) == F32  # XLA's bf16 dots are slow here


def test_falls_back_to_xla_where_no_kernel_can_serve(monkeypatch, caplog):
    assert platforms.matmul_kernel(CPU, num_devices=2) is XLA_MATMUL  # no sharding rule
    assert platforms.matmul_kernel(CPU, compute_dtype=jnp.float16) is XLA_MATMUL
    xla = dataclasses.replace(CPU, matmul="xla")
    assert platforms.matmul_kernel(xla) is XLA_MATMUL
    assert not XLA_MATMUL.reads_stacked
    assert platforms.weight_dtype(XLA_MATMUL, BF16) == BF16  # weights in the compute dtype
    key = ("cpu_native", F32)
    monkeypatch.setitem(matmul.KERNEL_MODULES, key, "pallas_kernels.no_such_kernel")
    assert platforms.matmul_kernel(CPU) is XLA_MATMUL
    assert "pallas_kernels.no_such_kernel is unavailable" in caplog.text


def test_kernels_describe_themselves_stably():
    """The description keys cached executables: no addresses, the same in every process."""
    assert repr(XLA_MATMUL) == (
        "MatmulKernel(xla, pallas_kernels.matmul.reference.matmul_reference)"
    )
    assert "0x" not in repr(platforms.matmul_kernel(CPU))


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_selfcheck_passes(dtype):
    passed, detail = matmul.selfcheck(CPU, jnp.dtype(dtype))
    assert passed, detail
