"""The images of a chat request: fetched or decoded under the server's `MediaPolicy`, then run
through the model's prompt processor, each failure a 400 that says which image and why."""

from __future__ import annotations

import asyncio

from jaxserve.multimodal.media import MediaError, MediaPolicy, load_image_async
from jaxserve.multimodal.processor import ProcessedPrompt, PromptProcessor
from jaxserve.server.errors import BadRequest


async def process_images(
    urls: list[str],
    token_ids: list[int],
    processor: PromptProcessor | None,
    policy: MediaPolicy,
    *,
    model_name: str,
    max_images: int | None = None,
) -> ProcessedPrompt:
    """The prompt `token_ids` (one image token where each image goes) with the images of
    `urls` widened into it. `max_images`: the server's limit, where lower than the
    processor's.

    Raises:
        BadRequest: the model takes no images, there are too many, an image cannot be
            fetched, read or decoded, or the prompt has not one place for each image.
    """
    if processor is None:
        raise BadRequest(f"the model {model_name!r} takes no images", param="messages")
    limit = min(processor.max_images, max_images or processor.max_images)
    if len(urls) > limit:
        raise BadRequest(
            f"the request has {len(urls)} images; at most {limit} are allowed per prompt",
            param="messages",
        )
    results = await asyncio.gather(
        *(load_image_async(url, policy) for url in urls), return_exceptions=True
    )
    images = []
    for number, result in enumerate(results, start=1):
        if isinstance(result, MediaError):
            raise BadRequest(f"image {number}: {result}", param="messages")
        if isinstance(result, BaseException):
            raise result
        images.append(result)
    try:
        return await asyncio.to_thread(processor, token_ids, images)
    except ValueError as e:
        raise BadRequest(str(e), param="messages") from None
