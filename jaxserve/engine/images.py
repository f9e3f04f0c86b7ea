"""A request's images on the host side: checking where their placeholder tokens sit, and
handing each step's chunk its image embeddings and M-RoPE positions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jaxserve.engine.encoder_cache import EncoderCache
from jaxserve.engine.request import Request
from jaxserve.multimodal.inputs import MultiModalInput


def check_images(
    ids: Sequence[int],
    mm_inputs: Sequence[MultiModalInput],
    positions: np.ndarray | None,
    image_token_id: int | None,
    cache: EncoderCache | None,
) -> None:
    """Raises `ValueError` unless each image's placeholder run is a run of image tokens inside
    the prompt as long as its embeddings, the runs come in order without overlapping, every
    image token of the prompt belongs to one, and the cache can hold each image."""
    if image_token_id is not None:
        covered = sum(item.placeholder.length for item in mm_inputs)
        found = sum(1 for t in ids if t == image_token_id)
        if found != covered:
            raise ValueError(
                f"the prompt holds {found} image tokens, but its images fill {covered}"
            )
    end = 0
    for item in mm_inputs:
        placeholder = item.placeholder
        if placeholder.offset < end or placeholder.end > len(ids):
            raise ValueError(
                "image placeholder runs overlap, come out of order or leave the prompt"
            )
        if any(t != image_token_id for t in ids[placeholder.offset : placeholder.end]):
            raise ValueError("an image's placeholder run holds tokens other than the image token")
        if placeholder.length != item.features.num_tokens:
            raise ValueError(
                f"an image of {item.features.num_tokens} embeddings has a placeholder run of "
                f"{placeholder.length} tokens"
            )
        if cache is not None and placeholder.length > cache.capacity_tokens:
            raise ValueError(
                f"an image of {placeholder.length} embeddings is larger than the encoder cache "
                f"({cache.capacity_tokens}); raise encoder_cache_tokens or send a smaller image"
            )
        end = placeholder.end
    if positions is not None and np.shape(positions) != (3, len(ids)):
        raise ValueError(
            f"mrope_positions must have shape (3, {len(ids)}), got {np.shape(positions)}"
        )


def chunk_embeds(
    request: Request, start: int, end: int, cache: EncoderCache
) -> tuple[tuple[int, np.ndarray], ...]:
    """The image embeddings of tokens start .. end - 1: (first token among them, rows) for
    each image those tokens reach, from the encoder cache (the scheduler made sure each is
    there)."""
    embeds = []
    for item in request.mm_inputs:
        first = max(item.placeholder.offset, start)
        last = min(item.placeholder.end, end)
        if first < last:
            rows = cache.get(item.content_hash)
            offset = item.placeholder.offset
            embeds.append((first - start, rows[first - offset : last - offset]))
    return tuple(embeds)


def mrope_positions(request: Request, start: int, end: int) -> np.ndarray:
    """i32[3, end - start]: the M-RoPE positions of tokens start .. end - 1 of `request`: the
    prompt's own, then one step a token past it on all three axes."""
    assert request.mrope_positions is not None
    prompt = request.mrope_positions[:, start:end]
    after = np.arange(start + prompt.shape[1], end, dtype=np.int32) + request.mrope_delta
    return np.concatenate([prompt, np.broadcast_to(after, (3, len(after)))], axis=1).astype(
        np.int32
    )
