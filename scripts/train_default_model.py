"""Trains jaxserve's embedded default model on the Python standard library, on CPU, in JAX.

    python scripts/train_default_model.py --out models/default

Steps: gather the stdlib sources and split off held-out files; make chat examples from their
docstrings; train a byte-level BPE tokenizer; train a small Llama; measure held-out perplexity
against a unigram baseline; write a Hugging Face directory (config, safetensors, tokenizer,
chat template, generation config) and a model card. Seeded: the same flags on the same Python
give the same model. Needs the `train` extra (`pip install -e .[train]`).
"""

from __future__ import annotations

import argparse
import functools
import logging
import math
import platform
import shlex
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from default_model import corpus, data, export, model, tokenizer, train
from tokenizers import Tokenizer

logger = logging.getLogger("train_default_model")

SAMPLE_PROMPTS = ("def parse_args(", "class Queue:\n", "import os\n\n\ndef ")
SAMPLE_QUESTIONS = ("What does os.path.join do?", "Explain json.dumps.")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("models/default"), help="output directory")
    p.add_argument("--steps", type=int, default=train.TrainConfig.steps)
    p.add_argument("--max-minutes", type=float, default=train.TrainConfig.max_minutes)
    p.add_argument("--batch-size", type=int, default=train.TrainConfig.batch_size)
    p.add_argument("--seq-len", type=int, default=train.TrainConfig.seq_len)
    p.add_argument("--chat-rows", type=int, default=train.TrainConfig.chat_rows)
    p.add_argument("--lr", type=float, default=train.TrainConfig.peak_lr)
    p.add_argument("--warmup-steps", type=int, default=train.TrainConfig.warmup_steps)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vocab-size", type=int, default=model.LlamaShape.vocab_size)
    p.add_argument("--hidden-size", type=int, default=model.LlamaShape.hidden_size)
    p.add_argument("--intermediate-size", type=int, default=model.LlamaShape.intermediate_size)
    p.add_argument("--layers", type=int, default=model.LlamaShape.num_layers)
    p.add_argument("--heads", type=int, default=model.LlamaShape.num_heads)
    p.add_argument("--kv-heads", type=int, default=model.LlamaShape.num_kv_heads)
    p.add_argument("--max-files", type=int, default=None, help="use only the first N files")
    p.add_argument("--eval-tokens", type=int, default=None, help="cap on held-out tokens")
    p.add_argument("--sample-tokens", type=int, default=64, help="tokens per card sample")
    p.add_argument("--log-every", type=int, default=train.TrainConfig.log_every)
    return p.parse_args(argv)


def greedy(params, shape: model.LlamaShape, ids: list[int], stop: set[int], n: int) -> list[int]:
    """Greedy continuation with the training forward over a fixed padded window (one compile)."""
    window = 128 * math.ceil((len(ids) + n) / 128)
    forward = jax.jit(functools.partial(model.forward, shape=shape))
    out = list(ids)
    for _ in range(n):
        padded = np.zeros((1, window), np.int32)
        padded[0, : len(out)] = out
        logits = forward(params, jnp.asarray(padded))  # [1, window, V]; causal, so pad is inert
        token = int(jnp.argmax(logits[0, len(out) - 1]))
        if token in stop:
            break
        out.append(token)
    return out[len(ids) :]


