#!/usr/bin/env python3
"""Grouped matmul (the MoE expert product) on CPU: which jnp/XLA path is fastest, per shape.

usage: grouped_matmul_cpu.py [--k 576] [--n 1536] [--tokens 1,16,256] [--seconds 1.0]

For MoE shapes (`lhs[M = tokens * top_k, K]` sorted by expert, `rhs[G, K, N]`, group sizes
from a seeded skewed top-k routing; G=8 k=2 and G=64 k=8; bfloat16 and float32) times, inside
`jax.jit`, with float32 accumulation and lhs's dtype out:

- `ragged_dot`: `jax.lax.ragged_dot`, whatever XLA's CPU backend makes of it;
- `reference`: `grouped_matmul_reference`, one masked dense [M, K] x [K, N] per expert;
- `gathered`: `einsum("mk,mkn->mn")` over `rhs[expert of row]` (M * K * N of gathered
  weights: skipped above `--gather-mib`);
- `tiled`: the TPU kernel's work items in jnp, a `fori_loop` over (expert, row tile) pairs of
  `--block-m` rows, each one [bm, K] x [K, N] product with its expert;
- `tiled_f32w`: `tiled` with the expert weights kept in float32 (converted once, untimed).
  XLA's CPU float normalization runs a bfloat16 dynamic slice in float32, so inside a loop
  it upcasts the *whole* bfloat16 rhs before the loop on every call; float32 weights avoid it.

Each figure is the fastest of the calls run in about `--seconds` (at least two after compile);
a variant whose work exceeds `--max-gflop` per call is skipped. Prints the CPU and a table of
milliseconds per call.
"""

from __future__ import annotations

import argparse
import functools
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from tqdm import tqdm

from pallas_kernels.grouped_matmul.cpu import grouped_matmul_gathered, grouped_matmul_tiled
from pallas_kernels.grouped_matmul.reference import grouped_matmul_reference

SHAPES = [(8, 2), (64, 8)]  # (experts G, top_k)


def cpu_description() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
                break
    except OSError:
        pass
    cpus = len(list(Path("/sys/devices/system/cpu").glob("cpu[0-9]*")))
    return f"{model}; {cpus} CPUs, {len(jax.devices('cpu'))} jax CPU device(s)"


@jax.jit
def ragged_dot(lhs, rhs, group_sizes):
    out = lax.ragged_dot(lhs, rhs, group_sizes, preferred_element_type=jnp.float32)
    return out.astype(lhs.dtype)


gathered = jax.jit(grouped_matmul_gathered)
tiled = jax.jit(grouped_matmul_tiled, static_argnames="block_m")


def routed_group_sizes(rng, tokens: int, num_experts: int, top_k: int) -> np.ndarray:
    popularity = 2.0 * rng.standard_normal(num_experts)
    chosen = np.argsort(-(rng.standard_normal((tokens, num_experts)) + popularity), axis=1)
    return np.bincount(chosen[:, :top_k].ravel(), minlength=num_experts).astype(np.int32)


def fastest(fn, seconds: float) -> float:
    """Fastest seconds per call of `fn()`: at least two calls after compiling."""
    jax.block_until_ready(fn())
    best, deadline, calls = float("inf"), time.perf_counter() + seconds, 0
    while calls < 2 or (time.perf_counter() < deadline and calls < 200):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        best, calls = min(best, time.perf_counter() - start), calls + 1
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=576, help="contraction size K")
    parser.add_argument("--n", type=int, default=1536, help="output columns N")
    parser.add_argument("--tokens", default="1,16,256", help="token counts (M = tokens * k)")
    parser.add_argument("--seconds", type=float, default=1.0, help="timing budget per variant")
    parser.add_argument("--block-m", type=int, default=16, help="row tile of `tiled`")
    parser.add_argument("--gather-mib", type=float, default=512, help="cap on gathered rhs")
    parser.add_argument("--max-gflop", type=float, default=100, help="cap on work per call")
    args = parser.parse_args()
    tokens_list = [int(t) for t in args.tokens.split(",")]

    variants = {
        "ragged_dot": ragged_dot,
        "reference": grouped_matmul_reference,
        "gathered": gathered,
        "tiled": functools.partial(tiled, block_m=args.block_m),
        "tiled_f32w": functools.partial(tiled, block_m=args.block_m),
    }
    print(f"CPU: {cpu_description()}")
    print(f"jax {jax.__version__}; K={args.k}, N={args.n}; fastest call, ms ('-': skipped)")
    rng = np.random.default_rng(0)
    cases = [(d, g, k, t) for d in ("bfloat16", "float32") for g, k in SHAPES for t in tokens_list]
    rows = []
    for dtype, experts, top_k, tokens in tqdm(cases, desc="grouped_matmul", leave=False):
        sizes = jnp.asarray(routed_group_sizes(rng, tokens, experts, top_k))
        num_rows = tokens * top_k
        lhs = jnp.asarray(rng.standard_normal((num_rows, args.k)), dtype)
        rhs = jnp.asarray(rng.standard_normal((experts, args.k, args.n)) * 0.03, dtype)
        work = {  # per call: GFLOP of the masked products, MiB of gathered weights
            "reference": 2e-9 * experts * num_rows * args.k * args.n,
            "gathered": num_rows * args.k * args.n * jnp.dtype(dtype).itemsize / 2**20,
        }
        limits = {"reference": args.max_gflop, "gathered": args.gather_mib}
        expected = np.asarray(ragged_dot(lhs, rhs, sizes), np.float32)
        times = {}
        for name, fn in variants.items():
            if work.get(name, 0.0) > limits.get(name, float("inf")):
                times[name] = None
                continue
            weights = rhs.astype(jnp.float32) if name == "tiled_f32w" else rhs
            call = functools.partial(fn, lhs, weights, sizes)
            err = np.abs(np.asarray(call(), np.float32) - expected).max() / np.abs(expected).max()
            if err > 2e-2:
                raise AssertionError(f"{name} differs from ragged_dot: relative error {err:.1e}")
            times[name] = fastest(call, args.seconds) * 1e3
        rows.append((dtype, experts, top_k, tokens, num_rows, times))

    header = f"{'dtype':>8} {'G':>3} {'k':>2} {'tokens':>6} {'M':>5}"
    print(header + "".join(f" {name:>11}" for name in variants) + "  fastest")
    for dtype, experts, top_k, tokens, num_rows, times in rows:
        cells = "".join(f" {'-' if t is None else f'{t:.3f}':>11}" for t in times.values())
        best = min((t, n) for n, t in times.items() if t is not None)[1]
        print(f"{dtype:>8} {experts:>3} {top_k:>2} {tokens:>6} {num_rows:>5}{cells}  {best}")


if __name__ == "__main__":
    main()
