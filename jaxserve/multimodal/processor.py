"""`PromptProcessor`: a prompt's token ids and its images -> what the engine queues.

The chat template (or the user) writes one image token where each image goes; the processor
runs the checkpoint's own image processor, widens each image token into the run of
placeholder tokens its embeddings fill, and, for M-RoPE models, works out the prompt's 3-D
positions. Host-side: no jax, no torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
from PIL import Image

from jaxserve.multimodal.inputs import ImageFeatures, MultiModalInput, PlaceholderRange

# A prompt's positions from its ids and images: (i32[3, T], delta) (Qwen2.5-VL's M-RoPE).
MRopePositions = Callable[[Sequence[int], Sequence[MultiModalInput]], tuple[np.ndarray, int]]


class ImageProcessor(Protocol):
    image_token_id: int

    def __call__(self, images: Sequence[Image.Image]) -> list[ImageFeatures]: ...


@dataclasses.dataclass(frozen=True)
class ProcessedPrompt:
    token_ids: list[int]  # with each image's placeholder run in full
    mm_inputs: tuple[MultiModalInput, ...]
    mrope_positions: np.ndarray | None = None  # i32[3, T]
    mrope_delta: int = 0


class PromptProcessor:
    """Expands a prompt's image tokens for its images.

    Args:
        images: the checkpoint's image processor (`jaxserve.multimodal.qwen2_5_vl`, `.llava`).
        mrope: the M-RoPE position rule, for models that have one.
        max_images: most images one prompt may hold.
    """

    def __init__(
        self, images: ImageProcessor, *, mrope: MRopePositions | None = None, max_images: int = 8
    ):
        if max_images < 1:
            raise ValueError(f"max_images must be at least 1, got {max_images}")
        self.images = images
        self.image_token_id = images.image_token_id
        self.mrope = mrope
        self.max_images = max_images

    def __call__(self, token_ids: Sequence[int], images: Sequence[Image.Image]) -> ProcessedPrompt:
        """Raises `ValueError` naming the problem: too many images, or not as many image
        places in the prompt as images."""
        if len(images) > self.max_images:
            raise ValueError(
                f"the prompt has {len(images)} images; at most {self.max_images} are allowed"
            )
        runs = _image_token_runs(token_ids, self.image_token_id)
        features = self.images(images) if images else []
        ids: list[int] = []
        inputs: list[MultiModalInput] = []
        cursor, next_image = 0, 0
        for start, length in runs:
            ids.extend(token_ids[cursor:start])
            # A run is one image already widened, or one image token per image.
            widened = next_image < len(features) and length == features[next_image].num_tokens
            for _ in range(1 if widened else length):
                if next_image == len(features):
                    raise ValueError(_count_message(runs, features))
                image = features[next_image]
                inputs.append(MultiModalInput(image, PlaceholderRange(len(ids), image.num_tokens)))
                ids.extend([self.image_token_id] * image.num_tokens)
                next_image += 1
            cursor = start + length
        ids.extend(token_ids[cursor:])
        if next_image != len(features):
            raise ValueError(_count_message(runs, features))
        if self.mrope is None or not inputs:
            return ProcessedPrompt(ids, tuple(inputs))
        positions, delta = self.mrope(ids, inputs)
        return ProcessedPrompt(ids, tuple(inputs), positions, delta)


def _image_token_runs(token_ids: Sequence[int], image_token_id: int) -> list[tuple[int, int]]:
    """(start, length) of each maximal run of image tokens."""
    runs = []
    i = 0
    while i < len(token_ids):
        if token_ids[i] == image_token_id:
            start = i
            while i < len(token_ids) and token_ids[i] == image_token_id:
                i += 1
            runs.append((start, i - start))
        else:
            i += 1
    return runs


def _count_message(runs: list[tuple[int, int]], features: list[ImageFeatures]) -> str:
    places = sum(length for _, length in runs)
    return (
        f"the prompt has places for {places} image(s) (image tokens) but {len(features)} "
        "image(s) came with it; put one image placeholder where each image goes"
    )
