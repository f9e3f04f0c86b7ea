"""LLaVA's image processing on the host: PIL images -> `ImageFeatures` at the tower's fixed
size, through transformers' PIL-backed processor (no torch, no torchvision, no jax)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
from transformers import CLIPImageProcessorPil, LlavaImageProcessorPil, SiglipImageProcessorPil

from jaxserve.errors import CheckpointError, ModelConfigError
from jaxserve.multimodal.inputs import ImageFeatures, image_hash

PREPROCESSOR_CONFIG = "preprocessor_config.json"
# preprocessor_config.json's image_processor_type (less "Fast" or "Pil") -> the PIL-backed
# class that processes as it does without torch.
PROCESSORS = {
    "CLIPImageProcessor": CLIPImageProcessorPil,
    "SiglipImageProcessor": SiglipImageProcessorPil,
    "LlavaImageProcessor": LlavaImageProcessorPil,
}
# Vision towers whose sequence starts with a class token (the others: only patches).
CLASS_TOKEN_TOWERS = ("clip_vision_model",)
# Tower model_type -> transformers' default (image_size, patch_size), for a config that
# leaves them out (as `jaxserve.model.vision.clip.TOWER_DEFAULTS`, which needs jax).
TOWER_SIDES = {"clip_vision_model": (224, 32), "siglip_vision_model": (224, 16)}
# transformers' LlavaConfig defaults: its image token and, without a vision_config, its tower.
LLAVA_IMAGE_TOKEN_ID = 32000
LLAVA_DEFAULT_TOWER = {"model_type": "clip_vision_model", "image_size": 336, "patch_size": 14}


class LlavaImageProcessor:
    """Makes each image of a prompt into its pixels at the tower's size and the number of
    placeholder tokens its embeddings fill: (S / patch)^2, plus the class token for a CLIP
    tower when `vision_feature_select_strategy` is "full"."""

    def __init__(self, model_dir: Path, hf_config: Mapping[str, Any]) -> None:
        path = Path(model_dir) / PREPROCESSOR_CONFIG
        try:
            kind = json.loads(path.read_text()).get("image_processor_type", "CLIPImageProcessor")
        except FileNotFoundError:
            raise CheckpointError(
                f"{path} not found: a LLaVA checkpoint needs its image processor's "
                f"{PREPROCESSOR_CONFIG} beside config.json"
            ) from None
        except (json.JSONDecodeError, AttributeError) as e:
            raise CheckpointError(f"{path} is not a JSON object: {e}") from None
        kind = kind.removesuffix("Fast").removesuffix("Pil")
        if kind not in PROCESSORS:
            raise ModelConfigError(
                f"{path} names image_processor_type {kind!r}; supported for LLaVA: "
                f"{', '.join(PROCESSORS)}"
            )
        self._processor = PROCESSORS[kind].from_pretrained(str(model_dir))
        vision = hf_config.get("vision_config") or LLAVA_DEFAULT_TOWER
        self._tower = vision.get("model_type", "clip_vision_model")
        if self._tower not in TOWER_SIDES:
            raise ModelConfigError(
                f"vision_config model_type {self._tower!r} is not supported for LLaVA; "
                f"supported: {', '.join(TOWER_SIDES)}"
            )
        image_size, patch_size = TOWER_SIDES[self._tower]
        self._image_size = _side(vision.get("image_size", image_size))
        self._patch_size = _side(vision.get("patch_size", patch_size))
        self._strategy = hf_config.get("vision_feature_select_strategy", "default")
        token = hf_config.get("image_token_index", hf_config.get("image_token_id"))
        self.image_token_id: int = LLAVA_IMAGE_TOKEN_ID if token is None else int(token)

    def num_tokens(self, image_size: int) -> int:
        """The embeddings (and prompt placeholders) of one image of side `image_size`."""
        tokens = (image_size // self._patch_size) ** 2
        tokens += self._tower in CLASS_TOKEN_TOWERS
        return tokens - (self._strategy == "default")

    def __call__(self, images: Sequence[PIL.Image.Image]) -> list[ImageFeatures]:
        """Each image as the checkpoint's HF processor makes it (other modes converted to
        RGB as it converts them), with its placeholder count and content hash.

        Returns:
            One `ImageFeatures` per image: `pixel_values` f32[3, S, S], `grid` ().
        """
        if not images:
            return []
        pixels = self._processor(list(images), return_tensors="np")["pixel_values"]
        pixels = np.asarray(pixels, dtype=np.float32)  # [B, 3, S, S]
        side = pixels.shape[-1]
        if pixels.shape[-2:] != (self._image_size, self._image_size):
            raise ModelConfigError(
                f"the image processor makes {pixels.shape[-2]}x{side} images; the vision "
                f"tower takes {self._image_size}x{self._image_size} "
                f"(check {PREPROCESSOR_CONFIG}'s size and crop_size)"
            )
        return [
            ImageFeatures(
                pixel_values=np.ascontiguousarray(pixels[i]),
                grid=(),
                num_tokens=self.num_tokens(side),
                content_hash=image_hash(img.mode, img.size, img.tobytes()),
            )
            for i, img in enumerate(images)
        ]


def _side(value: int | Sequence[int]) -> int:
    return int(value if isinstance(value, int) else value[0])
