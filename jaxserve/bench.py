"""`jaxserve bench`: offline throughput and shared-prefix workloads that print figures.

Prompts are seeded random token ids, as the anchor scripts in the benchmark suite draw
them, so the same command on another engine measures the same work. Each workload runs once
untimed on different prompts (compiling every shape it needs, as other engines do at
start), then once timed.
"""

from __future__ import annotations

import argparse
import random
import time

from jaxserve.llm import LLM
from jaxserve.sampling_params import SamplingParams


def random_prompts(n: int, length: int, seed: int) -> list[dict[str, list[int]]]:
    rng = random.Random(seed)
    return [{"prompt_token_ids": [rng.randrange(3, 8000) for _ in range(length)]} for _ in range(n)]


def _timed(llm: LLM, prompts, params) -> tuple[float, int]:
    start = time.perf_counter()
    outputs = llm.generate(prompts, params, use_tqdm=False)
    seconds = time.perf_counter() - start
    return seconds, sum(len(o.outputs[0].token_ids) for o in outputs)


def _llm(args: argparse.Namespace, **overrides) -> LLM:
    options = dict(
        max_model_len=args.max_model_len,
        max_num_seqs=args.max_num_seqs,
        max_num_batched_tokens=args.max_num_batched_tokens,
        dtype=args.dtype,
    )
    options.update(overrides)
    return LLM(args.model, skip_tokenizer_init=True, **options)


def throughput(args: argparse.Namespace) -> int:
    llm = _llm(args)
    params = SamplingParams(temperature=0.0, max_tokens=args.output_len, ignore_eos=True)
    cold, _ = _timed(llm, random_prompts(args.num_prompts, args.input_len, args.seed + 1), params)
    seconds, out_tokens = _timed(
        llm, random_prompts(args.num_prompts, args.input_len, args.seed), params
    )
    total = out_tokens + args.num_prompts * args.input_len
    print(
        f"RESULT engine=jaxserve n={args.num_prompts} in={args.input_len} "
        f"out={args.output_len} seconds={seconds:.2f} out_tok_s={out_tokens / seconds:.1f} "
        f"total_tok_s={total / seconds:.1f} first_run_seconds={cold:.2f}"
    )
    return 0


def shared_prefix(args: argparse.Namespace) -> int:
    params = SamplingParams(temperature=0.0, max_tokens=args.output_len, ignore_eos=True)

    def workload(seed: int):
        rng = random.Random(seed)
        prefix = [rng.randrange(3, 8000) for _ in range(args.prefix_len)]
        return [
            {"prompt_token_ids": prefix + [rng.randrange(3, 8000) for _ in range(args.suffix_len)]}
            for _ in range(args.num_prompts)
        ]

    results = {}
    for caching in (True, False):
        llm = _llm(args, enable_prefix_caching=caching)
        _timed(llm, workload(args.seed + 1), params)
        results[caching], _ = _timed(llm, workload(args.seed), params)
        del llm
    print(
        f"RESULT workload=shared-prefix n={args.num_prompts} prefix={args.prefix_len} "
        f"suffix={args.suffix_len} out={args.output_len} "
        f"seconds_with_cache={results[True]:.2f} seconds_without={results[False]:.2f} "
        f"speedup={results[False] / results[True]:.2f}x"
    )
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="benchmarks that print figures")
    kinds = bench.add_subparsers(dest="workload", required=True)
    for name, fn, defaults in (
        ("throughput", throughput, dict(num_prompts=64, input_len=128, output_len=128)),
        ("prefix", shared_prefix, dict(num_prompts=64, output_len=32)),
    ):
        p = kinds.add_parser(name)
        p.add_argument("--model", required=True)
        p.add_argument("--num-prompts", type=int, default=defaults["num_prompts"])
        p.add_argument("--output-len", type=int, default=defaults["output_len"])
        if name == "throughput":
            p.add_argument("--input-len", type=int, default=defaults["input_len"])
        else:
            p.add_argument("--prefix-len", type=int, default=1024)
            p.add_argument("--suffix-len", type=int, default=64)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--dtype", default="auto")
        p.add_argument("--max-model-len", type=int, default=2048)
        p.add_argument("--max-num-seqs", type=int, default=64)
        p.add_argument("--max-num-batched-tokens", type=int, default=512)
        p.set_defaults(func=fn)
