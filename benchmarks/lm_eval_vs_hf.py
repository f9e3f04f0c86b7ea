#!/usr/bin/env python3
"""lm-evaluation-harness against `jaxserve run`, each log-likelihood checked against Hugging Face.

usage: python benchmarks/lm_eval_vs_hf.py MODEL_DIR [--lm-eval-python /work/lmeval-venv/bin/python]
           [--port 8013] [--work-dir DIR] [--limit N]

Serves MODEL_DIR with `jaxserve run` in float32 (exact products, the parity setting), runs
`lm_eval --model local-completions` (in its own venv: `pip install "lm-eval[api]"
transformers`) on `benchmarks/lm_eval/jaxserve_choice.yaml`, a multiple-choice task over a
local JSONL file, with `--log_samples`, then computes every choice's log-likelihood with
`transformers` on the same checkpoint, tokenized as lm-eval tokenizes a pair (trailing spaces
of the context move to the continuation; the whole text is encoded, then split), and prints
the largest difference. RESULT lines: the task's accuracy from both, and the worst error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from anchors_procs import log_tail, process_group, wait_healthy  # noqa: E402

TASK_DIR = ROOT / "benchmarks" / "lm_eval"
TASK = "jaxserve_choice"
SERVED_NAME = "scored"
TOLERANCE = 1e-4


def serve_config(model: Path, port: int, path: Path) -> None:
    path.write_text(
        f"model: {model}\nserved_model_name: {SERVED_NAME}\nport: {port}\n"
        "dtype: float32\nwebui: false\nmax_num_seqs: 16\n"
    )


def task_dir(work: Path) -> Path:
    """The task's YAML, its data file named by absolute path (lm-eval reads it from its cwd)."""
    tasks = work / "tasks"
    tasks.mkdir(exist_ok=True)
    text = (TASK_DIR / f"{TASK}.yaml").read_text()
    data = TASK_DIR / "choice.jsonl"
    (tasks / f"{TASK}.yaml").write_text(text.replace("test: choice.jsonl", f"test: {data}"))
    return tasks


def lm_eval_command(
    python: str, model: Path, port: int, work: Path, limit: int | None
) -> list[str]:
    args = ",".join(
        [
            f"model={SERVED_NAME}",
            f"base_url=http://127.0.0.1:{port}/v1/completions",
            f"tokenizer={model}",
            "tokenizer_backend=huggingface",
            "tokenized_requests=True",
            "num_concurrent=4",
            "max_retries=1",
        ]
    )
    cmd = [python, "-m", "lm_eval", "--model", "local-completions", "--model_args", args]
    cmd += ["--tasks", TASK, "--include_path", str(task_dir(work)), "--log_samples"]
    cmd += ["--output_path", str(work / "out"), "--batch_size", "4"]
    return cmd + (["--limit", str(limit)] if limit else [])


def read_samples(out: Path) -> list[dict]:
    (path,) = out.rglob(f"samples_{TASK}_*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def pairs_and_scores(sample: dict) -> list[tuple[str, str, float]]:
    """(context, continuation, jaxserve's log-likelihood) of each choice of one document."""
    args = sample["arguments"]
    keys = sorted(args, key=lambda k: int(k.rsplit("_", 1)[1]))
    out = []
    for key, resp in zip(keys, sample["resps"], strict=True):
        loglik = resp[0][0]
        out.append((args[key]["arg_0"], args[key]["arg_1"], float(loglik)))
    return out


def hf_logliks(model_dir: Path, pairs: list[tuple[str, str]]) -> list[float]:
    import torch
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    scores = []
    for context, continuation in pairs:
        spaces = len(context) - len(context.rstrip())
        if spaces:
            context, continuation = context[:-spaces], context[-spaces:] + continuation
        whole = tokenizer(context + continuation, add_special_tokens=False).input_ids
        ctx = tokenizer(context, add_special_tokens=False).input_ids
        with torch.no_grad():
            logits = model(torch.tensor([whole])).logits[0].double()
        logprobs = torch.log_softmax(logits, dim=-1)
        scores.append(float(sum(logprobs[i - 1, whole[i]] for i in range(len(ctx), len(whole)))))
    return scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--lm-eval-python", default="/work/lmeval-venv/bin/python")
    parser.add_argument("--port", type=int, default=8013)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    model = args.model.resolve()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="lm_eval_vs_hf-"))
    work.mkdir(parents=True, exist_ok=True)
    config = work / "serve.yaml"
    serve_config(model, args.port, config)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    server = [sys.executable, "-m", "jaxserve.cli", "run", str(config)]
    with process_group(server, env, work / "server.log") as proc:
        wait_healthy(proc, f"http://127.0.0.1:{args.port}", timeout=300)
        cmd = lm_eval_command(args.lm_eval_python, model, args.port, work, args.limit)
        print("$", " ".join(cmd), flush=True)
        lm_env = dict(env, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
        with process_group(cmd, lm_env, work / "lm_eval.log") as run:
            code = run.wait(1800)
        if code != 0:
            print(f"lm_eval exited with {code}:\n{log_tail(work / 'lm_eval.log')}")
            return 1
        print(log_tail(work / "lm_eval.log", 1200))  # its table of results
    samples = read_samples(work / "out")
    triples = [t for s in samples for t in pairs_and_scores(s)]
    want = hf_logliks(model, [(c, x) for c, x, _ in triples])
    worst = max(abs(got - ref) for (_, _, got), ref in zip(triples, want, strict=True))
    correct = {"jaxserve": 0, "hf": 0}
    i = 0
    for s in samples:
        n = len(s["resps"])
        ours, ref = [t[2] for t in triples[i : i + n]], want[i : i + n]
        gold = int(s["target"])
        correct["jaxserve"] += max(range(n), key=ours.__getitem__) == gold
        correct["hf"] += max(range(n), key=ref.__getitem__) == gold
        i += n
    docs = len(samples)
    print(
        f"RESULT task={TASK} docs={docs} choices={len(triples)} "
        f"acc_jaxserve={correct['jaxserve'] / docs:.4f} acc_hf={correct['hf'] / docs:.4f} "
        f"max_abs_loglik_diff={worst:.2e} tolerance={TOLERANCE:.0e} "
        f"{'ok' if worst <= TOLERANCE else 'FAIL'}"
    )
    print(f"logs: {work}")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