def samples_markdown(params, shape: model.LlamaShape, tok: Tokenizer, n: int) -> str:
    stop = {tok.token_to_id(tokenizer.EOS), tok.token_to_id(tokenizer.IM_END)}
    parts = []
    for prompt in SAMPLE_PROMPTS:
        ids = tok.encode(prompt).ids  # starts with <s>, as jaxserve's generate() does
        text = tok.decode(greedy(params, shape, ids, stop, n))
        parts.append(f"Completion of `{prompt!r}`:\n\n```python\n{prompt}{text}\n```")
    for question in SAMPLE_QUESTIONS:
        prompt = data.render_chat(question, "").removesuffix(f"{tokenizer.IM_END}\n")
        ids = tok.encode(prompt, add_special_tokens=False).ids
        text = tok.decode(greedy(params, shape, ids, stop, n))
        parts.append(f"Chat, user: {question!r}; assistant:\n\n```\n{text}\n```")
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    command = shlex.join(["python", "scripts/train_default_model.py", *(argv or sys.argv[1:])])
    started = time.perf_counter()

    files = corpus.find_sources(corpus.stdlib_root(), args.max_files)
    train_files, held_out_files = corpus.split_sources(files)
    if not held_out_files:  # a tiny --max-files subset may hash no file out: keep one aside
        train_files, held_out_files = train_files[:-1], train_files[-1:]
    chats = corpus.chat_examples(train_files, args.seed)
    if not chats:
        sys.exit("no documented public definitions in the chosen files: raise --max-files")
    logger.info(
        "corpus: %d train files, %d held out, %d chat examples",
        len(train_files),
        len(held_out_files),
        len(chats),
    )

    tok = tokenizer.train_tokenizer(
        [f.text for f in train_files] + [q + "\n" + a for q, a in chats], args.vocab_size
    )
    shape = model.LlamaShape(
        vocab_size=tok.get_vocab_size(),
        hidden_size=args.hidden_size,
        intermediate_size=args.intermediate_size,
        num_layers=args.layers,
        num_heads=args.heads,
        num_kv_heads=args.kv_heads,
    )
    streams = data.build_streams(tok, train_files, held_out_files, chats)
    logger.info(
        "tokens: %d code, %d chat, %d held out; vocabulary %d",
        len(streams.code),
        len(streams.chat),
        len(streams.held_out),
        shape.vocab_size,
    )

    cfg = train.TrainConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        chat_rows=args.chat_rows,
        peak_lr=args.lr,
        warmup_steps=args.warmup_steps,
        max_minutes=args.max_minutes,
        log_every=args.log_every,
        seed=args.seed,
    )
    result = train.train(shape, cfg, streams)
    num_params = model.count_params(result.params)
    logger.info("trained %d steps, %d parameters", result.steps_done, num_params)

    windows = data.eval_windows(streams.held_out, args.seq_len, args.eval_tokens)
    model_ppl = math.exp(train.held_out_nll(result.params, shape, windows))
    unigram_ppl = math.exp(data.unigram_nll(streams.code, windows, shape.vocab_size))
    logger.info("held-out perplexity: model %.2f, unigram %.2f", model_ppl, unigram_ppl)

    out = args.out
    token_ids = {t: tok.token_to_id(t) for t in tokenizer.SPECIAL_TOKENS}
    export.write_checkpoint(out, result.params, shape, token_ids)
    tokenizer.save_tokenizer(tok, out, shape.max_position_embeddings)
    export.write_tokenizer_config(out, tokenizer.CHAT_TEMPLATE, shape.max_position_embeddings)
    figures = export.Figures(
        num_params=num_params,
        train_tokens=len(streams.code) + len(streams.chat),
        held_out_tokens=windows.shape[0] * (windows.shape[1] - 1),
        steps=result.steps_done,
        batch_size=cfg.batch_size,
        seq_len=cfg.seq_len,
        final_loss=result.final_loss,
        model_ppl=model_ppl,
        unigram_ppl=unigram_ppl,
        wall_minutes=result.wall_seconds / 60,
        cpu_minutes=result.cpu_seconds / 60,
        command=command,
        train_files=len(train_files),
        held_out_files=len(held_out_files),
        chat_examples=len(chats),
        python_version=platform.python_version(),
    )
    samples = samples_markdown(result.params, shape, tok, args.sample_tokens)
    export.write_model_card(out, shape, figures, samples)
    logger.info(
        "wrote %s (%.1f MB) in %.1f min",
        out,
        export.directory_bytes(out) / 1e6,
        (time.perf_counter() - started) / 60,
    )


if __name__ == "__main__":
    main()
