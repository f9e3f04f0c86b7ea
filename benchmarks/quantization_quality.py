"""Perplexity of the embedded default model on held-out standard-library text, with its
weights as trained (float32), weights quantized at load (`quantization="int8"`), and the KV
cache stored in int8 or fp8 (`kv_cache_dtype`).

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
    ap.add_argument("--attention-backend", default="auto", help="LLM's attention_backend")
    args = ap.parse_args()
    print("\n".join(host_lines(detect_host())), flush=True)
    options = dict(
        max_model_len=args.window + 8,
        max_num_seqs=16,
        max_num_batched_tokens=2048,
        attention_backend=args.attention_backend,
    )
    base = LLM(str(MODEL), dtype="float32", **options)
    windows = held_out_windows(base.tokenizer, args.windows, args.window)
    tokens = sum(len(w) - 1 for w in windows)
    print(f"{len(windows)} held-out windows of {args.window} tokens, {tokens} tokens scored")
    configs = {  # name: (LLM options, the rise allowed over float32)
        "float32": ({}, None),
        "int8 weights": ({"quantization": "int8"}, 2.0),
        "int8 KV cache": ({"kv_cache_dtype": "int8"}, 1.0),
        "fp8 KV cache": ({"kv_cache_dtype": "fp8"}, 1.0),
    }
    results = {}
    for name, (extra, _) in configs.items():
        llm = base if not extra else LLM(str(MODEL), dtype="float32", **extra, **options)
        start = time.perf_counter()
        results[name] = perplexity(llm, windows)
        weights = sum(x.nbytes for x in jax.tree.leaves(llm.runner.params))
        cache = llm.runner.kv_cache.k
        per_token = 2 * cache.nbytes / (cache.shape[1] * cache.shape[2])
        print(
            f"{name:14s} perplexity {results[name]:.4f}  weights {weights / 2**20:.1f} MiB  "
            f"KV {per_token / 1024:.1f} KiB/token  ({time.perf_counter() - start:.1f} s)",
            flush=True,
        )
        del llm
    for name, (_, bar) in configs.items():
        if bar is not None:
            rise = results[name] / results["float32"] - 1
            key = name.replace(" ", "_")
            print(f"RESULT {key}_perplexity_rise={100 * rise:.3f}% (bar: {bar:g}%)")


if __name__ == "__main__":
    main()
