"""Where a prompt's images come from in the offline API: vLLM's `multi_modal_data` on
`LLM.generate`, and image content parts in `LLM.chat` messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PIL import Image

from jaxserve.multimodal.media import MediaPolicy, load_image

# Image parts `LLM.chat` takes: OpenAI's `image_url`, and vLLM's `image_pil` / `image` with a
# PIL image in them.
IMAGE_PART_TYPES = ("image_url", "image_pil", "image")


def prompt_images(prompt: str | Mapping[str, Any]) -> list[Image.Image]:
    """The images of a `generate()` prompt: `{"multi_modal_data": {"image": img or [imgs]}}`."""
    if isinstance(prompt, str) or "multi_modal_data" not in prompt:
        return []
    data = prompt["multi_modal_data"]
    if not isinstance(data, Mapping):
        raise ValueError("multi_modal_data must be a dict such as {'image': [PIL images]}")
    unknown = sorted(set(data) - {"image"})
    if unknown:
        raise ValueError(f"multi_modal_data holds {unknown}; jaxserve takes 'image' only")
    images = data.get("image", [])
    images = [images] if isinstance(images, Image.Image) else list(images)
    for image in images:
        if not isinstance(image, Image.Image):
            raise ValueError(
                f"multi_modal_data['image'] must hold PIL images, got {type(image).__name__}"
            )
    return images


def chat_images(
    conversation: Sequence[Mapping[str, Any]], policy: MediaPolicy
) -> tuple[list[Mapping[str, Any]], list[Image.Image]]:
    """The conversation as the chat template reads it, each image part replaced by
    `{"type": "image"}` (where templates put the model's image placeholder), and the images in
    the order they appear."""
    images: list[Image.Image] = []
    out = []
    for message in conversation:
        content = message.get("content")
        if not isinstance(content, list) or not any(
            isinstance(p, Mapping) and p.get("type") in IMAGE_PART_TYPES for p in content
        ):
            out.append(message)
            continue
        parts = []
        for part in content:
            kind = part.get("type") if isinstance(part, Mapping) else None
            if kind == "text":
                parts.append({"type": "text", "text": part.get("text", "")})
            elif kind in IMAGE_PART_TYPES:
                images.append(_part_image(part, kind, policy))
                parts.append({"type": "image"})
            else:
                raise ValueError(
                    f"content part of type {kind!r} is not supported; supported: text, "
                    f"{', '.join(IMAGE_PART_TYPES)}"
                )
        out.append({**message, "content": parts})
    return out, images


def _part_image(part: Mapping[str, Any], kind: str, policy: MediaPolicy) -> Image.Image:
    value = part.get(kind)
    if kind == "image_url":
        url = value.get("url") if isinstance(value, Mapping) else value
        if not isinstance(url, str):
            raise ValueError("an image_url part needs {'image_url': {'url': '...'}}")
        return load_image(url, policy)
    if not isinstance(value, Image.Image):
        raise ValueError(f"an {kind!r} part must hold a PIL image under {kind!r}")
    return value
