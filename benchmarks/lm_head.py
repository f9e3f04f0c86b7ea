#!/usr/bin/env python3
"""The tied LM head on CPU: the native transposed matmul against XLA's float32 GEMM, per M.

usage: lm_head.py [--k 576] [--n 49152] [--rows 1,4,8,16,32,64,128,256] [--seconds 1.5]

Times `logits[M, N] = h[M, K] . embed[N, K]^T` (the 135M model's shape by default) both ways
inside `jax.jit`: `pallas_kernels.matmul.cpu.matmul_cpu(..., transposed=True)` with float32
and with bfloat16 embeddings, and `jnp.dot` at `Precision.HIGHEST` on float32 embeddings (what
the platform runs where the kernel is unavailable). The two sides alternate call by call, so
a busy machine slows both alike, and each figure is the fastest of the calls run in about
`--seconds` per side. Prints the CPU, its vector flags and a table of milliseconds per call.
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
from tqdm import tqdm

from pallas_kernels import native
from pallas_kernels.matmul.cpu import matmul_cpu


def cpu_description() -> str:
    model, flags = platform.processor() or platform.machine(), []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = sorted(f for f in value.split() if f.startswith(("avx", "fma")))
    except OSError:
        pass
    return f"{model}, {len(jax.devices())} device(s), flags: {' '.join(flags)}"


def fastest_pair(kernel, xla, seconds: float) -> tuple[float, float]:
    """Fastest seconds per call of `kernel()` and `xla()`, called alternately."""
    jax.block_until_ready((kernel(), xla()))  # compile
    best = [float("inf"), float("inf")]
    deadline = time.perf_counter() + 2 * seconds
    calls = 0
    while calls < 6 or (time.perf_counter() < deadline and calls < 400):
        for i, fn in enumerate((kernel, xla)):
            start = time.perf_counter()
            jax.block_until_ready(fn())
            best[i] = min(best[i], time.perf_counter() - start)
        calls += 1
    return best[0], best[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=576, help="hidden size E")
    parser.add_argument("--n", type=int, default=49152, help="vocabulary size V")
    parser.add_argument("--rows", default="1,4,8,16,32,64,128,256", help="values of M")
    parser.add_argument("--seconds", type=float, default=1.5, help="timing budget per side")
    args = parser.parse_args()
    rows = [int(r) for r in args.rows.split(",")]

    rng = np.random.default_rng(0)
    embed = jnp.asarray(rng.standard_normal((args.n, args.k)) * 0.02, jnp.float32)  # [V, E]
    weights = {"float32": embed, "bfloat16": embed.astype(jnp.bfloat16)}
    kernel = jax.jit(lambda h, w: matmul_cpu(h, w, transposed=True))
    xla = jax.jit(lambda h, w: jnp.dot(h, w.T, precision=jax.lax.Precision.HIGHEST))

    print(f"CPU: {cpu_description()}")
    print(f"kernel built with: {' '.join(native.FLAGS)}")
    print(f"jax {jax.__version__}; K={args.k}, N={args.n}; fastest of alternating calls, ms")
    results = []
    cases = [(name, m) for name in weights for m in rows]
    for name, m in tqdm(cases, desc="lm_head", leave=False):
        h = jnp.asarray(rng.standard_normal((m, args.k)), jnp.float32)  # [M, E]
        w = weights[name]
        ours, theirs = fastest_pair(
            functools.partial(kernel, h, w), functools.partial(xla, h, embed), args.seconds
        )
        results.append((name, m, ours, theirs))
    print(f"{'w dtype':>8} {'M':>5} {'kernel':>9} {'XLA f32':>9} {'kernel/XLA':>10}")
    for name, m, ours, theirs in results:
        print(f"{name:>8} {m:>5} {ours * 1e3:>9.2f} {theirs * 1e3:>9.2f} {ours / theirs:>10.2f}")


if __name__ == "__main__":
    main()
