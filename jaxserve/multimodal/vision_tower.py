"""`VisionTower`: a vision-language checkpoint's image side, loaded and jitted, and the prompt
processor that goes with it; one entry per supported family in `FAMILIES`.

The encoder runs one image per call, jitted with the image's grid static: every image of a
fixed-size tower (LLaVA) shares one program; Qwen2.5-VL compiles one per distinct patch grid
(the image processor rounds sizes to whole merged patches, so photos of one camera share one).
Embeddings come back to the host as float32 for the engine's encoder cache.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from jaxserve.errors import ModelConfigError
from jaxserve.loader import vision_llava, vision_qwen2_5_vl
from jaxserve.loader.checkpoint import HFCheckpoint
from jaxserve.model.vision import clip, qwen2_5_vl
from jaxserve.multimodal import llava as llava_host
from jaxserve.multimodal import qwen2_5_vl as qwen_host
from jaxserve.multimodal.inputs import ImageFeatures
from jaxserve.multimodal.processor import ImageProcessor, PromptProcessor
from jaxserve.sharding import replicated

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Family:
    """How one family's image side is configured, loaded, run and fed."""

    config: Callable[[Mapping[str, Any]], Any]  # top-level config.json -> its vision config
    load: Callable[..., dict]  # (tensor, vision config, dtype) -> params
    encode: Callable[..., jax.Array]  # (params, pixel_values, *, cfg, grid) -> [N, E']
    processor: Callable[..., ImageProcessor]  # (model dir, config.json) -> image processor
    mrope: bool = False


FAMILIES: dict[str, Family] = {
    "qwen2_5_vl": Family(
        qwen2_5_vl.Qwen25VisionConfig.from_hf,
        vision_qwen2_5_vl.load_vision_params,
        qwen2_5_vl.encode_image,
        qwen_host.Qwen25VLImageProcessor,
        mrope=True,
    ),
    "llava": Family(
        clip.LlavaVisionConfig.from_hf,
        vision_llava.load_vision_params,
        clip.encode_image,
        llava_host.LlavaImageProcessor,
    ),
}


class VisionTower:
    """The image encoder of a checkpoint: `tower(features)` -> embeddings f32[N, E'] each."""

    def __init__(self, ckpt: HFCheckpoint, dtype: jnp.dtype, mesh: Mesh):
        family_name = ckpt.config.multimodal
        if family_name not in FAMILIES:
            raise ModelConfigError(f"no image side for {ckpt.config.architecture}")
        family = FAMILIES[family_name]
        self.family = family
        self.config = family.config(ckpt.hf_config)
        params = family.load(ckpt.tensor, self.config, np.dtype(dtype))
        self.params = jax.device_put(params, replicated(mesh))
        self._encode = jax.jit(
            functools.partial(family.encode, cfg=self.config),
            static_argnames="grid",
            out_shardings=replicated(mesh),
        )
        self._sharding = replicated(mesh)

    def __call__(self, features: Sequence[ImageFeatures]) -> list[np.ndarray]:
        out = []
        for image in features:
            pixels = jax.device_put(image.pixel_values, self._sharding)
            rows = self._encode(self.params, pixels, grid=image.grid)
            out.append(np.asarray(rows, np.float32))
        return out

    def prompt_processor(self, ckpt: HFCheckpoint, *, max_images: int) -> PromptProcessor:
        images = self.family.processor(ckpt.path, ckpt.hf_config)
        mrope = None
        if self.family.mrope:
            merge = images.spatial_merge_size  # type: ignore[attr-defined]
            mrope = functools.partial(qwen_host.mrope_positions, spatial_merge_size=merge)
        return PromptProcessor(images, mrope=mrope, max_images=max_images)
