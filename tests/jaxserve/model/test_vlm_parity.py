"""Vision-language models are the same functions as Hugging Face's: for tiny random
Qwen2.5-VL and LLaVA checkpoints, prompts with one image, two images of different sizes and
none give prompt logits within 1e-4 relative error in float32 and 24 greedy tokens identical
to `generate(do_sample=False)`; the images are prefilled in chunks that cut through them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers
from PIL import Image

from jaxserve import LLM, SamplingParams
from jaxserve.engine.packing import SequenceChunk
from jaxserve.engine.request import Request
from tests.tiny_vlms import FAMILIES, IMAGE_PLACES, IMAGE_TOKEN_ID

pytestmark = pytest.mark.cpu

NEW_TOKENS = 24
REL_TOL = 1e-4
HF_CLASSES = {
    "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration",
    "llava": "LlavaForConditionalGeneration",
}


def images() -> tuple[Image.Image, Image.Image]:
    rng = np.random.default_rng(0)
    wide = Image.fromarray(rng.integers(0, 256, (56, 84, 3), dtype=np.uint8))
    tall = Image.fromarray(rng.integers(0, 256, (112, 56, 3), dtype=np.uint8))
    return wide, tall


def prompts(family: str) -> dict[str, tuple[str, list[Image.Image]]]:
    place = IMAGE_PLACES[family]
    wide, tall = images()
    return {
        "one image": (f"<s>user: {place}describe the image", [wide]),
        "two images": (f"<s>user: {place}what is this {place}a cat on a mat", [wide, tall]),
        "no image": ("<s>user: a picture of a cat", []),
    }


def hf_inputs(family: str, path: str, ids: list[int], pictures: list[Image.Image]) -> dict:
    """What HF's model takes beside the ids: pixels (and, for Qwen, the grid and the token
    types its M-RoPE positions come from), from the checkpoint's image processor."""
    if not pictures:
        return {}
    if family == "qwen2_5_vl":
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
            Qwen2VLImageProcessorPil as Processor,
        )
    else:
        from transformers.models.clip.image_processing_pil_clip import (
            CLIPImageProcessorPil as Processor,
        )
    out = Processor.from_pretrained(path)(pictures, return_tensors="np")
    inputs = {"pixel_values": torch.tensor(np.asarray(out["pixel_values"]))}
    if family == "qwen2_5_vl":
        inputs["image_grid_thw"] = torch.tensor(np.asarray(out["image_grid_thw"]))
        inputs["mm_token_type_ids"] = (torch.tensor([ids]) == IMAGE_TOKEN_ID).int()
    return inputs


def prompt_logits(llm: LLM, processed) -> np.ndarray:
    """f32[T, V]: our logits after every prompt token, from one prefill with the images."""
    blocks = llm.engine.blocks
    ids = processed.token_ids
    probe = Request("probe", ids, SamplingParams(temperature=0), 1, frozenset())
    assert blocks.allocate_slots(probe, len(ids))
    try:
        rows = llm.vision([item.features for item in processed.mm_inputs])
        embeds = tuple(
            (item.placeholder.offset, r) for item, r in zip(processed.mm_inputs, rows, strict=True)
        )
        positions = processed.mrope_positions
        chunk = SequenceChunk(ids, 0, blocks.page_table(probe), (), positions, embeds)
        return llm.runner.logits([chunk], all_logits=True)
    finally:
        blocks.free(probe)


@pytest.fixture(scope="module", params=FAMILIES)
def family_llm(request, tiny_vlms):
    family = request.param
    path = tiny_vlms(family)
    # 16 tokens a step: the prompts are prefilled in chunks that cut through their images.
    llm = LLM(path, dtype="float32", max_model_len=256, max_num_batched_tokens=16)
    hf = getattr(transformers, HF_CLASSES[family]).from_pretrained(path, dtype=torch.float32)
    hf.generation_config.eos_token_id = None  # the full length, as ignore_eos does
    return family, path, llm, hf.eval()


def test_matches_hugging_face(family_llm):
    family, path, llm, hf = family_llm
    cases = prompts(family)
    processed = {
        name: llm.prompt_processor(llm.tokenizer.encode(text, add_special_tokens=False), pics)
        for name, (text, pics) in cases.items()
    }
    outputs = llm.generate(
        [{"prompt": text, "multi_modal_data": {"image": pics}} for text, pics in cases.values()],
        SamplingParams(temperature=0.0, max_tokens=NEW_TOKENS, ignore_eos=True),
        use_tqdm=False,
    )
    for (name, (_, pics)), output in zip(cases.items(), outputs, strict=True):
        ids = processed[name].token_ids
        assert output.prompt_token_ids == ids
        assert ids.count(IMAGE_TOKEN_ID) == sum(
            i.features.num_tokens for i in processed[name].mm_inputs
        )
        inputs = hf_inputs(family, path, ids, pics)
        with torch.no_grad():
            ref = hf(input_ids=torch.tensor([ids]), **inputs).logits[0].numpy()
            greedy = hf.generate(
                input_ids=torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                do_sample=False,
                max_new_tokens=NEW_TOKENS,
                pad_token_id=0,
                **inputs,
            )[0, len(ids) :].tolist()
        ours = prompt_logits(llm, processed[name])
        err = float(np.linalg.norm(ours - ref) / np.linalg.norm(ref))
        assert err < REL_TOL, f"{family}, {name}: relative error {err:.2e}"
        assert output.outputs[0].token_ids == greedy, f"{family}, {name}"
    blocks = llm.engine.blocks
    assert blocks.num_free_blocks == blocks.capacity, "pages leaked"


def test_the_image_changes_the_reply(family_llm):
    """The same text with another image continues otherwise: the embeddings reach the
    model (a test that could pass with the images dropped would prove nothing above)."""
    family, _, llm, _ = family_llm
    text, (wide,) = prompts(family)["one image"]
    _, tall = images()
    greedy = SamplingParams(temperature=0.0, max_tokens=8, ignore_eos=True)
    a, b = llm.generate(
        [{"prompt": text, "multi_modal_data": {"image": pic}} for pic in (wide, tall)],
        greedy,
        use_tqdm=False,
    )
    assert a.outputs[0].token_ids != b.outputs[0].token_ids
