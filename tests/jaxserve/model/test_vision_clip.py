"""LLaVA's image side (`jaxserve.model.vision.clip`, its loader and its host processor) is
the same function as Hugging Face's: for a tiny random `LlavaForConditionalGeneration` with a
CLIP tower (features from layer -2, the class token dropped or kept; from a list of layers)
and one with a SigLIP tower, the embeddings of images of different sizes and modes match
`get_image_features` within 1e-4 relative error, from the checkpoint as saved."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import PIL.Image
import pytest
import torch
from safetensors.numpy import load_file
from transformers import (
    CLIPImageProcessorPil,
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    SiglipImageProcessorPil,
    SiglipVisionConfig,
)

from jaxserve.errors import CheckpointError, ModelConfigError
from jaxserve.loader.checkpoint import canonical_name
from jaxserve.loader.vision_llava import load_vision_params
from jaxserve.model.vision.clip import LlavaVisionConfig, encode_image
from jaxserve.multimodal.inputs import image_hash
from jaxserve.multimodal.llava import LlavaImageProcessor

pytestmark = pytest.mark.cpu

REL_TOL = 1e-4
IMAGE_SIZE, PATCH = 30, 6  # 25 patches
TEXT = LlamaConfig(
    vocab_size=300,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
)
TOWER = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 3,  # feature layer -2 leaves the last one unrun
    "num_attention_heads": 2,
    "image_size": IMAGE_SIZE,
    "patch_size": PATCH,
}


def save_llava(path, *, siglip: bool = False, **llava) -> LlavaForConditionalGeneration:
    """A tiny random float32 LLaVA and its image processor, saved to `path`."""
    torch.manual_seed(0)
    vision = SiglipVisionConfig(**TOWER) if siglip else CLIPVisionConfig(**TOWER)
    config = LlavaConfig(
        text_config=TEXT.to_dict(), vision_config=vision.to_dict(), image_token_index=299, **llava
    )
    model = LlavaForConditionalGeneration(config).eval()
    model.save_pretrained(path)
    size = {"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    if siglip:
        SiglipImageProcessorPil(size=size).save_pretrained(path)
    else:
        CLIPImageProcessorPil(size={"shortest_edge": IMAGE_SIZE}, crop_size=size).save_pretrained(
            path
        )
    return model


@pytest.fixture(scope="module")
def clip_llava(tmp_path_factory):
    path = tmp_path_factory.mktemp("llava-clip")
    return path, save_llava(path)


def random_images(modes=("RGB", "RGB")) -> list[PIL.Image.Image]:
    """Seeded images of different sizes (40x64, 90x30, ...), in `modes`."""
    rng = np.random.default_rng(0)
    sizes = [(40, 64), (90, 30), (33, 47), (64, 64)]
    images = []
    for (h, w), mode in zip(sizes, modes, strict=False):
        image = PIL.Image.fromarray(rng.integers(0, 256, (h, w, 4), dtype=np.uint8), "RGBA")
        images.append(image if mode == "RGBA" else image.convert(mode))
    return images


def hf_config(path) -> dict:
    return json.loads((path / "config.json").read_text())


def read_tensors(path):
    """The saved checkpoint's `tensor`, by canonical names, recording the names read."""
    tensors = {canonical_name(k): v for k, v in load_file(path / "model.safetensors").items()}
    read = []

    def tensor(name: str) -> np.ndarray:
        read.append(name)
        return tensors[name]

    return tensor, read


def relative_error(ours, ref) -> float:
    return float(np.max(np.abs(ours - ref)) / np.max(np.abs(ref)))


