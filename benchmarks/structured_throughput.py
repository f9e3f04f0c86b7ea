"""Output throughput of one `jaxserve run` with and without a JSON schema on every request.

16 streaming chat requests in flight (64 in all), each asked for exactly `--output-len` tokens:
the unconstrained ones with `ignore_eos`, the constrained ones under a schema that cannot end
sooner (an array of at least 200 records with integer, enum, string and number fields), so both
runs generate the same number of tokens and differ only in the grammar's work (one llguidance
bitmask per request per step, filled on the host, applied in the jitted sampler). The runs
alternate on one server, after a warm-up of each that compiles the steps' shapes, and print
output tok/s per run and the ratio of medians.

    python benchmarks/structured_throughput.py /work/benchmodel [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from anchors_host import busy_warnings, detect_host, host_lines
from anchors_procs import process_group, wait_healthy

RECORD = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "minimum": 0, "maximum": 1000000},
        "kind": {"enum": ["alpha", "beta", "gamma", "delta"]},
        "name": {"type": "string", "maxLength": 12},
        "score": {"type": "number"},
        "ok": {"type": "boolean"},
    },
    "required": ["id", "kind", "name", "score", "ok"],
    "additionalProperties": False,
}
SCHEMA = {"type": "array", "items": RECORD, "minItems": 200}
PROMPTS = [f"Record {i}: list the inventory of warehouse {i} as JSON." for i in range(64)]


async def one(client: httpx.AsyncClient, prompt: str, constrained: bool, out_len: int) -> int:
    body: dict = {
        "model": "bench",
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": out_len,
        "temperature": 0.0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if constrained:
        schema = {"name": "records", "schema": SCHEMA}
        body["response_format"] = {"type": "json_schema", "json_schema": schema}
    else:
        body["ignore_eos"] = True
    tokens = 0
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {(await response.aread())[:300]!r}")
        async for line in response.aiter_lines():
            if line.startswith("data: {"):
                usage = json.loads(line[6:]).get("usage")
                if usage:
                    tokens = usage["completion_tokens"]
    return tokens


async def run(url: str, constrained: bool, n: int, concurrency: int, out_len: int) -> dict:
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:

        async def gated(prompt: str) -> int:
            async with gate:
                return await one(client, prompt, constrained, out_len)

        start = time.perf_counter()
        counts = await asyncio.gather(*(gated(PROMPTS[i % len(PROMPTS)]) for i in range(n)))
        wall = time.perf_counter() - start
    return {"tokens": sum(counts), "wall": wall, "tok_s": sum(counts) / wall, "min": min(counts)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--output-len", type=int, default=128)
    ap.add_argument("--port", type=int, default=8017)
    args = ap.parse_args()
    host = detect_host()
    print("\n".join(host_lines(host)), flush=True)
    print("\n".join(busy_warnings(host, "before the runs")), flush=True)
    url = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as work:
        config = Path(work) / "bench.yaml"
        config.write_text(
            f"model: {Path(args.model).resolve()}\nserved_model_name: bench\nport: {args.port}\n"
            "max_model_len: 2048\nmax_num_seqs: 64\nkv_cache_memory: 4GiB\nwebui: false\n"
            "log_level: warning\n"
        )
        command = [sys.executable, "-m", "jaxserve.cli", "run", str(config)]
        with process_group(command, dict(os.environ), Path(work) / "server.log") as proc:
            wait_healthy(proc, url, 300)
            for constrained in (False, True):  # compile both modes' shapes first
                asyncio.run(run(url, constrained, args.concurrency, args.concurrency, 16))
            results: dict[bool, list[float]] = {False: [], True: []}
            for round_ in range(args.rounds):
                for constrained in (False, True):
                    r = asyncio.run(
                        run(url, constrained, args.n, args.concurrency, args.output_len)
                    )
                    results[constrained].append(r["tok_s"])
                    label = "json_schema" if constrained else "plain"
                    print(
                        f"round {round_ + 1} {label:11s} {r['tokens']} tokens in {r['wall']:.2f} s"
                        f" = {r['tok_s']:.1f} out tok/s (fewest tokens in a request: {r['min']})",
                        flush=True,
                    )
    plain, schema = (statistics.median(results[c]) for c in (False, True))
    print(
        f"RESULT concurrency={args.concurrency} n={args.n} output_len={args.output_len} "
        f"plain_tok_s={plain:.1f} json_schema_tok_s={schema:.1f} ratio={schema / plain:.3f}"
    )


if __name__ == "__main__":
    main()
