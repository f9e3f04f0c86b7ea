"""A KV cache stored in int8 or fp8 (e4m3): half the bytes of bfloat16 per token.

Each layer's keys and values get one static scale per KV head and channel, `[L, K, D]` each.
Per-channel scales fold out of attention exactly: a query times scaled keys is the query
scaled by the key scales times the stored keys, and the weighted sum of scaled values is the
sum of stored values scaled per channel. So the attention op quantizes the new K/V as it
writes them, multiplies the queries by the key scales and the output by the value scales,
and every attention kernel reads the pages as plain numbers.

The scales come from a calibration pass at start-up: the model prefills a fixed text (or,
without a tokenizer, fixed random tokens) into a float cache, and each channel's largest
magnitude, taken over the two channels RoPE rotates together and given headroom, becomes
the top of its code range. A value past it saturates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxserve.model.attention import make_attention_op
from jaxserve.model.batch import StepBatch
from jaxserve.model.config import ModelConfig
from jaxserve.model.kv_cache import CODE_MAX, KVCache

# Calibration sees one text; keys and values of later prompts may run larger.
HEADROOM = 1.5

CALIBRATION_TEXT = """\
The library is organized as a set of modules, each of which provides a small number of
related functions. When a request arrives, the server parses its headers, checks the
credentials, and passes the body to a handler that returns a response. Errors are reported
with a status code and a message that names the field at fault.

def merge(left, right):
    result, i, j = [], 0, 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            result.append(left[i]); i += 1
        else:
            result.append(right[j]); j += 1
    return result + left[i:] + right[j:]

In 1905 the physicist published four papers that changed how scientists thought about
space, time, light and matter. Questions: What is 17 times 23? Translate "good morning" into
French. Write a haiku about autumn rain. Summarize the plot of a novel in two sentences.
{"name": "Ada", "languages": ["en", "fr"], "active": true, "score": 97.5}
"""


def scales_from_absmax(absmax: np.ndarray, dtype: jnp.dtype, *, rotated: bool) -> np.ndarray:
    """f32[L, K, D] scales from each channel's largest magnitude. For keys (`rotated`), the
    two channels RoPE turns together (d and d + D/2) share the larger, which a rotation may
    move to either. A channel that never moved gets the scale of one."""
    if rotated:
        half = absmax.shape[-1] // 2
        pair = np.maximum(absmax[..., :half], absmax[..., half:])
        absmax = np.concatenate([pair, pair], axis=-1)
    scale = absmax * HEADROOM / CODE_MAX[jnp.dtype(dtype)]
    return np.where(scale > 0, scale, 1.0).astype(np.float32)


def calibration_tokens(
    encode: Callable[[str], list[int]] | None, vocab_size: int, length: int = 256
) -> list[int]:
    """The calibration prompt: the text's tokens, or fixed random ids without a tokenizer."""
    ids = list(encode(CALIBRATION_TEXT)) if encode is not None else []
    if not ids:
        ids = np.random.default_rng(0).integers(0, vocab_size, length).tolist()
    return ids[:length]


def calibrate_kv_scales(
    params: dict,
    token_ids: Sequence[int],
    *,
    cfg: ModelConfig,
    dtype: jnp.dtype,
    forward: Callable[..., tuple[jax.Array, KVCache]],
    attention_fn: Callable[..., jax.Array],
    page_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(k_scale, v_scale), f32[L, K, D] each, for pages stored as `dtype`.

    `forward` is the model's (`jaxserve.model.llama.forward` with its matmuls bound); it
    prefills `token_ids` into a float32 cache of just enough pages, whose written rows are
    then measured.
    """
    num_tokens = len(token_ids)
    num_pages = -(-num_tokens // page_size) + 1  # page 0 is the reserved one
    shape = (cfg.num_layers, num_pages, page_size, cfg.num_kv_heads, cfg.head_dim)
    cache = KVCache(k=jnp.zeros(shape, jnp.float32), v=jnp.zeros(shape, jnp.float32))
    positions = np.arange(num_tokens, dtype=np.int32)
    batch = StepBatch(
        token_ids=jnp.asarray(token_ids, jnp.int32),
        positions=jnp.asarray(positions),
        slot_mapping=jnp.asarray(positions + page_size),
        cu_q_lens=jnp.asarray([0, num_tokens], jnp.int32),
        kv_lens=jnp.asarray([num_tokens], jnp.int32),
        page_indices=jnp.arange(1, num_pages, dtype=jnp.int32)[None],
        num_seqs=jnp.asarray([1], jnp.int32),
        logits_indices=jnp.asarray([num_tokens - 1], jnp.int32),
    )
    attention = {
        window: make_attention_op(
            attention_fn,
            sm_scale=cfg.sm_scale,
            sliding_window=window,
            mesh=None,
            soft_cap=cfg.attn_logit_softcap,
            with_sinks=cfg.attention_sinks,
            block_q=16,
        )
        for window in set(cfg.windows)
    }

    def absmax(pages: jax.Array) -> jax.Array:  # [L, K, D] over the written rows
        rows = pages[:, 1:].reshape(cfg.num_layers, -1, *pages.shape[-2:])[:, :num_tokens]
        return jnp.abs(rows).max(axis=1)

    @jax.jit
    def measure(params, cache, batch):
        _, cache = forward(params, cache, batch, cfg=cfg, attention=attention)
        return absmax(cache.k), absmax(cache.v)

    k_max, v_max = jax.device_get(measure(params, cache, batch))
    return (
        scales_from_absmax(k_max, dtype, rotated=True),
        scales_from_absmax(v_max, dtype, rotated=False),
    )
