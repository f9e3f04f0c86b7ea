#!/usr/bin/env python3
"""One-command GPU check of the ragged paged attention kernels: right, fast, and end to end.

usage: python3 benchmarks/gpu_kernels.py [--out FILE] [--budget-s S] [--no-sweep] [--cpu-smoke]

Each implementation (the XLA reference, Pallas Triton, Mosaic GPU) runs in its own child
process under a deadline, so a kernel that fails to compile, hangs or kills its process costs
only its own rows. A child measures the card's copy bandwidth (bytes read + written per second
by a large elementwise pass), checks the kernel against the reference on fresh random batches
(float32 reference at highest matmul precision; two draws per case; error = ‖out − ref‖ / ‖ref‖
over real rows; padding rows must be exactly zero; no NaN/inf), times it (median over batches
of back-to-back calls, after warm-up) against the KV bytes it must read, runs a
Llama-3.2-1B-shaped decode step at batch 64 with it as the attention, and sweeps a few block
sizes on a decode case. Each result prints as it comes; the summary table comes last, and
also goes to `--out`. `--cpu-smoke` runs the same plumbing on CPU at toy sizes (interpret mode).
"""

from __future__ import annotations

import argparse
import dataclasses
import faulthandler
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The parent imports JAX but never touches a device: the children own the GPU in turn.
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from pallas_kernels.ragged_paged_attention.mosaic_gpu import (  # noqa: E402
    ragged_paged_attention_mosaic_gpu,
)
from pallas_kernels.ragged_paged_attention.reference import (  # noqa: E402
    ragged_paged_attention_reference,
)
from pallas_kernels.ragged_paged_attention.triton import ragged_paged_attention_triton  # noqa: E402

IMPLS = ("reference", "triton", "mosaic_gpu")
TOLERANCE = {"float32": 1e-5, "bfloat16": 2e-2}
COLUMNS = ("impl", "section", "case", "status", "rel_err", "ms", "GB_s", "of_copy", "note")


# ---------------------------------------------------------------- parent: orchestration


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="also write the summary table to this file")
    ap.add_argument("--budget-s", type=float, default=280.0, help="wall-clock budget, seconds")
    ap.add_argument("--no-sweep", action="store_true", help="skip the block-size sweeps")
    ap.add_argument("--cpu-smoke", action="store_true", help="toy sizes on CPU, interpret mode")
    ap.add_argument("--only", default=",".join(IMPLS), help="comma-separated implementations")
    ap.add_argument("--worker", choices=IMPLS, help=argparse.SUPPRESS)
    ap.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--rows", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)

    start = time.time()
    impls = [i for i in args.only.split(",") if i in IMPLS]
    shares = {"reference": 0.3, "triton": 0.35, "mosaic_gpu": 0.35}
    rows: list[dict] = []
    for n, impl in enumerate(impls):
        left = args.budget_s - (time.time() - start)
        limit = max(30.0, left * shares[impl] / sum(shares[i] for i in impls[n:]))
        with tempfile.TemporaryDirectory() as tmp:
            rows_file = Path(tmp) / "rows.jsonl"
            cmd = [sys.executable, __file__, "--worker", impl, "--rows", str(rows_file)]
            cmd += ["--deadline", str(time.time() + limit - 15)]
            cmd += ["--no-sweep"] * args.no_sweep + ["--cpu-smoke"] * args.cpu_smoke
            env = dict(
                os.environ,
                PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            )
            if args.cpu_smoke:
                env["JAX_PLATFORMS"] = "cpu"
            print(f"== {impl}: child process, {limit:.0f} s allowed", flush=True)
            try:
                code = subprocess.run(cmd, env=env, timeout=limit, check=False).returncode
                status = "ok" if code == 0 else f"FAIL: child exited with {code}"
            except subprocess.TimeoutExpired:
                status = f"FAIL: killed after {limit:.0f} s (hang, or over budget)"
            if rows_file.exists():
                rows += [json.loads(line) for line in rows_file.read_text().splitlines()]
        if status != "ok":
            rows.append(dict(impl=impl, section="process", case="-", status=status))
    header = f"total {time.time() - start:.0f} s"
    if args.out:  # everything; the printed table keeps only each sweep's best and failures
        Path(args.out).write_text(format_table(rows, header) + "\n")
    short = [r for r in rows if r["section"] != "sweep" or r["status"] not in ("ok", "skipped")]
    print(format_table(short, header), flush=True)
    return 0


