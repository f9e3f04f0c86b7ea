"""The GPU benchmark's workloads, its float32 oracle and its clock (`gpu_kernels.py`'s parts).

A `Case` is one ragged paged attention call's shape; `make_inputs` lays a random batch out as
the engine would; `truth` and `error_of` check an output against the reference at highest
precision; `median_ms` and `time_it` time a kernel and turn its time into a share of the
card's copy rate.
"""

from __future__ import annotations

import dataclasses
import functools
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from pallas_kernels.ragged_paged_attention.reference import ragged_paged_attention_reference

TOLERANCE = {"float32": 1e-5, "bfloat16": 2e-2}


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    seqs: tuple[tuple[int, int], ...]  # (kv_len, q_len) of each real sequence
    num_heads: int
    num_kv_heads: int
    head_dim: int
    page_size: int
    dtype: str
    window: int | None = None
    pad_tokens: int = 7
    pad_seqs: int = 4

    @property
    def decode(self) -> bool:
        return all(q == 1 for _, q in self.seqs)

    @property
    def num_slots(self) -> int:
        """S: sequence slots, real and padding."""
        return len(self.seqs) + self.pad_seqs

    def kv_bytes(self) -> int:
        """K and V bytes the step must read at least: each needed key once per KV head."""
        keys = 0
        for kv, q in self.seqs:
            lo = 0 if self.window is None else max(0, kv - q - self.window + 1)
            keys += kv - lo
        return 2 * keys * self.num_kv_heads * self.head_dim * jnp.dtype(self.dtype).itemsize


def kernel_cases(smoke: bool) -> list[Case]:
    rng = np.random.default_rng(0)
    if smoke:
        decode = tuple((int(k), 1) for k in rng.integers(5, 90, 6))
        mixed = (*decode[:3], (50, 13), (23, 23))
        return [
            Case("decode-g4-d64-p16", decode, 8, 2, 64, 16, "bfloat16"),
            Case("mixed-g2-d64-p16", mixed, 4, 2, 64, 16, "bfloat16", window=9),
            Case("decode-g4-d64-p16-f32", decode, 8, 2, 64, 16, "float32"),
        ]
    decode = tuple((int(k), 1) for k in rng.integers(1024, 4097, 64))
    mixed = (*decode[:48], *((k, 256) for k in (1024, 2000, 3000, 1500)), (300, 300), (123, 123))
    return [
        Case("decode-g8-d128-p16", decode, 32, 4, 128, 16, "bfloat16"),
        Case("decode-g4-d128-p32", decode, 32, 8, 128, 32, "bfloat16"),
        Case("decode-g4-d64-p16", decode, 32, 8, 64, 16, "bfloat16"),
        Case("mixed-g4-d128-p16", mixed, 32, 8, 128, 16, "bfloat16"),
        Case(
            "prefill-g4-d128-p16", ((1000, 1000),) * 3 + ((777, 777),), 32, 8, 128, 16, "bfloat16"
        ),
        Case("mixed-g4-d128-p16-w512", mixed, 32, 8, 128, 16, "bfloat16", window=512),
        Case("decode-g8-d128-p16-f32", decode[:32], 32, 4, 128, 16, "float32"),
    ]


def make_inputs(case: Case, seed: int) -> dict:
    """A random batch laid out as the engine would: shuffled pages, junk past every length."""
    rng = np.random.default_rng(seed)
    ps = case.page_size
    need = [-(-kv // ps) for kv, _ in case.seqs]
    pages_per_seq = max(need) + 1
    num_pages = sum(need) + 9  # page 0 and 8 more are never part of a real sequence
    order = rng.permutation(np.arange(1, num_pages))
    num_slots = len(case.seqs) + case.pad_seqs
    page_indices = rng.integers(0, num_pages, (num_slots, pages_per_seq)).astype(np.int32)
    kv_lens = np.zeros(num_slots, np.int32)
    cu_q_lens = np.zeros(num_slots + 1, np.int32)
    cursor = 0
    for s, (kv, q) in enumerate(case.seqs):
        page_indices[s, : need[s]] = order[cursor : cursor + need[s]]
        cursor += need[s]
        kv_lens[s], cu_q_lens[s + 1] = kv, cu_q_lens[s] + q
    cu_q_lens[len(case.seqs) + 1 :] = cu_q_lens[len(case.seqs)]
    num_tokens = int(cu_q_lens[-1]) + case.pad_tokens
    dtype = jnp.dtype(case.dtype)
    kq, kk, kv_ = jax.random.split(jax.random.key(seed), 3)
    pool = (num_pages, ps, case.num_kv_heads, case.head_dim)
    return dict(
        q=jax.random.normal(kq, (num_tokens, case.num_heads, case.head_dim), dtype),
        k_pages=jax.random.normal(kk, pool, dtype),
        v_pages=jax.random.normal(kv_, pool, dtype),
        kv_lens=jnp.asarray(kv_lens),
        page_indices=jnp.asarray(page_indices),
        cu_q_lens=jnp.asarray(cu_q_lens),
        num_seqs=jnp.asarray([len(case.seqs)], jnp.int32),
    )


@functools.cache
def truth(case: Case, seed: int) -> jax.Array:
    """f32 reference output at highest matmul precision (XLA on GPU defaults to TF32)."""
    x = make_inputs(case, seed)
    for name in ("q", "k_pages", "v_pages"):
        x[name] = x[name].astype(jnp.float32)
    with jax.default_matmul_precision("highest"):
        return ragged_paged_attention_reference(
            **x, sm_scale=case.head_dim**-0.5, sliding_window=case.window,
            block_q=1 if case.decode else 16,
        )  # fmt: skip


def error_of(out, case: Case, seed: int) -> tuple[float, str]:
    """(relative error on real rows, problems found: non-finite values, nonzero padding)."""
    real = sum(q for _, q in case.seqs)
    out = out.astype(jnp.float32)
    ref = truth(case, seed)
    err = float(jnp.linalg.norm(out[:real] - ref[:real]) / jnp.linalg.norm(ref[:real]))
    problems = []
    if not bool(jnp.isfinite(out).all()):
        problems.append("NaN/inf in output")
    if bool(jnp.any(out[real:] != 0)):
        problems.append("padding rows not zero")
    return err, "; ".join(problems)


def median_ms(fn, *, reps: int = 7, warmup: int = 3, batch_s: float = 0.03) -> float:
    """Median per-call time of back-to-back calls (one device stream: the last one ends last)."""
    if jax.default_backend() == "cpu":  # plumbing only (interpret mode): a token timing
        reps, warmup, batch_s = 2, 1, 0.0
    for _ in range(warmup):
        jax.block_until_ready(fn())
    t = time.perf_counter()
    jax.block_until_ready(fn())
    n = max(1, min(100, int(batch_s / max(time.perf_counter() - t, 1e-6))))
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(n):
            out = fn()
        jax.block_until_ready(out)
        times.append((time.perf_counter() - t) / n)
    return 1e3 * statistics.median(times)


def time_it(emit, impl, case: Case, copy_bw, section="time", note="", **tun) -> float:
    x = make_inputs(case, 1)
    ms = median_ms(lambda: impl(x, case, **tun))
    gbps = case.kv_bytes() / ms / 1e6
    frac = gbps / copy_bw if copy_bw else ""
    note = note or f"{case.kv_bytes() / 1e6:.3g} MB of KV needed"
    emit.row(
        section=section,
        case=case.name,
        status="ok",
        ms=ms,
        GB_s=gbps,
        of_copy=frac,
        note=note,
    )
    return ms
