#!/usr/bin/env python3
"""Time from process start to the first generated token, cold and with the compile cache.

usage: startup.py MODEL_DIR [--cache DIR]

Runs two fresh Python processes in turn against one compilation cache directory (emptied
first): the first compiles every shape bucket and stores it, the second should find them
all on disk. Prints one RESULT line with both times and their ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

CHILD = """
import time
start = time.perf_counter()
from jaxserve import LLM, SamplingParams
llm = LLM({model!r}, compilation_cache_dir={cache!r}, skip_tokenizer_init=True,
          max_model_len=2048, max_num_seqs=64, max_num_batched_tokens=512)
llm.generate({{"prompt_token_ids": [1, 2, 3, 4, 5, 6, 7, 8]}},
             SamplingParams(temperature=0, max_tokens=1), use_tqdm=False)
print(f"FIRST_TOKEN_SECONDS {{time.perf_counter() - start:.2f}}")
"""


def first_token_seconds(model: str, cache: str) -> float:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(model=model, cache=cache)],
        # the native CPU kernel's build lives beside the XLA cache, so "cold" compiles both
        env=dict(os.environ, JAXSERVE_KERNEL_CACHE=os.path.join(cache, "kernels")),
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - start
    inner = next(line for line in out.stdout.splitlines() if line.startswith("FIRST_TOKEN"))
    return max(wall, float(inner.split()[1]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--cache", default=None)
    args = ap.parse_args()
    cache = args.cache or tempfile.mkdtemp(prefix="jaxserve-xla-")
    shutil.rmtree(cache, ignore_errors=True)
    cold = first_token_seconds(args.model, cache)
    warm = first_token_seconds(args.model, cache)
    print(
        f"RESULT startup cold_seconds={cold:.2f} cached_seconds={warm:.2f} "
        f"speedup={cold / warm:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
