#!/usr/bin/env python3
"""One-command GPU check of the ragged paged attention kernels: right, fast, and end to end.

usage: python3 benchmarks/gpu_kernels.py [--out FILE] [--budget-s S] [--no-sweep] [--cpu-smoke]

Each implementation (the XLA reference, Pallas Triton, Mosaic GPU) runs in its own child
process under a deadline, so a kernel that fails to compile, hangs or kills its process costs
only its own rows. A child measures the card's copy bandwidth (bytes read + written per second
by a large elementwise pass), checks the kernel against the reference on fresh random batches
(float32 reference at highest matmul precision; two draws per case; error = ‖out − ref‖ / ‖ref‖
over real rows; padding rows must be exactly zero; no NaN/inf), times it (median over batches
of back-to-back calls, after warm-up) against the KV bytes it must read, sweeps split-KV
counts over a few block sizes on the decode cases (`gpu_sweeps.py`), then runs a
Llama-3.2-1B-shaped decode step at batch 64 with it as the attention, once with the kernel's
own picks and once with the sweep's best for that shape; the reference's child also times the
KV write (an XLA scatter). Each result prints as it comes; the summary table comes last, and
also goes to `--out`, followed by the best configuration of each decode case as lines for the
kernels' tuned tables. "of_copy" is a kernel's KV bytes per second over the copy rate, and for
the end-to-end step its (weight + KV) bytes per second over it: the share of its roofline.
`--cpu-smoke` runs the same plumbing, split-KV included, on CPU at toy sizes (interpret
mode). The default budget (480 s) fits one command on a lent GPU machine; `--only
triton,mosaic_gpu` skips the XLA reference.
"""

from __future__ import annotations

import argparse
import faulthandler
import functools
import json
import os
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
from gpu_cases import (  # noqa: E402
    TOLERANCE,
    Case,
    error_of,
    kernel_cases,
    make_inputs,
    median_ms,
    time_it,
    truth,
)
from gpu_sweeps import label_of, sweep, time_kv_write  # noqa: E402

from pallas_kernels.ragged_paged_attention import mosaic_gpu, triton  # noqa: E402
from pallas_kernels.ragged_paged_attention.reference import (  # noqa: E402
    ragged_paged_attention_reference,
)

IMPLS = ("reference", "triton", "mosaic_gpu")
E2E_TWIN = "decode-g4-d64-p16"  # the sweep case with the 1B step's attention shape
COLUMNS = ("impl", "section", "case", "status", "rel_err", "ms", "GB_s", "of_copy", "note")


# ---------------------------------------------------------------- parent: orchestration


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="also write the summary table to this file")
    ap.add_argument("--budget-s", type=float, default=480.0, help="wall-clock budget, seconds")
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
    shares = {"reference": 0.2, "triton": 0.4, "mosaic_gpu": 0.4}  # the kernels sweep
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
    lines = [f"{r['impl']}: {r['note']} {r['case']}" for r in rows if r["section"] == "best"]
    if lines:
        print("==== best per decode case, as TUNED_BLOCK_SIZES lines ====", *lines, sep="\n")
    return 0


def format_table(rows: list[dict], header: str) -> str:
    def cell(row, col):
        value = row.get(col, "")
        if isinstance(value, float):
            return f"{value:.2e}" if col == "rel_err" else f"{value:.3g}"
        return str(value)[: 64 if col in ("status", "case") else 120]

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
        triton=triton.ragged_paged_attention_triton,
        mosaic_gpu=mosaic_gpu.ragged_paged_attention_mosaic_gpu,
    )

    def run(x, case, **tunables):
        scale, window = case.head_dim**-0.5, case.window
        tunables = engine_picks(name, x, case) | tunables
        return kernel[name](**x, sm_scale=scale, sliding_window=window, interpret=smoke, **tunables)

    return run


def engine_picks(name: str, x: dict, case: Case) -> dict:
    """The block sizes the engine's adapter would pass (`platforms/attention.py`).

    A decode step's T counts as at most S (its token bucket is padded past the real count), so
    the pickers see a decode and split its KV where the table says so.
    """
    num_slots, pages_per_seq = x["page_indices"].shape
    num_tokens = x["q"].shape[0]
    num_tokens = min(num_tokens, num_slots) if case.decode else num_tokens
    shape = dict(head_dim=case.head_dim, page_size=case.page_size, pages_per_seq=pages_per_seq)
    shape |= dict(num_kv_heads=case.num_kv_heads, num_tokens=num_tokens, num_slots=num_slots)
    if name == "triton":
        return triton.pick_block_sizes(**shape, num_heads=case.num_heads)._asdict()
    return mosaic_gpu.pick_block_sizes(**shape)._asdict()


def supports(impl: str, case: Case) -> bool:
    return impl != "mosaic_gpu" or (case.dtype != "float32" and case.head_dim % 64 == 0)


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


def decode_step(emit: Emitter, name: str, copy_bw, smoke: bool, label="", **tunables) -> None:
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
        return kernel(dict(zip(names, arrays, strict=True)), shape, **tunables)

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
    gbps = step_bytes / ms / 1e6
    frac = gbps / copy_bw if copy_bw else ""
    note = f"{label}{batch / ms * 1e3:.0f} tok/s"
    if copy_bw:
        # The fastest a step could go: its bytes at copy bandwidth.
        note += f", {frac:.2f} of roofline (+KV)"
        roof_w = batch / (weight_bytes / (copy_bw * 1e9))  # tok/s; copy_bw is GB/s
        roof = batch / (step_bytes / (copy_bw * 1e9))
        note += f"; roofline {roof_w:.0f} tok/s (weights), {roof:.0f} tok/s (+KV)"
    note += f"; {weight_bytes / 1e9:.2f} GB weights, {kv_bytes / 1e9:.2f} GB KV"
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
    if args.worker == "reference":  # the write is the same whichever kernel reads
        emit.guard("kv_write", "scatter", lambda: time_kv_write(emit, copy_bw, smoke=smoke))
    best = {}
    if not args.no_sweep:  # leave time for the end-to-end steps
        cases = [c for c in kernel_cases(smoke) if supports(args.worker, c)]
        until = args.deadline - (20 if smoke else 100)
        best = sweep(emit, args.worker, impl, cases, copy_bw, smoke=smoke, deadline=until)
        truth.cache_clear()
    if smoke and args.worker == "mosaic_gpu":
        emit.row(section="e2e", case="-", status="skipped", note="no interpreter run in a model")
        return 0
    runs = [("", {})]  # the kernel's own picks, then the sweep's best for the same shape
    if E2E_TWIN in best:
        tunables = best[E2E_TWIN]
        if smoke:  # toy contexts may not pay for splits, but the smoke must cross that path
            tunables = tunables | dict(num_kv_splits=max(2, tunables["num_kv_splits"]))
        runs.append((label_of(tunables) + ": ", tunables))
    for label, tunables in runs:
        if time.time() > args.deadline - (15 if smoke else 45):
            emit.row(section="e2e", case="-", status="skipped", note="out of time")
            break
        emit.guard(
            "e2e",
            "1B decode",
            lambda t=tunables, lb=label: decode_step(emit, args.worker, copy_bw, smoke, lb, **t),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
