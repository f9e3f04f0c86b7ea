"""The GPU benchmark's sweeps (`gpu_kernels.py`'s parts): split-KV over block sizes, KV write.

`sweep` runs every decode case over split counts (flash-decoding, `num_kv_splits`) times a few
of the block sizes the earlier H200 sweeps liked, checks each configuration against the
oracle, times it, and prints the best one per case as a line to paste into the kernel's
`TUNED_BLOCK_SIZES`. The split count there is stored as a target of grid programs
(`splits * S * K` of the winning case), so the picker scales it to other batches.
`time_kv_write` times the KV write the engine runs today (an XLA scatter into donated pools)
against the time a copy of the whole pool would take, to tell whether it writes in place.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
from gpu_cases import TOLERANCE, Case, error_of, make_inputs, median_ms, time_it

from pallas_kernels.ragged_paged_attention import triton, write_kv_pages

SPLITS = (1, 2, 4, 8)
SMOKE_SPLITS = (1, 2, 4)  # smoke decode contexts reach 6 tiles of 16 (Mosaic: 2 of 64)
# (KV tokens per tile, warps, stages) and (KV tokens per tile, stages): the tables' defaults
# and the H200 sweep of 2026-11-28's best (64 tokens, 4 warps, 2 stages; 64 tokens, 4 stages).
TRITON_BLOCKS = ((64, 4, 2), (128, 4, 2))
MOSAIC_BLOCKS = ((64, 4), (128, 2))


def grid(name: str, case: Case, smoke: bool) -> list[dict]:
    """The tunables to try on `case`: every split count over each block size, block-major."""
    splits = SMOKE_SPLITS if smoke else SPLITS
    if name == "triton":
        blocks = [(16, 4, 2)] if smoke else TRITON_BLOCKS
        return [
            dict(num_kv_pages_per_block=max(1, t // case.page_size), num_warps=w, num_stages=s,
                 num_kv_splits=x)
            for t, w, s in blocks for x in splits
        ]  # fmt: skip
    if name == "mosaic_gpu":
        blocks = [(64, 2)] if smoke else MOSAIC_BLOCKS
        return [
            dict(num_kv_pages_per_block=max(1, t // case.page_size), num_stages=s, num_kv_splits=x)
            for t, s in blocks for x in splits
        ]  # fmt: skip
    return []


def label_of(tunables: dict) -> str:
    short = dict(num_kv_pages_per_block="pages", num_kv_splits="splits")
    return " ".join(f"{short.get(k, k.split('_')[-1])}={v}" for k, v in tunables.items())


def table_line(name: str, case: Case, tunables: dict) -> str:
    """`tunables` as an entry of the kernel's TUNED_BLOCK_SIZES (split count as a target)."""
    kv_tokens = tunables["num_kv_pages_per_block"] * case.page_size
    target = tunables["num_kv_splits"] * case.num_slots * case.num_kv_heads
    target = 0 if tunables["num_kv_splits"] == 1 else target
    if name == "triton":
        rows = triton.TUNED_BLOCK_SIZES.get(("decode", case.head_dim), (16,))[0]
        entry = (rows, kv_tokens, tunables["num_warps"], tunables["num_stages"], target)
        return f'("decode", {case.head_dim}): {entry},'
    return f"{case.head_dim}: {(kv_tokens, tunables['num_stages'], target)},"


def sweep(emit, name: str, impl, cases, copy_bw, *, smoke: bool, deadline: float) -> dict:
    """Each decode case over `grid`: checked, timed; returns {case name: best tunables}."""
    best_of = {}
    for case in [c for c in cases if c.decode and c.dtype == "bfloat16"]:
        best = None
        for tun in grid(name, case, smoke):
            if time.time() > deadline:
                emit.row(section="sweep", case=case.name, status="skipped", note="out of time")
                break
            ms = emit.guard(
                "sweep",
                f"{case.name} {label_of(tun)}",
                lambda c=case, t=tun: _one(emit, impl, c, copy_bw, t),
            )
            if ms is not None and (best is None or ms < best[0]):
                best = (ms, tun)
        if best is None:
            continue
        ms, tun = best
        best_of[case.name] = tun
        frac = case.kv_bytes() / ms / 1e6 / copy_bw if copy_bw else ""
        note = f"{table_line(name, case, tun)}  # {label_of(tun)}"
        emit.row(section="best", case=case.name, status="ok", ms=ms, of_copy=frac, note=note)
    return best_of


def _one(emit, impl, case: Case, copy_bw, tunables: dict) -> float | None:
    out = jax.block_until_ready(impl(make_inputs(case, 1), case, **tunables))
    err, problem = error_of(out, case, 1)
    label = label_of(tunables)
    if problem or err > TOLERANCE[case.dtype]:
        status = f"FAIL {problem or 'error'}"
        emit.row(section="sweep", case=case.name, status=status, rel_err=err, note=label)
        return None
    return time_it(emit, impl, case, copy_bw, section="sweep", note=label, **tunables)


def time_kv_write(emit, copy_bw, *, smoke: bool) -> None:
    """One layer's KV write of a 1B-shaped decode step (64 tokens into the 16 layers' pools).

    As the model does it: slots count over all layers' pages; a step writes once a layer.
    """
    layers, pages, page_size, kv_heads, head_dim = (
        (2, 64, 16, 2, 16) if smoke else (16, 8321, 16, 8, 64)
    )
    tokens = 8 if smoke else 64
    shape = (layers, pages, page_size, kv_heads, head_dim)
    keys = jax.random.split(jax.random.key(2), 4)
    pools = {
        "k": jax.random.normal(keys[0], shape, jnp.bfloat16),
        "v": jax.random.normal(keys[1], shape, jnp.bfloat16),
    }
    new_k = jax.random.normal(keys[2], (tokens, kv_heads, head_dim), jnp.bfloat16)
    new_v = jax.random.normal(keys[3], (tokens, kv_heads, head_dim), jnp.bfloat16)
    slots = jnp.arange(tokens, dtype=jnp.int32) * 37 % (layers * pages * page_size)
    write = jax.jit(write_kv_pages, donate_argnums=(0, 1))

    def run():
        pools["k"], pools["v"] = write(pools["k"], pools["v"], new_k, new_v, slots)
        return pools["k"]

    ms = median_ms(run)
    pool_bytes = 2 * pools["k"].size * 2
    written = 2 * new_k.size * 2
    note = f"{written / 1e3:.0f} kB written into {pool_bytes / 1e9:.3g} GB of pools"
    if copy_bw:  # a scatter that is not in place copies both pools: read + write
        note += f"; copying them would take {2 * pool_bytes / (copy_bw * 1e9) * 1e3:.3g} ms"
    case = f"scatter {tokens} tokens, 1 of {layers} layers"
    emit.row(section="kv_write", case=case, status="ok", ms=ms, note=note)
