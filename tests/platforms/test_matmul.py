"""Which matmul the platform hands the model, and which weights stay bfloat16 under it."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import pytest

import platforms
from pallas_kernels.matmul import matmul_reference
from platforms import matmul
from platforms.attention import import_kernel

CPU = platforms.detect()
native = import_kernel("pallas_kernels.matmul.cpu")[0]
needs_kernel = pytest.mark.skipif(native is None, reason="the native matmul kernel is unavailable")


@needs_kernel
def test_cpu_uses_the_native_kernel_and_keeps_bfloat16_weights():
    fn = platforms.matmul_fn(CPU)
    assert fn is native.matmul_cpu
    assert platforms.keeps_bfloat16_weights(fn, jnp.float32)
    assert not platforms.keeps_bfloat16_weights(fn, jnp.bfloat16)


def test_falls_back_to_xla_where_the_kernel_cannot_serve(monkeypatch, caplog):
    assert platforms.matmul_fn(CPU, num_devices=2) is matmul_reference  # no sharding rule
    assert platforms.matmul_fn(CPU, compute_dtype=jnp.bfloat16) is matmul_reference
    xla = dataclasses.replace(CPU, matmul="xla")
    assert platforms.matmul_fn(xla) is matmul_reference
    assert not platforms.keeps_bfloat16_weights(matmul_reference, jnp.float32)
    monkeypatch.setitem(matmul.KERNEL_MODULES, "cpu_native", "pallas_kernels.no_such_kernel")
    assert platforms.matmul_fn(CPU) is matmul_reference
    assert "cpu_native kernel is unavailable" in caplog.text
