"""Per-row sampling arrays for one step, built on the host from the scheduled requests.

Each scheduled chunk owns one row of logits. Rows of padding (and of prompt chunks whose
sample is discarded) are greedy. Optional parts (penalty histories, logit bias, top
candidates, logprobs) are sized to their bucket only when some row needs them; otherwise
they are one column wide and the step compiles without them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from jaxserve.engine.packing import bucket
from jaxserve.engine.request import Request
from jaxserve.model.sampling_mode import SamplingMode

# A filtered draw keeps at most this many candidates unless some row needs the whole
# vocabulary sorted (top-p or min-p without top-k).
MAX_TOP_K_CANDIDATES = 1024


def banned_tokens(request: Request) -> list[int]:
    """Tokens barred from the next draw: EOS and stop tokens before `min_tokens` are
    generated, and the last token of each bad word whose other tokens end the output so far."""
    banned: set[int] = set()
    if len(request.output_token_ids) < request.params.min_tokens:
        banned |= set(request.params.stop_ids)
        if not request.params.ignore_eos:
            banned |= request.eos_token_ids
    output = request.output_token_ids
    for ids in request.bad_word_ids:
        head = ids[:-1]
        if not head or (len(output) >= len(head) and output[len(output) - len(head) :] == head):
            banned.add(ids[-1])
    return sorted(banned)


def _candidates(requests: Sequence[Request], vocab: int) -> int:
    sampled = [r.params for r in requests if not r.params.greedy]
    if not any(p.top_k > 0 or p.top_p < 1 or p.min_p > 0 for p in sampled):
        return 0
    if any((p.top_p < 1 or p.min_p > 0) and p.top_k <= 0 for p in sampled):
        return vocab
    return min(bucket(max(p.top_k for p in sampled), 16), MAX_TOP_K_CANDIDATES, vocab)


def _padded(rows: Sequence[Sequence[int]], num_rows: int, pad: int, floor: int) -> np.ndarray:
    width = bucket(max((len(r) for r in rows), default=1), floor)
    out = np.full((num_rows, width), pad, np.int32)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def pack_sampling(
    requests: Sequence[Request],
    num_rows: int,
    vocab: int,
    seeds: Sequence[int],
    token_mask: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], SamplingMode]:
    """Arrays with the fields of `SamplingBatch`, and the step's static mode.

    `token_mask` i32[num_rows, ceil(V / 32)]: the rows' token masks, where some row has one.
    """
    n = len(requests)
    params = [r.params for r in requests]

    def column(values, dtype, fill):
        out = np.full(num_rows, fill, dtype)
        out[:n] = values
        return out

    penalties = any(
        p.presence_penalty or p.frequency_penalty or p.repetition_penalty != 1 for p in params
    )
    bias_rows = [
        [(int(t), float(v)) for t, v in (r.params.logit_bias or {}).items()]
        + [(t, -np.inf) for t in banned_tokens(r)]
        for r in requests
    ]
    logprobs = [p.logprobs for p in params if p.logprobs is not None]
    prompt_ks = [p.prompt_logprobs for p in params if p.prompt_logprobs is not None]
    mode = SamplingMode(
        greedy_only=all(p.greedy for p in params),
        penalties=penalties,
        logit_bias=any(bias_rows),
        token_mask=token_mask is not None,
        candidates=_candidates(requests, vocab),
        logprobs=bool(logprobs),
        num_logprobs=vocab if -1 in logprobs else max(logprobs, default=0),
        prompt_logprobs=(-1 if -1 in prompt_ks else max(prompt_ks)) if prompt_ks else None,
    )
    arrays = {
        "temperature": column([p.temperature for p in params], np.float32, 0.0),
        "top_k": column([p.top_k if p.top_k > 0 else 0 for p in params], np.int32, 0),
        "top_p": column([p.top_p for p in params], np.float32, 1.0),
        "min_p": column([p.min_p for p in params], np.float32, 0.0),
        "seeds": column(seeds, np.uint32, 0),
        "steps": column([len(r.output_token_ids) for r in requests], np.int32, 0),
        "presence_penalty": column([p.presence_penalty for p in params], np.float32, 0.0),
        "frequency_penalty": column([p.frequency_penalty for p in params], np.float32, 0.0),
        "repetition_penalty": column([p.repetition_penalty for p in params], np.float32, 1.0),
    }
    if penalties:
        arrays["output_ids"] = _padded([r.output_token_ids for r in requests], num_rows, vocab, 16)
        arrays["prompt_ids"] = _padded([r.prompt_token_ids for r in requests], num_rows, vocab, 16)
    else:
        arrays["output_ids"] = arrays["prompt_ids"] = np.full((num_rows, 1), vocab, np.int32)
    if mode.logit_bias:
        arrays["bias_ids"] = _padded([[t for t, _ in row] for row in bias_rows], num_rows, vocab, 4)
        values = np.zeros(arrays["bias_ids"].shape, np.float32)
        for i, row in enumerate(bias_rows):
            values[i, : len(row)] = [v for _, v in row]
        arrays["bias_values"] = values
    else:
        arrays["bias_ids"] = np.full((num_rows, 1), vocab, np.int32)
        arrays["bias_values"] = np.zeros((num_rows, 1), np.float32)
    if token_mask is None:
        token_mask = np.full((num_rows, 1), -1, np.int32)
    arrays["token_mask"] = token_mask
    return arrays, mode


@dataclasses.dataclass(frozen=True)
class SampledTokens:
    """What a step returns for its first `n` rows, as host arrays."""

    tokens: np.ndarray  # i32[n]
    logprobs: np.ndarray  # f32[n]: raw logprob of each sampled token
    ranks: np.ndarray  # i32[n]
    top_ids: np.ndarray  # i32[n, k]
    top_logprobs: np.ndarray  # f32[n, k]
    # Per token row of the step (only when some request asked for prompt logprobs):
    prompt_logprobs: np.ndarray | None = None  # f32[T]
    prompt_ranks: np.ndarray | None = None  # i32[T]
    prompt_top_ids: np.ndarray | None = None  # i32[T, k]
    prompt_top_logprobs: np.ndarray | None = None  # f32[T, k]
