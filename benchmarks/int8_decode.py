"""Single-stream decode on the benchmark checkpoint: bfloat16 weights against int8 weights.

Both models load in one process (`dtype="auto"`: bfloat16 compute on a CPU with AVX512_BF16,
where int8 matrices go to the native int8 kernel). Each run decodes one sequence of 128
seeded prompt tokens for `--tokens` tokens, greedy with `ignore_eos`, and times every engine
step; TPOT is the median decode step. The runs alternate between the two models.

    python benchmarks/int8_decode.py /work/benchmodel [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from anchors_host import detect_host, host_lines

from jaxserve import LLM, SamplingParams


def decode_steps(llm: LLM, prompt: list[int], tokens: int) -> list[float]:
    """Seconds of each decode step of one sequence (the prefill step left out)."""
    params = SamplingParams(temperature=0, max_tokens=tokens, ignore_eos=True)
    llm.engine.add_request(prompt, params)
    times = []
    while llm.engine.has_unfinished():
        start = time.perf_counter()
        llm.engine.step()
        times.append(time.perf_counter() - start)
    return times[1:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=128)
    args = ap.parse_args()
    print("\n".join(host_lines(detect_host())), flush=True)
    options = dict(max_model_len=1024, max_num_seqs=8, kv_cache_memory=2**30)
    models = {
        "bf16": LLM(args.model, **options),
        "int8": LLM(args.model, quantization="int8", **options),
    }
    for name, llm in models.items():
        weights = sum(x.nbytes for x in jax.tree.leaves(llm.runner.params))
        print(f"{name}: matmul {llm.runner.matmul.name}, weights {weights / 2**20:.1f} MiB")
        job = llm._huge_pages  # the weights' collapse into 2 MiB pages: finished before timing
        if job is not None:
            job.wait()
            print(f"{name}: {job.done / 2**20:.0f} of {job.total / 2**20:.0f} MiB on huge pages")
    prompt = np.random.default_rng(0).integers(3, 8000, 128).tolist()
    tpot: dict[str, list[float]] = {name: [] for name in models}
    for llm in models.values():  # compile each model's decode step first
        decode_steps(llm, prompt, 8)
    for round_ in range(args.rounds):
        for name, llm in models.items():
            steps = decode_steps(llm, prompt, args.tokens)
            tpot[name].append(statistics.median(steps) * 1e3)
            print(f"round {round_ + 1} {name}: TPOT {tpot[name][-1]:.2f} ms", flush=True)
    bf16, int8 = (statistics.median(tpot[name]) for name in ("bf16", "int8"))
    print(f"RESULT tpot_bf16_ms={bf16:.2f} tpot_int8_ms={int8:.2f} speedup={bf16 / int8:.2f}x")


if __name__ == "__main__":
    main()
