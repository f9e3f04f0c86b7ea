"""Qwen2.5-VL's host side: images into patches (`ImageFeatures`), and the prompt's 3D M-RoPE
positions around the images' placeholder tokens.

No jax and no torch: transformers' PIL image processor runs on numpy alone (AutoProcessor
would also build the video processor, which needs torchvision).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from jaxserve.errors import CheckpointError, ModelConfigError
from jaxserve.multimodal.inputs import ImageFeatures, MultiModalInput, image_hash

PROCESSOR_CONFIG = "preprocessor_config.json"
DEFAULT_IMAGE_TOKEN_ID = 151655  # `<|image_pad|>`, where config.json names none


class Qwen25VLImageProcessor:
    """Turns a request's images into `ImageFeatures`, as the checkpoint's processor would."""

    def __init__(self, model_dir: Path, hf_config: Mapping[str, Any]) -> None:
        if not (Path(model_dir) / PROCESSOR_CONFIG).is_file():
            raise CheckpointError(f"{model_dir} has no {PROCESSOR_CONFIG} for its images")
        self._processor = Qwen2VLImageProcessorPil.from_pretrained(str(model_dir))
        self.image_token_id = int(hf_config.get("image_token_id", DEFAULT_IMAGE_TOKEN_ID))
        vision = hf_config.get("vision_config") or {}
        for name, ours in (
            ("patch_size", "patch_size"),
            ("temporal_patch_size", "temporal_patch_size"),
            ("spatial_merge_size", "merge_size"),
        ):
            theirs = getattr(self._processor, ours)
            if name in vision and vision[name] != theirs:
                raise ModelConfigError(
                    f"{PROCESSOR_CONFIG} has {ours}={theirs} but the vision_config has "
                    f"{name}={vision[name]}"
                )
        self.spatial_merge_size = int(self._processor.merge_size)

    def __call__(self, images: Sequence[Image.Image]) -> list[ImageFeatures]:
        """One `ImageFeatures` per image: pixel_values f32[t*h*w, C * Tp * P * P] and grid
        (t, h, w) in patches, filling t*h*w / merge**2 placeholder tokens."""
        if not images:
            return []
        out = self._processor(list(images), return_tensors="np")
        pixels = np.asarray(out["pixel_values"], np.float32)
        grids = [tuple(int(n) for n in g) for g in out["image_grid_thw"]]
        ends = np.cumsum([t * h * w for t, h, w in grids])
        features = []
        for image, grid, end in zip(images, grids, ends, strict=True):
            t, h, w = grid
            features.append(
                ImageFeatures(
                    pixel_values=pixels[end - t * h * w : end],
                    grid=grid,
                    num_tokens=t * h * w // self.spatial_merge_size**2,
                    content_hash=image_hash(image.mode, image.size, image.tobytes()),
                )
            )
        return features


def mrope_positions(
    token_ids: Sequence[int], inputs: Sequence[MultiModalInput], spatial_merge_size: int
) -> tuple[np.ndarray, int]:
    """The prompt's M-RoPE positions (temporal, row, column), as Hugging Face's
    `get_rope_index` gives them for images.

    Text tokens count on from the last position on all three axes; an image's tokens sit at
    the position where it starts plus their (frame, merged row, merged column), and the text
    after it starts max(merged rows, merged columns) further on.

    Args:
        token_ids: the prompt, T tokens.
        inputs: its images, each with its placeholder run (offset, length) in the prompt.
        spatial_merge_size: the vision tower's merge size.

    Returns:
        i32[3, T] positions, and `delta`: the token at sequence index i >= T (generated) has
        position i + delta on all three axes.
    """
    n = len(token_ids)
    positions = np.zeros((3, n), np.int64)
    cursor, start = 0, 0  # next token index; its position
    for item in sorted(inputs, key=lambda i: i.placeholder.offset):
        place = item.placeholder
        t, h, w = item.features.grid
        h, w = h // spatial_merge_size, w // spatial_merge_size
        if place.offset < cursor or place.end > n or place.length != t * h * w:
            raise ValueError(
                f"image placeholder at {place.offset}..{place.end} (length {place.length}) "
                f"does not fit a {n}-token prompt with {t * h * w} tokens for grid "
                f"{item.features.grid}, after {cursor} tokens placed"
            )
        positions[:, cursor : place.offset] = start + np.arange(place.offset - cursor)
        start += place.offset - cursor
        frame, row, col = np.meshgrid(np.arange(t), np.arange(h), np.arange(w), indexing="ij")
        positions[:, place.offset : place.end] = start + np.stack([frame, row, col]).reshape(3, -1)
        start += max(h, w)
        cursor = place.end
    positions[:, cursor:] = start + np.arange(n - cursor)
    delta = int(positions.max()) + 1 - n if n else 0
    return positions.astype(np.int32), delta
