"""Requests/s and time to first token of a vision-language workload with the encoder cache on
and off: 32 chat requests that share 4 images.

Each request is a shared system prompt, then a question of its own and one of the 4 images
(as many users asking about the same few pictures), streamed with `max_tokens` 32, 8 in
flight. With the cache on, each image is encoded once; off, every request encodes its own.
Prefix caching is on in both runs (the default); with the question first no two requests
share a page past the system prompt, so every image's placeholders need its embeddings.
`--layout image-first` puts the image before the question instead: then a request that
repeats an image mostly reuses its pages from the prefix cache, and the encoder cache only
matters where an image ends inside a page. Each run is its own `jaxserve run`, warmed up on
the same workload over 4 other images first (so every shape is compiled before the clock).

The model is written once to `--model-dir`: Qwen2.5-VL's architecture with random bfloat16
weights, the text side SmolLM2-135M's shape (576 wide, 30 layers) and a ViT-B sized tower
(12 blocks 768 wide, windows of 112 pixels, full attention in every fourth block); 448 x 448
images become 256 placeholder tokens.

    python benchmarks/vlm_encoder_cache.py [--model-dir /work/benchvlm]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from anchors_host import busy_warnings, detect_host, host_lines
from anchors_procs import process_group, wait_healthy

IMAGE_SIDE = 448
TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for p in m['content'] %}"
    "{% if p['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% else %}{{ p['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SYSTEM = "You are a careful assistant who describes pictures in plain words. " * 3
QUESTIONS = [
    "What is in this picture?", "Describe the colours.", "Is there a person here?",
    "What could this be used for?", "Count the objects you see.", "Where was this taken?",
    "Is it day or night?", "Write a caption for it.",
]  # fmt: skip


def write_model(out: Path, base_tokenizer: Path) -> None:
    import torch
    import transformers
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    tokenizer = transformers.AutoTokenizer.from_pretrained(base_tokenizer)
    tokenizer.add_special_tokens(
        {"additional_special_tokens": ["<|vision_start|>", "<|image_pad|>", "<|vision_end|>"]}
    )
    tokenizer.chat_template = TEMPLATE
    ids = tokenizer.convert_tokens_to_ids(["<|vision_start|>", "<|image_pad|>", "<|vision_end|>"])
    config = transformers.Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=576, intermediate_size=1536,
            num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
            max_position_embeddings=8192, rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2,
            rope_scaling={"type": "mrope", "mrope_section": [8, 12, 12]},
        ),
        vision_config=dict(
            depth=12, hidden_size=768, intermediate_size=3072, num_heads=12,
            out_hidden_size=576, patch_size=14, spatial_merge_size=2, temporal_patch_size=2,
            window_size=112, fullatt_block_indexes=[3, 7, 11],
        ),
        image_token_id=ids[1], video_token_id=ids[1], vision_start_token_id=ids[0],
        vision_end_token_id=ids[2], tie_word_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(0)
    model = transformers.Qwen2_5_VLForConditionalGeneration(config).to(torch.bfloat16)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    Qwen2VLImageProcessorPil(min_pixels=IMAGE_SIDE**2, max_pixels=IMAGE_SIDE**2).save_pretrained(
        out
    )


def image_url(seed: int) -> str:
    from PIL import Image

    rng = np.random.default_rng(seed)
    # Smooth gradients and blocks, not noise: a PNG the size of a real picture's.
    y, x = np.mgrid[0:IMAGE_SIDE, 0:IMAGE_SIDE]
    base = rng.integers(0, 256, 3)
    pixels = (base + (x * rng.uniform(0, 0.5) + y * rng.uniform(0, 0.5))[..., None]) % 256
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


async def one(
    client: httpx.AsyncClient, image: str, question: str, out_len: int, image_first: bool
) -> float:
    """Streams one request; returns its time to first token in seconds."""
    parts = [
        {"type": "text", "text": question},
        {"type": "image_url", "image_url": {"url": image}},
    ]
    body = {
        "model": "bench",
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": parts[::-1] if image_first else parts},
        ],
        "max_tokens": out_len, "temperature": 0.0, "ignore_eos": True, "stream": True,
    }  # fmt: skip
    start = time.perf_counter()
    ttft = None
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {(await response.aread())[:300]!r}")
        async for line in response.aiter_lines():
            if ttft is None and line.startswith("data: {") and '"content"' in line:
                ttft = time.perf_counter() - start
    assert ttft is not None, "no token came back"
    return ttft


async def workload(
    url: str, images: list[str], n: int, concurrency: int, out_len: int, image_first: bool
) -> dict:
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=900) as client:

        async def gated(i: int) -> float:
            async with gate:
                question = f"{QUESTIONS[i % len(QUESTIONS)]} (request {i})"
                image = images[i % len(images)]
                return await one(client, image, question, out_len, image_first)

        start = time.perf_counter()
        ttfts = await asyncio.gather(*(gated(i) for i in range(n)))
        wall = time.perf_counter() - start
    return {"wall": wall, "rps": n / wall, "ttfts": sorted(ttfts)}


def metrics(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(r"^jaxserve:(\w+)\{[^}]*\} (\S+)$", text, re.MULTILINE)
    }


def run_server(args, cache: bool, workdir: Path) -> dict:
    url = f"http://127.0.0.1:{args.port}"
    config = workdir / f"cache_{cache}.yaml"
    config.write_text(
        f"model: {args.model_dir.resolve()}\nserved_model_name: bench\nport: {args.port}\n"
        "max_model_len: 2048\nmax_num_seqs: 16\nkv_cache_memory: 2GiB\nwebui: false\n"
        f"log_level: warning\nenable_encoder_cache: {str(cache).lower()}\n"
    )
    command = [sys.executable, "-m", "jaxserve.cli", "run", str(config)]
    with process_group(command, dict(os.environ), workdir / f"server_{cache}.log") as proc:
        wait_healthy(proc, url, 600)
        image_first = args.layout == "image-first"
        shape = (args.n, args.concurrency, args.output_len, image_first)
        warm = [image_url(100 + i) for i in range(args.images)]
        asyncio.run(workload(url, warm, *shape))  # compiles every shape the run will use
        before = metrics(url)
        images = [image_url(i) for i in range(args.images)]
        result = asyncio.run(workload(url, images, *shape))
        after = metrics(url)
    result["encoded"] = after["encoder_images_total"] - before["encoder_images_total"]
    result["cache_hits"] = after["encoder_cache_hits_total"] - before["encoder_cache_hits_total"]
    prefix = after["prefix_cache_hits_total"] - before["prefix_cache_hits_total"]
    result["prefix_hits"] = prefix
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=Path("/work/benchvlm"))
    ap.add_argument("--base-tokenizer", type=Path, default=Path("/work/benchmodel"))
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--output-len", type=int, default=32)
    ap.add_argument("--port", type=int, default=8019)
    ap.add_argument("--layout", choices=("question-first", "image-first"), default="question-first")
    args = ap.parse_args()
    if not (args.model_dir / "config.json").exists():
        print(f"writing the benchmark VLM to {args.model_dir}", flush=True)
        write_model(args.model_dir, args.base_tokenizer)
    host = detect_host()
    print("\n".join(host_lines(host)), flush=True)
    print("\n".join(busy_warnings(host, "before the runs")), flush=True)
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for cache in (True, False):
            r = run_server(args, cache, Path(work))
            results[cache] = r
            t = r["ttfts"]
            print(
                f"encoder cache {'on ' if cache else 'off'}: {args.n} requests in "
                f"{r['wall']:.2f} s = {r['rps']:.3f} req/s; TTFT p50 {statistics.median(t):.3f} s,"
                f" p90 {t[int(0.9 * (len(t) - 1))]:.3f} s; images encoded {r['encoded']:.0f}, "
                f"encoder cache hits {r['cache_hits']:.0f}, prefix-cache hit tokens "
                f"{r['prefix_hits']:.0f}",
                flush=True,
            )
    on, off = results[True], results[False]
    print(
        "RESULT "
        + json.dumps(
            {
                "n": args.n,
                "images": args.images,
                "concurrency": args.concurrency,
                "rps_on": round(on["rps"], 3),
                "rps_off": round(off["rps"], 3),
                "rps_ratio": round(on["rps"] / off["rps"], 2),
                "ttft_p50_on": round(statistics.median(on["ttfts"]), 3),
                "ttft_p50_off": round(statistics.median(off["ttfts"]), 3),
                "encoded_on": on["encoded"],
                "encoded_off": off["encoded"],
            }
        )
    )


if __name__ == "__main__":
    main()
