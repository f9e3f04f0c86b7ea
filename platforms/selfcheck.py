"""Quick self-checks of every attention implementation on a tiny ragged batch (`jaxserve doctor`).

Each check calls one implementation as the model does (`platforms.attention.implementation`)
on a random batch of a decode token, a prompt chunk, a short prompt and padding, laid out in
shuffled pages with junk wherever no real token lives, and compares the real rows with float64
dense attention of the same (dtype-rounded) inputs. Compiled kernels are checked only where
they compile (a TPU, a GPU of the right kind); interpret-mode kernels only on CPU. A check
takes a second or two, most of it compiling.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from platforms.attention import (
    ATTENTION_BACKENDS,
    implementation,
    kernel_status,
    resolve_attention,
)
from platforms.base import AttentionImpl, Platform

Mode = Literal["xla", "compiled", "interpret"]

# (kv_len, q_len) per sequence: a decode token, a prompt chunk and a whole short prompt.
SEQS = ((37, 1), (20, 8), (9, 9))
PAGE_SIZE, NUM_HEADS, NUM_KV_HEADS, HEAD_DIM = 16, 4, 2, 64  # D = 64 fits every kernel
PAD_TOKENS, PAD_SLOTS = 2, 1
JUNK_SCALE = 100.0  # cache slots no real token owns hold loud noise, so a masking bug shows


@dataclasses.dataclass(frozen=True)
class Check:
    """One implementation in one mode."""

    impl: AttentionImpl
    mode: Mode


CHECKS = (
    Check("reference", "xla"),
    Check("cpu_native", "compiled"),
    Check("pallas_tpu", "compiled"),
    Check("pallas_tpu", "interpret"),
    Check("pallas_triton", "compiled"),
    Check("pallas_triton", "interpret"),
    Check("pallas_mosaic_gpu", "compiled"),
    Check("pallas_mosaic_gpu", "interpret"),
)

# Where each implementation compiles, and what a machine that is not one lacks.
COMPILES_ON: dict[AttentionImpl, tuple[Callable[[Platform], bool], str]] = {
    "reference": (lambda p: True, ""),
    "cpu_native": (lambda p: p.kind == "cpu", "runs on CPU only"),
    "pallas_tpu": (lambda p: p.kind == "tpu", "needs a TPU"),
    "pallas_triton": (lambda p: p.kind in ("cuda", "rocm"), "needs an NVIDIA or AMD GPU"),
    "pallas_mosaic_gpu": (
        lambda p: p.kind == "cuda" and p.pallas_attention == "pallas_mosaic_gpu",
        "needs an NVIDIA GPU of sm90 (Hopper) or newer",
    ),
}


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """What one check found. `passed` is None when it did not run here."""

    check: Check
    available: bool
    passed: bool | None
    detail: str
    backends: tuple[str, ...]  # the `attention_backend` values that select this row here


def run_selfchecks(platform: Platform) -> Iterator[CheckResult]:
    """Runs every check this platform can run, yielding each result as it finishes."""
    for check in CHECKS:
        yield run_check(check, platform)


def run_check(check: Check, platform: Platform) -> CheckResult:
    """Runs one check, or says why it cannot run here."""
    result = functools.partial(CheckResult, check, backends=_selecting(check, platform))
    status = kernel_status(check.impl)
    if not status.available:
        return result(available=False, passed=None, detail=status.reason)
    compiles_here, requirement = COMPILES_ON[check.impl]
    if check.mode != "interpret" and not compiles_here(platform):
        return result(available=False, passed=None, detail=requirement)
    if check.mode == "interpret" and not platform.interpret:
        return result(available=True, passed=None, detail="not run: interpret checks run on CPU")
    passed, detail = _compare(check, platform)
    notes = [*status.notes, *detail[1:]]
    return result(available=True, passed=passed, detail="; ".join([detail[0], *notes]))


def _selecting(check: Check, platform: Platform) -> tuple[str, ...]:
    wanted = (check.impl, check.mode == "interpret")
    selecting = []
    for backend in ATTENTION_BACKENDS:
        try:
            if resolve_attention(platform, backend) == wanted:
                selecting.append(backend)
        except ValueError:
            continue
    return tuple(selecting)


def _compare(check: Check, platform: Platform) -> tuple[bool, list[str]]:
    """(passed, [detail, warnings...]) of one implementation against the float64 oracle."""
    dtype = jnp.dtype(jnp.bfloat16 if check.impl == "pallas_mosaic_gpu" else platform.compute_dtype)
    inputs, expected = ragged_batch(np.random.default_rng(0), dtype)
    sm_scale = HEAD_DIM**-0.5
    tolerance = max(1e-4, 4 * float(jnp.finfo(dtype).eps))
    fn = implementation(check.impl, interpret=check.mode == "interpret")
    step = jax.jit(functools.partial(fn, sm_scale=sm_scale, sliding_window=None, block_q=16))
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = np.asarray(step(**inputs).astype(jnp.float32), np.float64)
        except Exception as e:  # the doctor reports a broken kernel, it does not crash on it
            message = str(e).strip().splitlines()[0] if str(e).strip() else ""
            return False, [f"{type(e).__name__}: {message}"[:100]]
    seconds = time.perf_counter() - start
    notes = [f"{w.category.__name__}: {str(w.message).split('. ')[0]}" for w in caught]
    real = expected.shape[0]
    err = float(np.linalg.norm(out[:real] - expected) / np.linalg.norm(expected))
    padding_zero = not out[real:].any()
    passed = bool(np.isfinite(out).all()) and err <= tolerance and padding_zero
    detail = f"{dtype.name} rel err {err:.1e} (tol {tolerance:.0e}), {seconds:.1f} s"
    if not padding_zero:
        detail += ", padding rows not zero"
    return passed, [detail, *notes]


def ragged_batch(rng: np.random.Generator, dtype: jnp.dtype) -> tuple[dict, np.ndarray]:
    """Kernel inputs for `SEQS` in `dtype`, and the float64 output [real tokens, H, D]."""
    pages_needed = [-(-kv_len // PAGE_SIZE) for kv_len, _ in SEQS]
    num_pages = sum(pages_needed) + 2
    pages_per_seq = max(pages_needed) + 1
    num_slots = len(SEQS) + PAD_SLOTS
    shape = (num_pages, PAGE_SIZE, NUM_KV_HEADS, HEAD_DIM)
    k_pages = _rounded(rng.standard_normal(shape) * JUNK_SCALE, dtype)  # [P, page_size, K, D]
    v_pages = _rounded(rng.standard_normal(shape) * JUNK_SCALE, dtype)
    page_indices = rng.integers(0, num_pages, (num_slots, pages_per_seq)).astype(np.int32)
    kv_lens = rng.integers(0, pages_per_seq * PAGE_SIZE + 1, num_slots).astype(np.int32)
    cu_q_lens = np.zeros(num_slots + 1, np.int32)
    order = iter(rng.permutation(num_pages))
    queries, expected = [], []
    for s, (kv_len, q_len) in enumerate(SEQS):
        table = np.array([next(order) for _ in range(pages_needed[s])])
        page_indices[s, : len(table)] = table
        kv_lens[s] = kv_len
        cu_q_lens[s + 1] = cu_q_lens[s] + q_len
        slots = (table[np.arange(kv_len) // PAGE_SIZE], np.arange(kv_len) % PAGE_SIZE)
        k_pages[slots] = _rounded(rng.standard_normal((kv_len, NUM_KV_HEADS, HEAD_DIM)), dtype)
        v_pages[slots] = _rounded(rng.standard_normal((kv_len, NUM_KV_HEADS, HEAD_DIM)), dtype)
        q = _rounded(rng.standard_normal((q_len, NUM_HEADS, HEAD_DIM)), dtype)  # [Q, H, D]
        queries.append(q)
        expected.append(_dense_attention(q, k_pages[slots], v_pages[slots], kv_len - q_len))
    cu_q_lens[len(SEQS) + 1 :] = cu_q_lens[len(SEQS)]
    queries.append(rng.standard_normal((PAD_TOKENS, NUM_HEADS, HEAD_DIM)))
    inputs = dict(
        q=jnp.asarray(np.concatenate(queries), dtype),
        k_pages=jnp.asarray(k_pages, dtype),
        v_pages=jnp.asarray(v_pages, dtype),
        kv_lens=jnp.asarray(kv_lens),
        page_indices=jnp.asarray(page_indices),
        cu_q_lens=jnp.asarray(cu_q_lens),
        num_seqs=jnp.asarray([len(SEQS)], jnp.int32),
    )
    return inputs, np.concatenate(expected)


def _rounded(x: np.ndarray, dtype: jnp.dtype) -> np.ndarray:
    """x as `dtype` stores it, back in float64."""
    return np.asarray(jnp.asarray(x, dtype).astype(jnp.float32), np.float64)


def _dense_attention(q, k, v, q_start: int) -> np.ndarray:
    """q: [Q, H, D] at positions q_start.. over k, v: [L, K, D] -> [Q, H, D], causal, float64."""
    group = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)  # [L, H, D]
    scores = np.einsum("qhd,lhd->hql", q, k) * HEAD_DIM**-0.5
    causal = np.arange(k.shape[0])[None, :] <= q_start + np.arange(q.shape[0])[:, None]
    scores = np.where(causal[None], scores, -np.inf)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    return np.einsum("hql,lhd->qhd", probs / probs.sum(-1, keepdims=True), v)


COLUMNS = (("kernel", 18), ("mode", 10), ("available", 10), ("self-check", 11), ("selected by", 22))
HEADER = " ".join(f"{title:<{width}}" for title, width in COLUMNS) + " detail"


def format_result(result: CheckResult) -> str:
    """One table row, aligned with `HEADER`."""
    cells = (
        result.check.impl,
        result.check.mode,
        "yes" if result.available else "no",
        {None: "-", True: "pass", False: "FAIL"}[result.passed],
        ", ".join(result.backends) or "-",
    )
    row = " ".join(f"{cell:<{width}}" for cell, (_, width) in zip(cells, COLUMNS, strict=True))
    return f"{row} {result.detail}"