def assert_matches_hf(path, model, hf: dict, **overrides) -> float:
    """Embeds two images of different sizes with ours and HF's; returns the worst error."""
    cfg = LlavaVisionConfig.from_hf({**hf, **overrides})
    tensor, _ = read_tensors(path)
    params = jax.device_put(load_vision_params(tensor, cfg, "float32"))
    encode = jax.jit(encode_image, static_argnames=("cfg", "grid"))
    features = LlavaImageProcessor(path, {**hf, **overrides})(random_images())
    worst = 0.0
    for image in features:
        ours = np.asarray(encode(params, image.pixel_values, cfg=cfg, grid=image.grid))
        with torch.no_grad():
            ref = model.model.get_image_features(
                pixel_values=torch.from_numpy(image.pixel_values[None]),
                vision_feature_layer=overrides.get("vision_feature_layer"),
                vision_feature_select_strategy=overrides.get("vision_feature_select_strategy"),
            ).pooler_output[0]
        ref = ref.numpy()
        assert ours.shape == ref.shape == (cfg.num_tokens, TEXT.hidden_size)
        assert image.num_tokens == cfg.num_tokens
        worst = max(worst, relative_error(ours, ref))
    assert worst < REL_TOL, worst
    return worst


@pytest.mark.parametrize("strategy, num_tokens", [("default", 25), ("full", 26)])
def test_clip_tower_matches_hugging_face(clip_llava, strategy, num_tokens):
    path, model = clip_llava
    hf = hf_config(path)
    overrides = {"vision_feature_layer": -2, "vision_feature_select_strategy": strategy}
    assert LlavaVisionConfig.from_hf({**hf, **overrides}).num_tokens == num_tokens
    assert_matches_hf(path, model, hf, **overrides)


def test_feature_layer_list_matches_hugging_face(tmp_path):
    # Hidden state 0 (the embeddings) beside layer 2's output: layer 3 is never run.
    model = save_llava(tmp_path, vision_feature_layer=[0, -2])
    hf = hf_config(tmp_path)
    cfg = LlavaVisionConfig.from_hf(hf)
    assert (cfg.feature_layers, cfg.layers_needed) == ((0, 2), 2)
    assert_matches_hf(tmp_path, model, hf, vision_feature_layer=[0, -2])


def test_siglip_tower_matches_hugging_face(tmp_path):
    model = save_llava(tmp_path, siglip=True, vision_feature_select_strategy="full")
    hf = hf_config(tmp_path)
    cfg = LlavaVisionConfig.from_hf(hf)
    assert (cfg.class_token, cfg.num_tokens) == (False, 25)
    assert_matches_hf(tmp_path, model, hf, vision_feature_layer=-1)


def test_loader_reads_only_the_layers_the_feature_needs(clip_llava):
    path, model = clip_llava
    cfg = LlavaVisionConfig.from_hf(hf_config(path))  # layer -2 of 3
    tensor, read = read_tensors(path)
    params = load_vision_params(tensor, cfg, "bfloat16")
    assert params["layers"]["wq"].shape == (2, 32, 2, 16)
    assert params["layers"]["wo"].shape == (2, 2, 16, 32)
    assert params["projector"]["w1"].shape == (32, 64)
    assert all(".layers.2." not in name for name in read)
    assert not any("post_layernorm" in name for name in read)
    assert {str(a.dtype) for a in jax.tree.leaves(params)} == {"bfloat16"}
    # A bfloat16 tower runs in bfloat16, near HF's float32 one.
    pixels = LlavaImageProcessor(path, hf_config(path))(random_images())[0].pixel_values
    ours = jax.jit(encode_image, static_argnames=("cfg", "grid"))(params, pixels, cfg=cfg)
    with torch.no_grad():
        ref = model.model.get_image_features(pixel_values=torch.from_numpy(pixels[None]))
    assert ours.dtype == jax.numpy.bfloat16
    assert relative_error(np.asarray(ours, np.float32), ref.pooler_output[0].numpy()) < 3e-2


def test_processor_matches_hugging_face_for_every_mode(clip_llava):
    path, _ = clip_llava
    processor = LlavaImageProcessor(path, hf_config(path))
    reference = CLIPImageProcessorPil.from_pretrained(path)
    images = random_images(("RGBA", "L", "P", "RGB"))
    features = processor(images)
    assert processor.image_token_id == 299
    for image, feature in zip(images, features, strict=True):
        expected = reference(image, return_tensors="np")["pixel_values"][0]
        assert feature.pixel_values.dtype == np.float32
        assert feature.pixel_values.shape == (3, IMAGE_SIZE, IMAGE_SIZE)
        np.testing.assert_array_equal(feature.pixel_values, expected)
        assert (feature.grid, feature.num_tokens) == ((), 25)
        assert feature.content_hash == image_hash(image.mode, image.size, image.tobytes())
    assert len({f.content_hash for f in features}) == len(images)


