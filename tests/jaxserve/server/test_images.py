"""Images through `/v1/chat/completions` with the openai SDK, on a tiny Qwen2.5-VL: base64
data URLs, several images per message and per request, the encoder cache and prefix caching
counted in /metrics, and a 400 that says why for every image the server will not take."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import openai
import pytest
from PIL import Image

from jaxserve import LLM, SamplingParams
from tests.jaxserve.server.conftest import MODEL_NAME, LiveServer, start_server

pytestmark = pytest.mark.cpu

MAX_IMAGES = 3
PROMPT = "describe the image"


def picture(seed: int, size: tuple[int, int] = (84, 56)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def data_url(image: Image.Image, fmt: str = "PNG") -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return f"data:image/{fmt.lower()};base64,{base64.b64encode(buffer.getvalue()).decode()}"


def image_part(url: str) -> dict:
    return {"type": "image_url", "image_url": {"url": url}}


def user(*parts: dict | str) -> list[dict]:
    content = [{"type": "text", "text": p} if isinstance(p, str) else p for p in parts]
    return [{"role": "user", "content": content}]


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    picture(7).save(folder / "cat.png")
    return folder


@pytest.fixture(scope="module")
def vlm(vlm_llms) -> LLM:
    return vlm_llms("qwen2_5_vl")


@pytest.fixture(scope="module")
def live(vlm, media_dir) -> Iterator[LiveServer]:
    server = start_server(
        vlm,
        max_images_per_prompt=MAX_IMAGES,
        allowed_local_media_path=[str(media_dir)],
        media_fetch_timeout=2.0,
    )
    yield server
    server.stop()


def metric(live: LiveServer, name: str) -> float:
    with live.http() as http:
        text = http.get("/metrics").text
    match = re.search(rf"^jaxserve:{name}{{[^}}]*}} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} is not in /metrics"
    return float(match.group(1))


def chat(live: LiveServer, messages: list[dict], **kwargs) -> tuple[str, list[int] | None]:
    reply = live.client().chat.completions.create(
        model=MODEL_NAME, messages=messages, max_tokens=12, temperature=0, **kwargs
    )
    return reply.choices[0].message.content, reply.usage


def offline(vlm: LLM, messages: list[dict], policy_dir: Path | None = None) -> str:
    """The same conversation through `LLM.chat`, engine-side, for the expected reply."""
    (output,) = vlm.chat(messages, SamplingParams(temperature=0, max_tokens=12), use_tqdm=False)
    return output.outputs[0].text


def test_a_base64_image_streamed_and_not_gives_the_offline_reply(live, vlm):
    messages = user(image_part(data_url(picture(1))), PROMPT)
    text, usage = chat(live, messages)
    stream = live.client().chat.completions.create(
        model=MODEL_NAME, messages=messages, max_tokens=12, temperature=0, stream=True
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    live.wait_idle()
    assert text == streamed == offline(vlm, messages)
    # 4 x 6 patches merge into 6 placeholders, beside the template's text.
    assert usage.prompt_tokens > 6


def test_several_images_per_message_and_per_request(live, vlm):
    wide, tall, small = picture(2), picture(3, (56, 112)), picture(4, (56, 56))
    messages = [
        *user(image_part(data_url(wide)), "and", image_part(data_url(tall, "JPEG"))),
        {"role": "assistant", "content": "two pictures"},
        *user(image_part(data_url(small, "WEBP")), PROMPT),
    ]
    text, _ = chat(live, messages)
    live.wait_idle()
    assert text == offline(vlm, messages)
    # Another order of the same images is another prompt.
    swapped = [*user(image_part(data_url(tall)), "and", image_part(data_url(wide))), *messages[1:]]
    assert chat(live, swapped)[0] != text


def test_a_repeated_image_runs_no_encoder_work(live, vlm):
    image = data_url(picture(5))
    first, _ = chat(live, user(image_part(image), PROMPT))
    encoded = metric(live, "encoder_images_total")
    # The same request again: its pages, image included, come from the prefix cache.
    assert chat(live, user(image_part(image), PROMPT))[0] == first
    assert metric(live, "encoder_images_total") == encoded
    # Other text first: no page to reuse, but the image's embeddings are in the encoder cache.
    hits = metric(live, "encoder_cache_hits_total")
    other = user("what is this", image_part(image), PROMPT)
    reply, _ = chat(live, other)
    live.wait_idle()
    assert metric(live, "encoder_images_total") == encoded
    assert metric(live, "encoder_cache_hits_total") == hits + 1
    assert reply == offline(vlm, other)


def test_the_same_text_with_another_image_shares_no_cache_past_the_image(live, vlm):
    page = vlm.engine.blocks.block_size
    long_text = "a picture of a cat on a mat " * 6  # several pages before the image
    for seed in (8, 9):  # one run to fill the cache, then the other image
        before_queries = metric(live, "prefix_cache_queries_total")
        before_hits = metric(live, "prefix_cache_hits_total")
        chat(live, user(long_text, image_part(data_url(picture(seed))), PROMPT))
        live.wait_idle()
    hits = metric(live, "prefix_cache_hits_total") - before_hits
    queries = metric(live, "prefix_cache_queries_total") - before_queries
    # Only whole pages before the image can hit: fewer than the text's tokens before it.
    text_ids = vlm.tokenizer.encode("<s>user: " + long_text, add_special_tokens=False)
    assert 0 < hits <= len(text_ids) // page * page < queries


def test_an_image_from_an_allowed_folder(live, vlm, media_dir):
    url = (media_dir / "cat.png").as_uri()
    text, _ = chat(live, user(image_part(url), PROMPT))
    live.wait_idle()
    assert text == offline(vlm, user(image_part(data_url(picture(7))), PROMPT))


def bad_request(live: LiveServer, messages: list[dict]) -> str:
    with pytest.raises(openai.BadRequestError) as caught:
        chat(live, messages)
    live.wait_idle()
    return caught.value.body["message"]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:1/cat.png", "could not fetch"),
        ("data:image/png;base64," + base64.b64encode(b"not a png at all").decode(), "decode"),
        ("data:image/png;base64,%%%", "base64"),
        ("ftp://example.com/cat.png", "ftp"),
    ],
    ids=["unreachable-http", "undecodable", "bad-base64", "unknown-scheme"],
)
def test_an_image_that_cannot_be_read_is_a_400_that_says_why(live, url, says):
    message = bad_request(live, user(image_part(url), PROMPT))
    assert message.startswith("image 1: ")
    assert says in message


def test_a_file_outside_the_allowed_folders_is_refused(live, media_dir, tmp_path):
    outside = tmp_path / "secret.png"
    picture(1).save(outside)
    for url in (outside.as_uri(), (media_dir / ".." / tmp_path.name / "secret.png").as_uri()):
        message = bad_request(live, user(image_part(url), PROMPT))
        assert "not allowed" in message or "outside" in message, message
        assert str(tmp_path) not in message.replace(url, "")


def test_too_many_images_are_refused_before_any_is_read(live):
    parts = [image_part("http://127.0.0.1:1/never-fetched.png")] * (MAX_IMAGES + 1)
    message = bad_request(live, user(*parts, PROMPT))
    assert f"at most {MAX_IMAGES}" in message


def test_detail_other_than_auto_is_refused(live):
    part = {"type": "image_url", "image_url": {"url": data_url(picture(1)), "detail": "low"}}
    with pytest.raises(openai.BadRequestError) as caught:
        chat(live, user(part, PROMPT))
    assert "detail" in str(caught.value.body)


def test_a_text_model_refuses_images(server_llm):
    live = start_server(server_llm)
    try:
        message = bad_request(live, user(image_part(data_url(picture(1))), PROMPT))
    finally:
        live.stop()
    assert "takes no images" in message
