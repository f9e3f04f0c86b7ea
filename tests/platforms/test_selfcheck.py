"""`jaxserve doctor`'s kernel self-checks: what runs where, and that a wrong kernel fails."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import platforms
from pallas_kernels.ragged_paged_attention import ragged_paged_attention_reference
from platforms import attention, cpu, selfcheck, tpu
from platforms.selfcheck import Check, format_result, run_check
from tests.pallas_kernels.rpa_cases import dense_attention
from tests.platforms.test_detect import fake_device

CPU = cpu.make(tuple(jax.devices()))


def test_the_batch_is_ragged_and_its_oracle_agrees_with_the_test_oracle():
    inputs, expected = selfcheck.ragged_batch(np.random.default_rng(0), jnp.dtype(jnp.float32))
    num_real = sum(q_len for _, q_len in selfcheck.SEQS)
    assert inputs["q"].shape == (num_real + selfcheck.PAD_TOKENS, 4, 64)
    assert expected.shape == (num_real, 4, 64)
    assert inputs["cu_q_lens"].tolist() == [0, 1, 9, 18, 18]
    # the last sequence is a whole prompt: its output needs only its own pages
    k, v = inputs["k_pages"], inputs["v_pages"]
    pos = np.arange(9)
    page = np.asarray(inputs["page_indices"])[2, pos // 16]
    q = np.asarray(inputs["q"][9:18], np.float64)
    kv = [np.asarray(x[page, pos % 16], np.float64) for x in (k, v)]
    np.testing.assert_allclose(expected[9:], dense_attention(q, *kv, 0, 64**-0.5), rtol=1e-12)


@pytest.mark.cpu
def test_the_reference_passes_on_cpu():
    result = run_check(Check("reference", "xla"), CPU)
    assert result.available and result.passed
    assert result.backends == ("reference",)
    assert "float32 rel err" in result.detail
    row = format_result(result)
    assert row.startswith("reference          xla        yes        pass        reference")


@pytest.mark.cpu
def test_the_native_kernel_passes_on_cpu():
    result = run_check(Check("cpu_native", "compiled"), CPU)
    if not attention.kernel_status("cpu_native").available:
        assert not result.available and "compiler" in result.detail
        return
    assert result.available and result.passed, result.detail
    assert result.backends == ("auto",)
    row = format_result(result)
    assert row.startswith("cpu_native         compiled   yes        pass        auto")


def test_compiled_kernels_need_their_platform():
    for impl, needs in [("pallas_tpu", "needs a TPU"), ("pallas_mosaic_gpu", "sm90")]:
        result = run_check(Check(impl, "compiled"), CPU)
        assert not result.available and result.passed is None and needs in result.detail


def test_interpret_checks_run_only_on_cpu():
    platform = tpu.make((fake_device("tpu", "TPU v5 lite"),))
    result = run_check(Check("pallas_triton", "interpret"), platform)
    assert result.available and result.passed is None and "run on CPU" in result.detail
    assert run_check(Check("pallas_tpu", "interpret"), platform).backends == ("pallas-interpret",)


def test_an_unimportable_kernel_is_reported(monkeypatch):
    monkeypatch.setitem(attention.KERNEL_MODULES, "pallas_triton", "pallas_kernels.no_such_kernel")
    result = run_check(Check("pallas_triton", "interpret"), CPU)
    assert not result.available and result.passed is None
    assert result.detail.startswith("ModuleNotFoundError")


@pytest.mark.cpu
@pytest.mark.parametrize(
    ("wrong", "expected"),
    [
        (lambda q, *args, **kwargs: q, "rel err"),  # attends to nothing
        (
            lambda q, *args, **kwargs: ragged_paged_attention_reference(q, *args, **kwargs) + 1,
            "padding rows not zero",
        ),
        (lambda *args, **kwargs: 1 / 0, "ZeroDivisionError: division by zero"),
    ],
    ids=["wrong-values", "nonzero-padding", "raises"],
)
def test_a_wrong_kernel_fails(monkeypatch, wrong, expected):
    monkeypatch.setattr(selfcheck, "implementation", lambda impl, interpret: wrong)
    result = run_check(Check("pallas_triton", "interpret"), CPU)
    assert result.available and result.passed is False and expected in result.detail
    assert " FAIL " in format_result(result)


@pytest.mark.cuda
@pytest.mark.rocm
@pytest.mark.tpu
def test_every_check_that_runs_here_passes():
    """On an accelerator: the reference and the platform's kernels pass compiled."""
    platform = platforms.detect()
    results = list(selfcheck.run_selfchecks(platform))
    ran = {(r.check.impl, r.check.mode): r for r in results if r.passed is not None}
    assert ("reference", "xla") in ran and (platform.pallas_attention, "compiled") in ran
    failed = [format_result(r) for r in ran.values() if not r.passed]
    assert not failed, "\n".join(failed)
