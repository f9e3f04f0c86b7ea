"""Perplexity of the embedded default model on held-out standard-library text, with its
weights as trained (float32) and quantized at load (`quantization="int8"`).

The default model was trained on Python's standard library with a fixed ~5% of files held out
(`scripts/default_model/corpus.py`); this scores `--windows` windows of `--window` tokens from
those files, every token after a window's first by its logprob (`prompt_logprobs`), and prints
each configuration's perplexity and its rise over float32.

    python benchmarks/quantization_quality.py [--windows 64] [--window 512]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import jax  # noqa: E402
from anchors_host import detect_host, host_lines  # noqa: E402

from jaxserve import LLM, SamplingParams  # noqa: E402
from scripts.default_model.corpus import find_sources, split_sources, stdlib_root  # noqa: E402

MODEL = ROOT / "models" / "default"


def held_out_windows(tokenizer, count: int, length: int) -> list[list[int]]:
    """`count` windows of `length` tokens, in file order, at most four from any one file."""
    _, held_out = split_sources(find_sources(stdlib_root()))
    windows: list[list[int]] = []
    for source in held_out:
        ids = tokenizer.encode(source.text, add_special_tokens=False)
        for start in range(0, len(ids) - length + 1, length)[:4]:
            windows.append(ids[start : start + length])
            if len(windows) == count:
                return windows
    return windows


def perplexity(llm: LLM, windows: list[list[int]]) -> float:
    params = SamplingParams(temperature=0, max_tokens=1, prompt_logprobs=0)
    outputs = llm.generate([{"prompt_token_ids": w} for w in windows], params, use_tqdm=False)
    total, count = 0.0, 0
    for window, output in zip(windows, outputs, strict=True):
        for token, entry in zip(window[1:], output.prompt_logprobs[1:], strict=True):
            total -= entry[token].logprob
            count += 1
    return math.exp(total / count)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=64)
    ap.add_argument("--window", type=int, default=512)
    args = ap.parse_args()
    print("\n".join(host_lines(detect_host())), flush=True)
    options = dict(max_model_len=args.window + 8, max_num_seqs=16, max_num_batched_tokens=2048)
    base = LLM(str(MODEL), dtype="float32", **options)
    windows = held_out_windows(base.tokenizer, args.windows, args.window)
    tokens = sum(len(w) - 1 for w in windows)
    print(f"{len(windows)} held-out windows of {args.window} tokens, {tokens} tokens scored")
    results = {}
    for name, llm in (("float32", base), ("int8 weights", None)):
        if llm is None:
            llm = LLM(str(MODEL), dtype="float32", quantization="int8", **options)
        start = time.perf_counter()
        results[name] = perplexity(llm, windows)
        weights = sum(x.nbytes for x in jax.tree.leaves(llm.runner.params))
        print(
            f"{name:13s} perplexity {results[name]:.4f}  weights {weights / 2**20:.1f} MiB  "
            f"({time.perf_counter() - start:.1f} s)",
            flush=True,
        )
    rise = results["int8 weights"] / results["float32"] - 1
    print(f"RESULT int8_weights_perplexity_rise={100 * rise:.3f}% (bar: 2%)")


if __name__ == "__main__":
    main()
