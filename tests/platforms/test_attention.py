"""The attention table: `attention_backend` values, lazy kernel imports and the adapters."""

from __future__ import annotations

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pallas_kernels.ragged_paged_attention import ragged_paged_attention_reference
from platforms import attention, cpu, cuda, rocm, tpu
from platforms.attention import AttentionBackendError, attention_fn, resolve_attention
from tests.pallas_kernels.rpa_cases import make_ragged_batch
from tests.platforms.test_detect import fake_device

CPU = cpu.make((fake_device("cpu", "cpu"),))
TPU = tpu.make((fake_device("tpu", "TPU v5 lite"),))
HOPPER = cuda.make((fake_device("gpu", "NVIDIA H100 80GB HBM3", capability="9.0"),))
AMPERE = cuda.make((fake_device("gpu", "NVIDIA A100-SXM4-40GB", capability="8.0"),))
ROCM = rocm.make((fake_device("gpu", "AMD Instinct MI300X", "rocm 60300"),))


@pytest.mark.parametrize(
    ("platform", "backend", "expected"),
    [
        (CPU, None, ("cpu_native", False)),
        (CPU, "auto", ("cpu_native", False)),
        (CPU, "reference", ("reference", False)),
        (CPU, "pallas-interpret", ("pallas_tpu", True)),
        (TPU, "auto", ("pallas_tpu", False)),
        (TPU, "pallas", ("pallas_tpu", False)),
        (TPU, "pallas-interpret", ("pallas_tpu", True)),
        (TPU, "reference", ("reference", False)),
        (HOPPER, None, ("pallas_mosaic_gpu", False)),
        (HOPPER, "pallas-interpret", ("pallas_mosaic_gpu", True)),
        (AMPERE, "pallas", ("pallas_triton", False)),
        (ROCM, "auto", ("pallas_triton", False)),
        (ROCM, "pallas-interpret", ("pallas_triton", True)),
    ],
)
def test_backend_values_select_per_platform(platform, backend, expected):
    assert resolve_attention(platform, backend) == expected


def test_pallas_compiled_is_refused_on_cpu():
    with pytest.raises(ValueError, match="only run in interpret mode: use 'pallas-interpret'"):
        attention_fn(CPU, "pallas")


@pytest.mark.parametrize("backend", ["triton", "Pallas", "", "pallas_interpret"])
def test_unknown_backends_name_the_valid_ones(backend):
    valid = "'auto', 'reference', 'pallas', 'pallas-interpret' or None"
    with pytest.raises(AttentionBackendError, match=f"must be one of {valid}, got {backend!r}"):
        resolve_attention(CPU, backend)


def test_reference_and_native_are_plain_functions():
    assert attention_fn(CPU, "reference") is ragged_paged_attention_reference
    assert attention_fn(TPU, "reference") is ragged_paged_attention_reference
    if attention.kernel_status("cpu_native").available:
        assert attention_fn(CPU).__name__ == "ragged_paged_attention_cpu"


def test_kernels_are_named_partials_with_their_mode():
    fn = attention_fn(CPU, "pallas-interpret")
    assert fn.func.__name__ == "_pallas_tpu" and fn.keywords == {"interpret": True}
    assert attention_fn(AMPERE).keywords == {"interpret": False}


@pytest.fixture
def kernel_dir(tmp_path, monkeypatch):
    """A folder on sys.path for stand-in kernel modules."""
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_a_kernel_that_fails_to_import_is_unavailable_with_the_reason(kernel_dir, monkeypatch):
    (kernel_dir / "broken_rpa_kernel.py").write_text("raise RuntimeError('needs jax 0.9')\n")
    monkeypatch.setitem(attention.KERNEL_MODULES, "pallas_triton", "broken_rpa_kernel")
    status = attention.kernel_status("pallas_triton")
    assert not status.available and status.reason == "RuntimeError: needs jax 0.9"
    with pytest.raises(AttentionBackendError, match="pallas_triton is unavailable: RuntimeError"):
        attention_fn(ROCM)


def test_import_warnings_are_kept_not_raised(kernel_dir, monkeypatch, caplog):
    """Pallas Triton's upstream deprecation must not stop start-up, even with -W error."""
    (kernel_dir / "deprecated_rpa_kernel.py").write_text(
        "import warnings\nwarnings.warn('Triton is deprecated', DeprecationWarning)\n"
    )
    monkeypatch.setitem(attention.KERNEL_MODULES, "pallas_triton", "deprecated_rpa_kernel")
    status = attention.kernel_status("pallas_triton")
    assert status.available and status.notes == ("DeprecationWarning: Triton is deprecated",)
    assert "Triton is deprecated" in caplog.text


def decode_batch():
    """Decode-only: one query per sequence, with more padded tokens than sequence slots."""
    seqs = [(37, 1), (1, 1), (20, 1)]
    return make_ragged_batch(
        np.random.default_rng(3), seqs, page_size=16, num_heads=4, num_kv_heads=2,
        head_dim=32, pad_tokens=2, pad_seqs=0,
    )  # fmt: skip


def mixed_batch():
    seqs = [(70, 1), (50, 13), (23, 23), (5, 1)]
    return make_ragged_batch(
        np.random.default_rng(4), seqs, page_size=16, num_heads=4, num_kv_heads=2,
        head_dim=32, pad_tokens=3, pad_seqs=2,
    )  # fmt: skip


SINKS = jnp.asarray([0.5, -1.0, 2.0, 0.0], jnp.float32)  # one per query head of the batches


@pytest.mark.cpu
@pytest.mark.parametrize(
    ("platform", "batch", "block_q", "window", "soft_cap"),
    [(CPU, decode_batch, 1, None, None), (ROCM, mixed_batch, 16, 9, 2.0)],
    ids=["tpu-decode", "triton-mixed-window-cap-sinks"],
)
def test_interpreted_kernels_match_the_reference(platform, batch, block_q, window, soft_cap):
    """Each adapter, as the model calls it, agrees with the reference in interpret mode."""
    batch = batch()
    options = dict(sm_scale=0.2, sliding_window=window, soft_cap=soft_cap, block_q=block_q)
    sinks = None if soft_cap is None else SINKS
    kernel = attention_fn(platform, "pallas-interpret")
    reference = attention_fn(platform, "reference")
    out = jax.jit(lambda inputs, sinks: kernel(**inputs, **options, sinks=sinks))(
        batch.inputs, sinks
    )
    expected = jax.jit(lambda inputs, sinks: reference(**inputs, **options, sinks=sinks))(
        batch.inputs, sinks
    )
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.cpu
def test_mosaic_gpu_falls_back_to_triton_for_float32(caplog):
    """Mosaic GPU takes bf16/f16 only; a float32 model on Hopper still runs, score options too."""
    batch = mixed_batch()
    fn = attention_fn(HOPPER, "pallas-interpret")
    options = dict(sm_scale=0.2, soft_cap=3.0)
    with caplog.at_level(logging.WARNING):
        out = jax.jit(lambda inputs, sinks: fn(**inputs, **options, sinks=sinks, block_q=16))(
            batch.inputs, SINKS
        )
    assert "Mosaic GPU attention" in caplog.text and "using pallas_triton" in caplog.text
    expected = jax.jit(
        lambda inputs, sinks: ragged_paged_attention_reference(**inputs, **options, sinks=sinks)
    )(batch.inputs, SINKS)
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
