"""Sampling on device, per request within one batch (R rows of logits, V vocabulary).

Order of operations, per row: penalties, logit bias and the token mask (a grammar's, or
`allowed_token_ids`) on the raw logits; then temperature;
then min-p (relative to the most likely token), top-k and top-p over what is left; then one
draw with the row's own key, `fold_in(key(seed), step)`, so a seeded request draws the same
tokens whatever else is in the batch. Temperature 0 rows take the argmax of the penalized
logits. Logprobs are of the raw model distribution.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import struct

from jaxserve.model.sampling_mode import SamplingMode


@struct.dataclass
class SamplingBatch:
    temperature: jax.Array  # f32[R]; 0 = greedy
    top_k: jax.Array  # i32[R]; 0 = off
    top_p: jax.Array  # f32[R]; 1 = off
    min_p: jax.Array  # f32[R]; 0 = off
    seeds: jax.Array  # u32[R]
    steps: jax.Array  # i32[R]: tokens this request has generated so far
    presence_penalty: jax.Array  # f32[R]
    frequency_penalty: jax.Array  # f32[R]
    repetition_penalty: jax.Array  # f32[R]
    output_ids: jax.Array  # i32[R, Ho]: generated tokens, padded with V
    prompt_ids: jax.Array  # i32[R, Hp]: prompt tokens, padded with V
    bias_ids: jax.Array  # i32[R, B]: padded with V
    bias_values: jax.Array  # f32[R, B]
    token_mask: jax.Array  # i32[R, ceil(V / 32)]: bit t % 32 of word t // 32 allows token t


@struct.dataclass
class SamplerOutput:
    tokens: jax.Array  # i32[R]
    logprobs: jax.Array  # f32[R]: raw logprob of each sampled token
    ranks: jax.Array  # i32[R]: 1 + how many tokens were more likely
    top_ids: jax.Array  # i32[R, k]
    top_logprobs: jax.Array  # f32[R, k]


ARGMAX_BLOCK = 512  # at most; the block is the largest power of two <= this dividing V


def argmax(x: jax.Array) -> jax.Array:
    """i32[R]: `jnp.argmax(x, axis=-1)` of f32[R, V], the first index of each row's max.

    XLA on CPU reduces an argmax as one (value, index) pair per step of a scalar loop: 14 ms
    at [64, 49152]. A max over blocks vectorizes, and an argmax over the block maxima and
    one block's argmax then find the index: 0.8 ms. A row holding NaN may get another index
    than jnp.argmax's (its max drops NaN), which no sampler cares about.
    """
    rows, vocab = x.shape
    block = math.gcd(vocab, ARGMAX_BLOCK)
    if block < 16 or vocab == block:
        return jnp.argmax(x, axis=-1).astype(jnp.int32)
    blocks = x.reshape(rows, vocab // block, block)
    first = jnp.argmax(jnp.max(blocks, axis=-1), axis=-1)  # the first block holding the max
    inside = jnp.take_along_axis(blocks, first[:, None, None], axis=1)[:, 0]  # [R, block]
    return (first * block + jnp.argmax(inside, axis=-1)).astype(jnp.int32)


def _scatter(rows: int, vocab: int, ids: jax.Array, values: jax.Array) -> jax.Array:
    """f32[R, V] with `values` added at `ids` (ids == V are padding and dropped)."""
    row_ids = jnp.arange(rows)[:, None]
    return jnp.zeros((rows, vocab), jnp.float32).at[row_ids, ids].add(values, mode="drop")


def allowed(token_mask: jax.Array, vocab: int) -> jax.Array:
    """bool[R, V]: the bits of the packed mask i32[R, W], token t at bit t % 32 of word t // 32."""
    rows, words = token_mask.shape
    bits = (token_mask[:, :, None] >> jnp.arange(32, dtype=jnp.int32)) & 1  # [R, W, 32]
    return bits.reshape(rows, words * 32)[:, :vocab] != 0


def apply_penalties(logits: jax.Array, sb: SamplingBatch) -> jax.Array:
    """Repetition (prompt and output tokens), then frequency and presence (output tokens)."""
    rows, vocab = logits.shape
    counts = _scatter(rows, vocab, sb.output_ids, jnp.ones(sb.output_ids.shape))
    in_prompt = _scatter(rows, vocab, sb.prompt_ids, jnp.ones(sb.prompt_ids.shape)) > 0
    seen = in_prompt | (counts > 0)
    rep = sb.repetition_penalty[:, None]
    logits = jnp.where(seen, jnp.where(logits > 0, logits / rep, logits * rep), logits)
    logits -= sb.frequency_penalty[:, None] * counts
    return logits - sb.presence_penalty[:, None] * (counts > 0)


