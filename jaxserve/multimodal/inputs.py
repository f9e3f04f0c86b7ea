"""What a prompt's images become before the engine sees them: processed pixels, a content
hash, and the run of placeholder tokens each one fills in the prompt.

Host-side and jax-free: the vision encoders (`jaxserve.model.vision`) read `pixel_values`; the
engine reads the rest (where each image sits, how many tokens it takes, its identity for the
encoder cache and for prefix caching).
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np


@dataclasses.dataclass(frozen=True, eq=False)
class ImageFeatures:
    """One image as its family's image processor left it.

    `grid` holds the static facts the encoder's shapes depend on (Qwen2.5-VL: the patch grid
    `(t, h, w)`; a fixed-size CLIP tower: `()`), so images that share a grid share a compiled
    encoder.
    """

    pixel_values: np.ndarray  # the processor's output for this image alone
    grid: tuple[int, ...]
    num_tokens: int  # placeholder tokens the image fills in the prompt
    content_hash: str  # of the decoded image (`image_hash`): equal pixels, equal hash


def image_hash(mode: str, size: tuple[int, int], pixels: bytes) -> str:
    """A content hash of a decoded image: the same picture sent twice (or as PNG once and as
    lossless WebP once) hashes alike; any pixel that differs gives another hash."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{mode}:{size[0]}x{size[1]}:".encode())
    h.update(pixels)
    return h.hexdigest()


@dataclasses.dataclass(frozen=True, eq=False)
class PlaceholderRange:
    """Where one image's embeddings go: prompt tokens `offset .. offset + length - 1`."""

    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclasses.dataclass(frozen=True, eq=False)
class MultiModalInput:
    """One image of a request: its features and where its placeholder tokens sit."""

    features: ImageFeatures
    placeholder: PlaceholderRange

    @property
    def content_hash(self) -> str:
        return self.features.content_hash
