"""Vision-language checkpoints in every tensor layout transformers has written load as one
model, and a llava-1.5 style config whose text_config leaves the sizes to the defaults."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image
from safetensors.numpy import load_file, save_file

from jaxserve import LLM, SamplingParams
from jaxserve.model.config import ModelConfig
from tests.tiny_vlms import IMAGE_PLACES

pytestmark = pytest.mark.cpu

# Stored-name prefix -> the same tensor under another transformers release's layout.
LAYOUTS = {
    # transformers 5 in memory (and 4.52 on): everything under model., lm_head at the top
    "model.": {
        "language_model.model.": "model.language_model.",
        "language_model.lm_head.": "lm_head.",
        "vision_tower.": "model.vision_tower.",
        "multi_modal_projector.": "model.multi_modal_projector.",
        "model.": "model.language_model.",
        "visual.": "model.visual.",
    },
    # LLaVA before 4.52: the CLIP tower wrapped as CLIPVisionModel (vision_model.)
    "vision_model": {"vision_tower.": "vision_tower.vision_model."},
}


def relaid(path, out, layout: dict[str, str]) -> str:
    shutil.copytree(path, out)
    tensors = load_file(f"{path}/model.safetensors")
    renamed = {}
    for name, value in tensors.items():
        prefix = next((p for p in layout if name.startswith(p)), None)
        renamed[name if prefix is None else layout[prefix] + name[len(prefix) :]] = value
    assert renamed.keys() != tensors.keys()
    save_file(renamed, f"{out}/model.safetensors", metadata={"format": "pt"})
    return str(out)


def greedy(path: str, family: str) -> list[int]:
    llm = LLM(path, dtype="float32", warmup=False, max_model_len=128, num_pages=16)
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (56, 84, 3), np.uint8))
    prompt = f"<s>user: {IMAGE_PLACES[family]}describe the image"
    (out,) = llm.generate(
        {"prompt": prompt, "multi_modal_data": {"image": image}},
        SamplingParams(temperature=0, max_tokens=6),
        use_tqdm=False,
    )
    return out.outputs[0].token_ids


@pytest.mark.parametrize(
    ("family", "layout"),
    [("llava", "model."), ("llava", "vision_model"), ("qwen2_5_vl", "model.")],
)
def test_every_tensor_layout_loads_the_same_model(tiny_vlms, tmp_path, family, layout):
    path = tiny_vlms(family)
    moved = relaid(path, tmp_path / "relaid", LAYOUTS[layout])
    assert greedy(moved, family) == greedy(path, family)


def test_a_text_config_that_leaves_sizes_to_the_defaults():
    """llava-1.5-7b's config.json: its text_config names little more than llama."""
    hf = {
        "architectures": ["LlavaForConditionalGeneration"],
        "image_token_index": 32000,
        "text_config": {"model_type": "llama", "vocab_size": 32064, "rms_norm_eps": 1e-05,
                        "max_position_embeddings": 4096},
        "vision_config": {"model_type": "clip_vision_model", "hidden_size": 1024,
                          "image_size": 336, "patch_size": 14, "num_hidden_layers": 24,
                          "num_attention_heads": 16, "intermediate_size": 4096},
        "vision_feature_layer": -2,
    }  # fmt: skip
    cfg = ModelConfig.from_hf(hf)
    sizes = (cfg.hidden_size, cfg.num_layers, cfg.num_heads, cfg.head_dim, cfg.intermediate_size)
    assert sizes == (4096, 32, 32, 128, 11008)
    assert (cfg.vocab_size, cfg.max_position_embeddings, cfg.image_token_id) == (32064, 4096, 32000)
    assert cfg.multimodal == "llava" and cfg.architecture == "LlavaForConditionalGeneration"
