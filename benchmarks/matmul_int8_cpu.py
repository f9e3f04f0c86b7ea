#!/usr/bin/env python3
"""Weight-only int8 against bfloat16 on CPU: the two native kernels on decode-sized rows.

usage: matmul_int8_cpu.py [--rows 1,2,4,8,16] [--repeats 15] [--layers 30]

The benchmark model's shapes (hidden 576, intermediate 1536, 30 layers), all inside
`jax.jit` with stacked weights read in place at a layer index, as the model reads them:
  - one product shape, `[M, 576] . [576, 1536]` or `[M, 1536] . [1536, 576]`, run for each of
    the 30 layers in a `fori_loop` (the figure is per product);
  - a decode-like pass over 30 layers of the 7 matrices (q, o [576, 576], k, v [576, 192],
    gate, up [576, 1536], down [1536, 576]), each product feeding the next.
bfloat16 is `pallas_kernels.matmul.cpu_bf16.KERNEL` on weights packed by its `pack`; int8 is
`pallas_kernels.matmul.cpu_int8` on the same weights rounded by `quantize_int8`, with float32,
bfloat16 and (where the CPU has AVX512_VNNI) int16 products. The sides alternate call by call,
so a busy machine slows all alike; each figure is the median of `--repeats` calls. Prints the
CPU, its vector flags and a table of milliseconds per call.
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from lm_head import cpu_description
from tqdm import tqdm

from pallas_kernels import native
from pallas_kernels.matmul import cpu_bf16, cpu_int8, quantize_int8

HIDDEN, INTERMEDIATE = 576, 1536
# (name, K, N) of the 7 layer matrices, in the order a layer multiplies them.
MATRICES = (
    ("q", HIDDEN, HIDDEN),
    ("k", HIDDEN, 192),
    ("v", HIDDEN, 192),
    ("o", HIDDEN, HIDDEN),
    ("gate", HIDDEN, INTERMEDIATE),
    ("up", HIDDEN, INTERMEDIATE),
    ("down", INTERMEDIATE, HIDDEN),
)


def weights(layers: int, k: int, n: int, seed: int) -> jax.Array:
    """Stacked `[L, K, N]` float32 weights of a trained model's scale."""
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.standard_normal((layers, k, n), np.float32) / np.sqrt(k))


def both_packings(w: jax.Array) -> tuple[object, object]:
    """(bfloat16 panels, int8 panels) of `w[L, K, N]`."""
    bf16 = jax.jit(cpu_bf16.KERNEL.pack)(w.astype(jnp.bfloat16))
    int8 = jax.jit(lambda a: cpu_int8.pack(quantize_int8(a)))(w)
    return bf16, int8


def product_loop(matmul, layers: int):
    """`x . w[i]` for every layer i, summed: one product shape, weights streamed from memory."""

    def run(x, w):
        def body(i, acc):
            return acc + matmul(x, w, i)  # [M, N]

        return jax.lax.fori_loop(0, layers, body, jnp.zeros((x.shape[0], w.n), jnp.float32))

    return jax.jit(run)


def decode_pass(matmul, layers: int):
    """A decoder's 7 products per layer over `layers` layers, each feeding the next."""

    def run(x, ws):
        def body(i, h):  # h: [M, 576]
            q, k, v = (matmul(h, ws[name], i) for name in ("q", "k", "v"))
            attn = q + jnp.pad(k + v, ((0, 0), (0, HIDDEN - k.shape[-1])))  # [M, 576]
            h = jnp.tanh(h + matmul(attn, ws["o"], i))
            gate, up = matmul(h, ws["gate"], i), matmul(h, ws["up"], i)  # [M, 1536]
            return jnp.tanh(h + matmul(jax.nn.silu(gate) * up, ws["down"], i))

        return jax.lax.fori_loop(0, layers, body, x)

    return jax.jit(run)


def median_times(calls, repeats: int) -> list[float]:
    """Median milliseconds per call of each of `calls`, called in turn."""
    for _ in range(2):  # compile and warm up
        jax.block_until_ready([call() for call in calls])
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(repeats):
        for call, spent in zip(calls, times, strict=True):
            start = time.perf_counter()
            jax.block_until_ready(call())
            spent.append(1e3 * (time.perf_counter() - start))
    return [statistics.median(spent) for spent in times]


def cases(packed, rows: list[int], layers: int):
    """(label, products per call, the three sides' calls) of each timed case."""
    kernels = [
        cpu_bf16.KERNEL.__call__,
        cpu_int8.matmul_int8_cpu,
        partial(cpu_int8.matmul_int8_cpu, products=jnp.bfloat16),
    ]
    if "avx512_vnni" in native.cpu_flags():
        kernels.append(partial(cpu_int8.matmul_int8_cpu, products=jnp.int16))
    sides = (0, 1, 1, 1)  # which packing of `packed` each kernel reads
    for m in rows:
        rng = np.random.default_rng(m)
        for name in ("gate", "down"):  # [576, 1536] and [1536, 576]
            w8 = packed[name][1]
            x = jnp.asarray(rng.standard_normal((m, w8.k)), jnp.float32)
            calls = [
                partial(product_loop(kernel, layers), x, packed[name][side])
                for kernel, side in zip(kernels, sides, strict=False)
            ]
            yield f"[{m}, {w8.k}] . [{w8.k}, {w8.n}] (per layer)", layers, calls
        x = jnp.asarray(rng.standard_normal((m, HIDDEN)), jnp.float32)
        calls = [
            partial(decode_pass(kernel, layers), x, {name: p[side] for name, p in packed.items()})
            for kernel, side in zip(kernels, sides, strict=False)
        ]
        yield f"decode pass, {layers} layers, M={m}", 1, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1,2,4,8,16", help="comma-separated M")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--layers", type=int, default=30)
    args = parser.parse_args()
    rows = [int(m) for m in args.rows.split(",")]
    print(f"CPU: {cpu_description()}")
    packed = {
        name: both_packings(weights(args.layers, k, n, s))
        for s, (name, k, n) in enumerate(MATRICES)
    }
    bf16_mb = sum(p[0].nbytes for p in packed.values()) / 2**20
    int8_mb = sum(p[1].nbytes for p in packed.values()) / 2**20
    print(f"{args.layers} layers of weights: bfloat16 {bf16_mb:.1f} MiB, int8 {int8_mb:.1f} MiB")
    results = []
    todo = list(cases(packed, rows, args.layers))
    for label, per, calls in tqdm(todo, desc="timing", unit="case"):
        results.append((label, *(t / per for t in median_times(calls, args.repeats))))
    print("\nms per call (median); speedup over bf16. int8 f32: float32 products; int8 bf16:")
    print("x rounded to bfloat16 as the bf16 kernel rounds it, products by vdpbf16ps; int8 i16:")
    print("each row of x quantized to int16, products by vpdpwssd.")
    names = ("int8 f32", "int8 bf16", "int8 i16")[: len(results[0]) - 2]
    print(f"{'case':38} {'bf16':>8}" + "".join(f" {name:>9} {'speedup':>7}" for name in names))
    for label, t16, *t8 in results:
        print(f"{label:38} {t16:8.4f}" + "".join(f" {t:9.4f} {t16 / t:6.2f}x" for t in t8))


if __name__ == "__main__":
    main()