def format_table(rows: list[dict], header: str) -> str:
    def cell(row, col):
        value = row.get(col, "")
        if isinstance(value, float):
            return f"{value:.2e}" if col == "rel_err" else f"{value:.3g}"
        return str(value)[: 64 if col in ("status", "case") else 90]

    cells = [list(COLUMNS)] + [[cell(r, c) for c in COLUMNS] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) for line in cells]
    return "\n".join([f"==== SUMMARY ({header}) ====", lines[0], "-" * len(lines[0]), *lines[1:]])


# ---------------------------------------------------------------- child: one implementation


class Emitter:
    """Appends result rows to the parent's file as they come, and prints each one."""

    def __init__(self, path: str, impl: str):
        self.path, self.impl = path, impl

    def row(self, **fields) -> None:
        row = {"impl": self.impl, **fields}
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
        print("ROW " + " | ".join(f"{k}={v}" for k, v in row.items()), flush=True)

    def guard(self, section: str, case: str, fn):
        """Runs fn(); a failure becomes a FAIL row and the child goes on."""
        try:
            return fn()
        except Exception as e:
            traceback.print_exc(limit=4)
            first = (str(e).strip().splitlines() or [""])[0]
            self.row(section=section, case=case, status=f"FAIL: {type(e).__name__}: {first}")
            return None


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


def implementation(name: str, smoke: bool):
    """fn(inputs, case, **tunables) -> [T, H, D], or None where it can't run."""
    if name == "reference":
        ref = jax.jit(ragged_paged_attention_reference, static_argnames=("sm_scale", "block_q"))

        def reference(x, case):
            block_q = 1 if case.decode else 16  # as the engine's runner picks
            scale, window = case.head_dim**-0.5, case.window
            return ref(**x, sm_scale=scale, sliding_window=window, block_q=block_q)

        return reference
    if jax.default_backend() != "gpu" and not smoke:
        return None
    kernel = dict(
        triton=ragged_paged_attention_triton, mosaic_gpu=ragged_paged_attention_mosaic_gpu
    )

    def run(x, case, **tunables):
        scale, window = case.head_dim**-0.5, case.window
        return kernel[name](**x, sm_scale=scale, sliding_window=window, interpret=smoke, **tunables)

    return run


def supports(impl: str, case: Case) -> bool:
    return impl != "mosaic_gpu" or (case.dtype != "float32" and case.head_dim % 64 == 0)


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


def check(emit: Emitter, impl, case: Case) -> None:
    errs, problems = [], []
    for seed in (1, 2):  # two draws: a stale output buffer would not match the second
        # Finish the kernel before the reference starts: on CPU the interpreter's callbacks
        # and a second computation can deadlock the host's small thread pool.
        out = jax.block_until_ready(impl(make_inputs(case, seed), case))
        err, problem = error_of(out, case, seed)
        errs.append(err)
        problems += [problem] if problem else []
    err = max(errs)
    ok = err <= TOLERANCE[case.dtype] and not problems
    status = "ok" if ok else "FAIL" + (f": {problems[0]}" if problems else ": error")
    emit.row(section="check", case=case.name, status=status, rel_err=err, note=case.dtype)


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


def time_it(emit: Emitter, impl, case: Case, copy_bw, section="time", note="", **tun) -> float:
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


