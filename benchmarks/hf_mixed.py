#!/usr/bin/env python3
"""jaxserve against Hugging Face `generate` on a workload of mixed prompt and output lengths.

usage: hf_mixed.py MODEL_DIR [--num-prompts 64] [--min-len 16] [--max-len 256]
                   [--hf-batch-size 64] [--engine both|jaxserve|hf]

Each request gets its own seeded random prompt length and output length (uniform in
[min-len, max-len]), greedy, ignoring EOS. Both engines run in their own fresh process, one
after the other, on the same requests:

- jaxserve: `LLM.generate` over all requests at once (continuous batching), after an untimed
  run of a different draw of the same workload (compiling every shape it meets).
- Hugging Face: float32 (its fastest dtype on CPU), `generate` on batches of
  `--hf-batch-size` left-padded prompts with `max_new_tokens` set to the batch's longest
  output; each request's output counts up to its own length, as a user would cut it. One
  untimed warm-up call first.

Prints a RESULT line per engine and the ratio of useful output tokens per second.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time


def workload(n: int, min_len: int, max_len: int, seed: int) -> list[tuple[list[int], int]]:
    """(prompt token ids, output length) per request."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        prompt = [rng.randrange(3, 8000) for _ in range(rng.randint(min_len, max_len))]
        out.append((prompt, rng.randint(min_len, max_len)))
    return out


def run_jaxserve(args: argparse.Namespace) -> dict:
    from jaxserve import LLM, SamplingParams

    llm = LLM(
        args.model,
        skip_tokenizer_init=True,
        max_model_len=2 * args.max_len + 16,
        max_num_seqs=64,
        max_num_batched_tokens=512,
    )

    def generate(requests):
        prompts = [{"prompt_token_ids": p} for p, _ in requests]
        params = [SamplingParams(temperature=0, max_tokens=m, ignore_eos=True) for _, m in requests]
        start = time.perf_counter()
        outputs = llm.generate(prompts, params, use_tqdm=False)
        return time.perf_counter() - start, sum(len(o.outputs[0].token_ids) for o in outputs)

    generate(workload(args.num_prompts, args.min_len, args.max_len, args.seed + 1))
    seconds, tokens = generate(workload(args.num_prompts, args.min_len, args.max_len, args.seed))
    return {"seconds": seconds, "useful_tokens": tokens, "computed_tokens": tokens}


def run_hf(args: argparse.Namespace) -> dict:
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(args.threads)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32).eval()
    pad = model.config.pad_token_id if model.config.pad_token_id is not None else 0

    def generate(requests):
        useful = computed = 0
        start = time.perf_counter()
        for i in range(0, len(requests), args.hf_batch_size):
            batch = requests[i : i + args.hf_batch_size]
            width = max(len(p) for p, _ in batch)
            ids = torch.tensor([[pad] * (width - len(p)) + p for p, _ in batch])
            mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p, _ in batch])
            new = max(m for _, m in batch)
            with torch.inference_mode():
                model.generate(
                    input_ids=ids,
                    attention_mask=mask,
                    do_sample=False,
                    max_new_tokens=new,
                    min_new_tokens=new,
                    pad_token_id=pad,
                )
            useful += sum(m for _, m in batch)
            computed += new * len(batch)
        return time.perf_counter() - start, useful, computed

    generate(workload(2, args.min_len, 32, args.seed + 1))
    seconds, useful, computed = generate(
        workload(args.num_prompts, args.min_len, args.max_len, args.seed)
    )
    return {"seconds": seconds, "useful_tokens": useful, "computed_tokens": computed}


def child(engine: str, argv: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *argv, "--engine", engine, "--json"],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"{engine} run failed ({out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--num-prompts", type=int, default=64)
    ap.add_argument("--min-len", type=int, default=16)
    ap.add_argument("--max-len", type=int, default=256)
    ap.add_argument("--hf-batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engine", choices=("both", "jaxserve", "hf"), default="both")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.engine != "both":
        result = (run_jaxserve if args.engine == "jaxserve" else run_hf)(args)
        print(json.dumps(result) if args.json else result)
        return 0
    argv = [a for a in sys.argv[1:] if a not in ("--engine", "both")]
    results = {engine: child(engine, argv) for engine in ("hf", "jaxserve")}
    for engine, r in results.items():
        print(
            f"RESULT engine={engine} n={args.num_prompts} lens=[{args.min_len},{args.max_len}] "
            f"seconds={r['seconds']:.2f} useful_out_tok_s={r['useful_tokens'] / r['seconds']:.1f} "
            f"computed_out_tok_s={r['computed_tokens'] / r['seconds']:.1f}"
        )
    hf, js = results["hf"], results["jaxserve"]
    ratio = (js["useful_tokens"] / js["seconds"]) / (hf["useful_tokens"] / hf["seconds"])
    print(f"RESULT jaxserve/hf useful output tok/s ratio = {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