def filter_candidates(scaled: jax.Array, sb: SamplingBatch, num: int):
    """The `num` most likely tokens per row with min-p, top-k and top-p applied.

    Returns (masked candidate logits f32[R, num], their token ids i32[R, num]).
    """
    values, ids = jax.lax.top_k(scaled, num)  # sorted, most likely first
    keep = values - values[:, :1] >= jnp.log(jnp.maximum(sb.min_p, 1e-30))[:, None]
    k = jnp.where(sb.top_k > 0, sb.top_k, num)
    keep &= jnp.arange(num)[None, :] < k[:, None]
    values = jnp.where(keep, values, -jnp.inf)
    probs = jax.nn.softmax(values, axis=-1)
    before = jnp.cumsum(probs, axis=-1) - probs  # mass of strictly more likely candidates
    keep &= before < sb.top_p[:, None]
    return jnp.where(keep, values, -jnp.inf), ids


def sample(logits: jax.Array, sb: SamplingBatch | None, mode: SamplingMode) -> SamplerOutput:
    """Draws one token per row of `logits` f32[R, V].

    `sb` may be None where `mode.uses_sampling_rows` is False (a plain greedy step).
    """
    rows, vocab = logits.shape
    raw_logits = logits
    if mode.penalties:
        logits = apply_penalties(logits, sb)
    if mode.logit_bias:
        logits += _scatter(rows, vocab, sb.bias_ids, sb.bias_values)
    if mode.token_mask:  # grammars and allowed_token_ids: barred tokens cannot be drawn
        logits = jnp.where(allowed(sb.token_mask, vocab), logits, -jnp.inf)
    tokens = argmax(logits)
    if not mode.greedy_only:
        temperature = jnp.where(sb.temperature > 0, sb.temperature, 1.0)
        scaled = logits / temperature[:, None]
        if mode.candidates:
            scaled, ids = filter_candidates(scaled, sb, mode.candidates)
        # Gumbel-max with one noise value per (row, token id): the draw depends only on the
        # row's key and distribution, not on how many candidates this step's mode keeps.
        keys = jax.vmap(lambda s, n: jax.random.fold_in(jax.random.key(s), n))(sb.seeds, sb.steps)
        noise = jax.vmap(lambda k: jax.random.gumbel(k, (vocab,)))(keys)  # [R, V]
        if mode.candidates:
            noise = jnp.take_along_axis(noise, ids, axis=-1)
            best = jnp.argmax(scaled + noise, axis=-1)
            choice = jnp.take_along_axis(ids, best[:, None], axis=-1)[:, 0]
        else:
            choice = argmax(scaled + noise)
        tokens = jnp.where(sb.temperature > 0, choice.astype(jnp.int32), tokens)
    if not mode.logprobs:  # the common case: skip a [R, V] log-softmax on every step
        empty = jnp.zeros((rows, 0))
        return SamplerOutput(
            tokens, jnp.zeros(rows), jnp.ones(rows, jnp.int32), empty.astype(jnp.int32), empty
        )
    raw_logprobs = jax.nn.log_softmax(raw_logits, axis=-1)
    chosen = jnp.take_along_axis(raw_logprobs, tokens[:, None], axis=-1)[:, 0]
    ranks = 1 + jnp.sum(raw_logprobs > chosen[:, None], axis=-1).astype(jnp.int32)
    if mode.num_logprobs:
        top_logprobs, top_ids = jax.lax.top_k(raw_logprobs, mode.num_logprobs)
    else:
        top_logprobs, top_ids = jnp.zeros((rows, 0)), jnp.zeros((rows, 0), jnp.int32)
    return SamplerOutput(tokens, chosen, ranks, top_ids.astype(jnp.int32), top_logprobs)


@struct.dataclass
class PromptLogprobs:
    logprobs: jax.Array  # f32[T]: of the token that follows each token in its prompt
    ranks: jax.Array  # i32[T]
    top_ids: jax.Array  # i32[T, k]
    top_logprobs: jax.Array  # f32[T, k]


def prompt_logprobs(logits: jax.Array, targets: jax.Array, k: int) -> PromptLogprobs:
    """Logprobs of `targets` i32[T] under `logits` f32[T, V] (targets == V are padding)."""
    logprobs = jax.nn.log_softmax(logits, axis=-1)
    safe = jnp.minimum(targets, logits.shape[-1] - 1)
    chosen = jnp.take_along_axis(logprobs, safe[:, None], axis=-1)[:, 0]
    ranks = 1 + jnp.sum(logprobs > chosen[:, None], axis=-1).astype(jnp.int32)
    top_logprobs, top_ids = jax.lax.top_k(logprobs, k)
    return PromptLogprobs(chosen, ranks, top_ids.astype(jnp.int32), top_logprobs)