@pytest.mark.parametrize(
    "hf",
    [
        {},  # LLaVA 1.5's default tower
        {"vision_config": {"model_type": "clip_vision_model"}},
        {"vision_config": {"model_type": "siglip_vision_model"}},
        {"vision_config": {"model_type": "siglip_vision_model"}, "vision_feature_layer": -1},
        {
            "vision_config": {**TOWER, "model_type": "clip_vision_model"},
            "vision_feature_select_strategy": "full",
        },
    ],
)
def test_processor_counts_the_tokens_the_tower_makes(clip_llava, hf):
    cfg = LlavaVisionConfig.from_hf(hf)
    processor = LlavaImageProcessor(clip_llava[0], hf)
    assert processor.num_tokens(cfg.image_size) == cfg.num_tokens


def test_processor_runs_without_torch(clip_llava):
    path, _ = clip_llava
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None  # any import of torch now fails
        import numpy as np, PIL.Image
        from jaxserve.multimodal.llava import LlavaImageProcessor
        processor = LlavaImageProcessor({str(path)!r}, {hf_config(path)!r})
        image = PIL.Image.fromarray(np.zeros((40, 64, 3), np.uint8))
        print(processor([image])[0].pixel_values.shape)
        assert sys.modules["torch"] is None
    """)
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=root
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("(3, 30, 30)")


def test_processor_needs_its_preprocessor_config(tmp_path):
    with pytest.raises(CheckpointError, match=r"preprocessor_config\.json"):
        LlavaImageProcessor(tmp_path, {})


def test_config_defaults_are_transformers_defaults():
    cfg = LlavaVisionConfig.from_hf({"vision_config": {"model_type": "clip_vision_model"}})
    ref = CLIPVisionConfig()
    assert (cfg.hidden_size, cfg.num_layers, cfg.patch_size) == (768, 12, 32)
    assert (cfg.hidden_act, cfg.layer_norm_eps) == (ref.hidden_act, ref.layer_norm_eps)
    assert (cfg.feature_layers, cfg.select_strategy, cfg.projector_act) == (
        (11,),
        "default",
        "gelu",
    )
    llava = LlavaVisionConfig.from_hf({})  # no vision_config: LLaVA 1.5's tower
    ref = LlavaConfig().vision_config
    assert (llava.image_size, llava.patch_size, llava.num_layers) == (
        ref.image_size,
        ref.patch_size,
        ref.num_hidden_layers,
    )
    siglip = LlavaVisionConfig.from_hf({"vision_config": {"model_type": "siglip_vision_model"}})
    assert (siglip.hidden_act, siglip.patch_size) == ("gelu_pytorch_tanh", 16)


@pytest.mark.parametrize(
    "hf, message",
    [
        ({"vision_config": {"model_type": "pixtral"}}, "model_type 'pixtral'"),
        ({"vision_feature_layer": 25}, "vision_feature_layer"),
        ({"vision_feature_layer": -26}, "vision_feature_layer"),
        ({"vision_feature_layer": "last"}, "vision_feature_layer"),
        ({"vision_feature_select_strategy": "cls"}, "'cls'"),
        ({"projector_hidden_act": "mish"}, "projector_hidden_act 'mish'"),
        ({"vision_config": {"hidden_act": "tanh"}}, "hidden_act 'tanh'"),
        ({"vision_config": {"image_size": 30, "patch_size": 7}}, "multiple of patch_size"),
    ],
)
def test_unsupported_configs_are_refused(hf, message):
    with pytest.raises(ModelConfigError, match=message):
        LlavaVisionConfig.from_hf(hf)
