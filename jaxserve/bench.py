"""`jaxserve bench`: offline throughput, single-stream latency and shared-prefix workloads.

Prompts are seeded random token ids, as the anchor scripts in the benchmark suite draw
them, so the same command on another engine measures the same work. Each workload runs once
untimed on different prompts (compiling every shape it needs, as other engines do at
start), then once timed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from jaxserve.llm import LLM
from jaxserve.sampling_params import SamplingParams

# The anchor scripts draw token ids from [3, 8000); a smaller vocabulary caps the range.
PROMPT_ID_HIGH = 8000


def random_prompts(
    n: int, length: int, seed: int, high: int = PROMPT_ID_HIGH
) -> list[dict[str, list[int]]]:
    rng = random.Random(seed)
    return [{"prompt_token_ids": [rng.randrange(3, high) for _ in range(length)]} for _ in range(n)]


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


def _single_stream_once(llm: LLM, prompt_ids: list[int], params) -> tuple[float, float, int]:
    """One request alone, stepped here: (TTFT seconds, TPOT seconds, output tokens)."""
    start = time.perf_counter()
    request = llm.engine.add_request(prompt_ids, params)
    while not request.output_token_ids and not request.finished:
        llm.engine.step()
    first = time.perf_counter()
    while llm.engine.has_unfinished():
        llm.engine.step()
    end = time.perf_counter()
    tokens = len(request.output_token_ids)
    # TPOT as serve_bench.py and `vllm bench serve` define it: from the first token on.
    return first - start, (end - first) / max(tokens - 1, 1), tokens


def single_stream(args: argparse.Namespace) -> int:
    """One sequence at a time: TTFT and TPOT, the median of `--repeats` timed requests."""
    llm = _llm(args)
    params = SamplingParams(temperature=0.0, max_tokens=args.output_len, ignore_eos=True)
    high = min(PROMPT_ID_HIGH, llm.config.vocab_size)
    (warm,) = random_prompts(1, args.input_len, args.seed + 1, high)
    _single_stream_once(llm, warm["prompt_token_ids"], params)
    runs = [
        _single_stream_once(llm, p["prompt_token_ids"], params)
        for p in random_prompts(args.repeats, args.input_len, args.seed, high)
    ]
    ttft = statistics.median(r[0] for r in runs)
    tpot = statistics.median(r[1] for r in runs)
    print(
        f"RESULT engine=jaxserve single-stream in={args.input_len} out={runs[0][2]} "
        f"repeats={args.repeats} ttft_ms={ttft * 1000:.1f} tpot_ms={tpot * 1000:.1f} "
        f"tpot_ms_all={','.join(f'{r[1] * 1000:.1f}' for r in runs)}"
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


def _at_least(low: int):
    """An argparse type: an int no smaller than `low`, else a usage error naming the bound."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


WORKLOADS = (
    # name, function, defaults, help
    ("throughput", throughput, dict(num_prompts=64, input_len=128, output_len=128),
     "N prompts at once: output tokens per second"),
    ("single-stream", single_stream, dict(input_len=128, output_len=128),
     "one sequence at a time: TTFT and TPOT (from the first token on)"),
    ("prefix", shared_prefix, dict(num_prompts=64, output_len=32),
     "N prompts sharing a long prefix: with and without prefix caching"),
)  # fmt: skip


def add_parser(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="benchmarks that print figures")
    kinds = bench.add_subparsers(dest="workload", required=True)
    for name, fn, defaults, text in WORKLOADS:
        p = kinds.add_parser(name, help=text)
        p.add_argument("--model", required=True)
        if "num_prompts" in defaults:
            p.add_argument("--num-prompts", type=_at_least(1), default=defaults["num_prompts"])
        if "input_len" in defaults:
            p.add_argument("--input-len", type=_at_least(1), default=defaults["input_len"])
        # TPOT divides by the output tokens after the first: single-stream needs two.
        least_output = 2 if name == "single-stream" else 1
        p.add_argument("--output-len", type=_at_least(least_output), default=defaults["output_len"])
        if name == "single-stream":
            p.add_argument("--repeats", type=_at_least(1), default=3, help="timed requests")
        if name == "prefix":
            p.add_argument("--prefix-len", type=int, default=1024)
            p.add_argument("--suffix-len", type=int, default=64)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--dtype", default="auto")
        p.add_argument("--max-model-len", type=int, default=2048)
        p.add_argument("--max-num-seqs", type=int, default=64)
        p.add_argument("--max-num-batched-tokens", type=int, default=512)
        p.set_defaults(func=fn)