def copy_bandwidth(emit: Emitter, smoke: bool) -> float:
    """GB/s of bytes read + written by a large elementwise pass over bf16."""
    size = 1 << (24 if smoke else 30)  # bytes
    x = jax.random.normal(jax.random.key(0), (size // 2,), jnp.bfloat16)
    negate = jax.jit(lambda x: -x)
    ms = median_ms(lambda: negate(x))
    gbps = 2 * size / ms / 1e6
    case = f"{size >> 20} MiB bf16 negate"
    emit.row(section="copy", case=case, status="ok", ms=ms, note="read + written", GB_s=gbps)
    return gbps


def sweep(emit: Emitter, name: str, impl, copy_bw, deadline: float) -> None:
    """A few block sizes on the first decode case; each checked, then timed."""
    case = kernel_cases(False)[0]
    if name == "triton":
        grid = [dict(num_kv_pages_per_block=p, num_warps=w, num_stages=s)
                for p in (2, 4, 8) for w in (4, 8) for s in (2, 3)]  # fmt: skip
    elif name == "mosaic_gpu":
        grid = [dict(num_kv_pages_per_block=p, num_stages=s) for p in (4, 8) for s in (2, 3, 4)]
    else:
        return
    best = None
    for tun in grid:
        if time.time() > deadline - 15:
            emit.row(section="sweep", case=case.name, status="skipped", note="out of time")
            break
        label = " ".join(
            f"{k.split('_')[-1] if 'pages' not in k else 'pages'}={v}" for k, v in tun.items()
        )

        def one(tun=tun, label=label):
            out = jax.block_until_ready(impl(make_inputs(case, 1), case, **tun))
            err, problem = error_of(out, case, 1)
            if problem or err > TOLERANCE[case.dtype]:
                emit.row(
                    section="sweep",
                    case=case.name,
                    status=f"FAIL {problem}",
                    rel_err=err,
                    note=label,
                )
                return None
            return time_it(emit, impl, case, copy_bw, section="sweep", note=label, **tun)

        ms = emit.guard("sweep", f"{case.name} {label}", one)
        if ms is not None and (best is None or ms < best[0]):
            best = (ms, label)
    if best:
        emit.row(section="sweep", case=case.name, status="best", ms=best[0], note=best[1])


def decode_step(emit: Emitter, name: str, copy_bw, smoke: bool) -> None:
    """Llama-3.2-1B-shaped decode at batch 64 (random bf16 weights, random cache)."""
    from jaxserve.model.attention import make_attention_op
    from jaxserve.model.batch import StepBatch
    from jaxserve.model.config import ModelConfig
    from jaxserve.model.kv_cache import KVCache
    from jaxserve.model.llama import compute_logits, forward
    from jaxserve.model.rope import RopeConfig

    V, E, F, L, H, K, D = (
        (512, 64, 128, 2, 4, 2, 16) if smoke else (128256, 2048, 8192, 16, 32, 8, 64)
    )
    batch, page_size = (8, 16) if smoke else (64, 16)
    cfg = ModelConfig(
        architecture="LlamaForCausalLM", vocab_size=V, hidden_size=E, intermediate_size=F,
        num_layers=L, num_heads=H, num_kv_heads=K, head_dim=D, rms_norm_eps=1e-5,
        rope=RopeConfig(theta=500000.0, head_dim=D), max_position_embeddings=131072,
        tie_word_embeddings=True, qkv_bias=False, qk_norm=False,
    )  # fmt: skip
    shapes = {
        "embed": (V, E), "final_norm": (E,),
        "layers": {"attn_norm": (L, E), "wq": (L, E, H, D), "wk": (L, E, K, D), "wv": (L, E, K, D),
                   "wo": (L, H, D, E), "mlp_norm": (L, E), "w_gate": (L, E, F), "w_up": (L, E, F),
                   "w_down": (L, F, E)},
    }  # fmt: skip
    leaves, tree = jax.tree.flatten(shapes, is_leaf=lambda s: isinstance(s, tuple))
    keys = jax.random.split(jax.random.key(0), len(leaves))
    params = jax.tree.unflatten(
        tree,
        [0.02 * jax.random.normal(k, s, jnp.bfloat16) for k, s in zip(keys, leaves, strict=True)],
    )
    weight_bytes = sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(params))

    rng = np.random.default_rng(0)
    kv_lens = rng.integers(*((5, 60) if smoke else (1024, 2049)), batch).astype(np.int32)
    pages_per_seq = -(-int(kv_lens.max()) // page_size) + 1
    num_pages = batch * pages_per_seq + 1  # page 0: padding writes
    page_indices = (
        (1 + rng.permutation(batch * pages_per_seq)).reshape(batch, pages_per_seq).astype(np.int32)
    )
    pos = kv_lens - 1
    slots = page_indices[np.arange(batch), pos // page_size] * page_size + pos % page_size
    seq_ids = jnp.arange(batch + 1, dtype=jnp.int32)
    step_batch = StepBatch(
        token_ids=jnp.asarray(rng.integers(0, V, batch), jnp.int32),
        positions=jnp.asarray(pos),
        slot_mapping=jnp.asarray(slots, jnp.int32),
        cu_q_lens=seq_ids,
        kv_lens=jnp.asarray(kv_lens),
        page_indices=jnp.asarray(page_indices),
        num_seqs=jnp.asarray([batch], jnp.int32),
        logits_indices=seq_ids[:-1],
    )
    cache_shape = (L, num_pages, page_size, K, D)
    kk, kv_ = jax.random.split(jax.random.key(1))
    cache = KVCache(
        k=jax.random.normal(kk, cache_shape, jnp.bfloat16),
        v=jax.random.normal(kv_, cache_shape, jnp.bfloat16),
    )

    kernel = implementation(name, smoke)
    names = ("q", "k_pages", "v_pages", "kv_lens", "page_indices", "cu_q_lens", "num_seqs")
    shape = Case("e2e", ((1, 1),), H, K, D, page_size, "bfloat16")  # decode: reference block_q 1

    def attention_fn(*arrays, block_q, sm_scale, sliding_window):
        del block_q, sm_scale, sliding_window  # the same as `shape` gives
        return kernel(dict(zip(names, arrays, strict=True)), shape)

    @functools.partial(jax.jit, donate_argnums=(1,))
    def step(params, cache, batch):
        attention = make_attention_op(
            attention_fn, sm_scale=cfg.sm_scale, sliding_window=None, mesh=None, block_q=1
        )
        hidden, cache = forward(params, cache, batch, cfg=cfg, attention=attention)
        return jnp.argmax(compute_logits(params, hidden, batch.logits_indices, cfg=cfg), -1), cache

    state = {"cache": cache}

    def run():
        tokens, state["cache"] = step(params, state["cache"], step_batch)
        return tokens

    ms = median_ms(run, reps=5, warmup=2, batch_s=0.1)
    kv_bytes = 2 * int(kv_lens.sum()) * L * K * D * 2
    step_bytes = weight_bytes + kv_bytes
    note = f"{batch / ms * 1e3:.0f} tok/s"
    if copy_bw:  # the fastest a step could go: its bytes at copy bandwidth
        roof_w = batch / (weight_bytes / (copy_bw * 1e9))  # tok/s; copy_bw is GB/s
        roof = batch / (step_bytes / (copy_bw * 1e9))
        note += f"; roofline {roof_w:.0f} tok/s (weights), {roof:.0f} tok/s (+KV)"
    note += f"; {weight_bytes / 1e9:.2f} GB weights, {kv_bytes / 1e9:.2f} GB KV"
    gbps = step_bytes / ms / 1e6
    frac = gbps / copy_bw if copy_bw else ""
    case = f"1B decode b{batch}"
    emit.row(section="e2e", case=case, status="ok", ms=ms, note=note, GB_s=gbps, of_copy=frac)


def worker(args) -> int:
    smoke = args.cpu_smoke
    # Shortly before the parent kills this process, print where every thread is (a hang's why).
    faulthandler.dump_traceback_later(max(5.0, args.deadline + 10 - time.time()), exit=False)
    emit = Emitter(args.rows, impl=args.worker)
    dev = jax.devices()[0]
    info = f"{dev.platform} {dev.device_kind} cc={getattr(dev, 'compute_capability', '-')}"
    emit.row(section="device", case=info, status="ok", note=f"jax {jax.__version__}")
    impl = implementation(args.worker, smoke)
    if impl is None:
        emit.row(section="all", case="-", status="skipped", note="needs a GPU")
        return 0
    copy_bw = emit.guard("copy", "copy bandwidth", lambda: copy_bandwidth(emit, smoke))
    for case in kernel_cases(smoke):
        if not supports(args.worker, case):
            emit.row(section="check", case=case.name, status="unsupported", note=case.dtype)
            continue
        if time.time() > args.deadline - 20:
            emit.row(section="check", case=case.name, status="skipped", note="out of time")
            continue
        emit.guard("check", case.name, lambda c=case: check(emit, impl, c))
        emit.guard("time", case.name, lambda c=case: time_it(emit, impl, c, copy_bw))
        truth.cache_clear()  # free the reference outputs
    if smoke and args.worker == "mosaic_gpu":
        emit.row(section="e2e", case="-", status="skipped", note="no interpreter run in a model")
    elif time.time() < args.deadline - (15 if smoke else 45):
        emit.guard("e2e", "1B decode", lambda: decode_step(emit, args.worker, copy_bw, smoke))
    else:
        emit.row(section="e2e", case="-", status="skipped", note="out of time")
    if not args.no_sweep and not smoke:
        sweep(emit, args.worker, impl, copy_bw, deadline=args.deadline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
