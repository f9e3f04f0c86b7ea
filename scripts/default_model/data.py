"""Token streams for training and evaluation, and the unigram baseline to compare against."""

from __future__ import annotations

import dataclasses

import numpy as np
from tokenizers import Tokenizer

from default_model.corpus import SourceFile
from default_model.tokenizer import BOS, EOS, IM_END, IM_START


@dataclasses.dataclass(frozen=True)
class Streams:
    """Documents concatenated into flat int32 arrays; windows are cut from them at random."""

    code: np.ndarray  # i32[N]: <s> file text </s> <s> next file ...
    chat: np.ndarray  # i32[M]: <s><|im_start|>user ... <|im_end|> ... one conversation each
    held_out: np.ndarray  # i32[R]: the held-out files, laid out like `code`


def render_chat(question: str, answer: str) -> str:
    """One conversation exactly as the tokenizer's chat template renders it, answer included."""
    return f"{BOS}{IM_START}user\n{question}{IM_END}\n{IM_START}assistant\n{answer}{IM_END}\n"


def _document_stream(tok: Tokenizer, files: list[SourceFile]) -> np.ndarray:
    bos, eos = tok.token_to_id(BOS), tok.token_to_id(EOS)
    encoded = tok.encode_batch([f.text for f in files], add_special_tokens=False)
    parts = [np.asarray([bos, *e.ids, eos], np.int32) for e in encoded]
    return np.concatenate(parts) if parts else np.zeros((0,), np.int32)


def build_streams(
    tok: Tokenizer,
    train: list[SourceFile],
    held_out: list[SourceFile],
    chats: list[tuple[str, str]],
) -> Streams:
    encoded = tok.encode_batch([render_chat(q, a) for q, a in chats], add_special_tokens=False)
    chat = np.concatenate([np.asarray(e.ids, np.int32) for e in encoded])
    return Streams(
        code=_document_stream(tok, train),
        chat=chat,
        held_out=_document_stream(tok, held_out),
    )


def sample_batch(
    rng: np.random.Generator, streams: Streams, batch_size: int, seq_len: int, chat_rows: int
) -> np.ndarray:
    """i32[B, T+1] windows at random offsets; the first `chat_rows` rows come from chats.

    A fixed number of chat rows per batch, rather than mixing documents by size, is what
    guarantees the chat template is seen every step although chats are a small share of text.
    """
    rows = []
    for i in range(batch_size):
        stream = streams.chat if i < chat_rows else streams.code
        start = rng.integers(0, len(stream) - seq_len - 1)
        rows.append(stream[start : start + seq_len + 1])
    return np.stack(rows)


def eval_windows(stream: np.ndarray, seq_len: int, max_tokens: int | None) -> np.ndarray:
    """i32[N, T+1] non-overlapping windows (adjacent windows share one boundary token)."""
    n = (len(stream) - 1) // seq_len
    if max_tokens is not None:
        n = min(n, max(1, max_tokens // seq_len))
    return np.stack([stream[i * seq_len : i * seq_len + seq_len + 1] for i in range(n)])


def unigram_nll(train_tokens: np.ndarray, windows: np.ndarray, vocab_size: int) -> float:
    """Mean nats per target token under add-one-smoothed training-split token frequencies."""
    counts = np.bincount(train_tokens, minlength=vocab_size).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[windows[:, 1:]].mean())
