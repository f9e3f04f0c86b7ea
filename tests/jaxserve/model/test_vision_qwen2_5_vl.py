"""Qwen2.5-VL's image side is Hugging Face's: the processor's patches, the vision tower's
embeddings (windowed and full-attention blocks, images of different sizes) within 1e-4
relative error, and the prompt's M-RoPE positions around several images."""

from __future__ import annotations

import functools
import hashlib
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.numpy import load_file
from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from jaxserve.errors import CheckpointError, ModelConfigError
from jaxserve.loader.checkpoint import canonical_name
from jaxserve.loader.vision_qwen2_5_vl import load_vision_params
from jaxserve.model.vision.qwen2_5_vl import Qwen25VisionConfig, encode_image, window_groups
from jaxserve.multimodal.inputs import MultiModalInput, PlaceholderRange
from jaxserve.multimodal.qwen2_5_vl import Qwen25VLImageProcessor, mrope_positions

IMAGE_TOKEN = 250
VISION = dict(
    depth=2,
    hidden_size=32,
    intermediate_size=48,
    num_heads=2,
    out_hidden_size=64,
    patch_size=14,
    spatial_merge_size=2,
    temporal_patch_size=2,
    window_size=56,  # 2x2 merged tokens, 4x4 patches
    fullatt_block_indexes=[1],
    # Sharper attention than the default 0.02 gives, so that a patch attending to the wrong
    # patches or at the wrong rotation moves the embeddings well past the tolerance.
    initializer_range=0.2,
)
# (width, height): a 4x6-patch grid (two windows, one cut short) and a 12x8 one (six windows).
IMAGE_SIZES = [(84, 56), (112, 168)]
REL_TOL = 1e-4


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> tuple[Path, Qwen2_5_VLForConditionalGeneration]:
    """A tiny random float32 Qwen2.5-VL and its image processor, saved as transformers does."""
    config = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=256,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
            bos_token_id=1,
            eos_token_id=2,
            rope_parameters={
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": [4, 6, 6],
            },
        ),
        vision_config=VISION,
        image_token_id=IMAGE_TOKEN,
        video_token_id=251,
        vision_start_token_id=252,
        vision_end_token_id=253,
    )
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(config).float().eval()
    path = tmp_path_factory.mktemp("qwen2_5_vl")
    model.save_pretrained(path)
    Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=28 * 28 * 32).save_pretrained(path)
    return path, model


def random_images() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in IMAGE_SIZES
    ]


def hf_config(path: Path) -> dict:
    return Qwen2_5_VLConfig.from_pretrained(path).to_dict()


def test_config_reads_vision_config_and_rejects_what_it_cannot_serve(checkpoint):
    hf = hf_config(checkpoint[0])
    cfg = Qwen25VisionConfig.from_hf(hf)
    assert (cfg.depth, cfg.head_dim, cfg.window_merged, cfg.fullatt_block_indexes) == (
        2,
        16,
        2,
        (1,),
    )
    assert cfg.patch_dim == 3 * 2 * 14 * 14
    cases = {
        "hidden_act": dict(hidden_act="gelu"),
        "fullatt_block_indexes": dict(fullatt_block_indexes=[2]),
        "window_size": dict(window_size=14),
        "num_heads": dict(num_heads=3),
        "rope type": dict(rope_parameters={"rope_type": "default"}),
    }
    for message, change in cases.items():
        with pytest.raises(ModelConfigError, match=message):
            Qwen25VisionConfig.from_hf({**hf, "vision_config": {**hf["vision_config"], **change}})
    with pytest.raises(ModelConfigError, match="qwen2_5_vl"):
        Qwen25VisionConfig.from_hf({**hf, "model_type": "llava"})


def test_processor_matches_hugging_face(checkpoint):
    path, _ = checkpoint
    images = random_images()
    ours = Qwen25VLImageProcessor(path, hf_config(path))(images)
    theirs = Qwen2VLImageProcessorPil.from_pretrained(path)(images, return_tensors="np")
    assert [f.grid for f in ours] == [(1, 4, 6), (1, 12, 8)]
    assert [f.grid for f in ours] == [tuple(g) for g in theirs["image_grid_thw"].tolist()]
    assert [f.num_tokens for f in ours] == [6, 24]
    pixels = np.concatenate([f.pixel_values for f in ours])
    assert pixels.dtype == np.float32
    np.testing.assert_array_equal(pixels, theirs["pixel_values"])
    again = Qwen25VLImageProcessor(path, hf_config(path))([images[1], images[1].copy()])
    assert again[0].content_hash == again[1].content_hash == ours[1].content_hash
    assert ours[0].content_hash != ours[1].content_hash


def test_processor_rejects_a_checkpoint_without_processor_config(tmp_path, checkpoint):
    with pytest.raises(CheckpointError, match=re.escape("preprocessor_config.json")):
        Qwen25VLImageProcessor(tmp_path, hf_config(checkpoint[0]))
    bad = hf_config(checkpoint[0])
    bad["vision_config"]["spatial_merge_size"] = 4
    with pytest.raises(ModelConfigError, match="merge_size"):
        Qwen25VLImageProcessor(checkpoint[0], bad)


def test_processor_runs_without_torch(checkpoint):
    path, _ = checkpoint
    script = textwrap.dedent(f"""
        import hashlib, sys
        sys.modules["torch"] = None  # any `import torch` now fails
        import numpy as np
        from PIL import Image
        from jaxserve.multimodal.qwen2_5_vl import Qwen25VLImageProcessor
        rng = np.random.default_rng(0)
        images = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
                  for w, h in {IMAGE_SIZES!r}]
        processor = Qwen25VLImageProcessor({str(path)!r}, {{"model_type": "qwen2_5_vl"}})
        for f in processor(images):
            print(f.grid, hashlib.sha256(f.pixel_values.tobytes()).hexdigest())
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    ours = Qwen25VLImageProcessor(path, hf_config(path))(random_images())
    expected = [f"{f.grid} {hashlib.sha256(f.pixel_values.tobytes()).hexdigest()}" for f in ours]
    assert run.stdout.split("\n")[:-1] == expected


def load_params(path: Path, cfg: Qwen25VisionConfig, dtype) -> dict:
    stored = load_file(path / "model.safetensors")
    tensors = {canonical_name(name): array for name, array in stored.items()}
    return jax.tree.map(jnp.asarray, load_vision_params(tensors.__getitem__, cfg, dtype))


def hf_embeddings(model, images: list[Image.Image], path: Path) -> list[np.ndarray]:
    batch = Qwen2VLImageProcessorPil.from_pretrained(path)(images, return_tensors="pt")
    with torch.no_grad():
        out = model.model.get_image_features(batch["pixel_values"], batch["image_grid_thw"])
    return [e.numpy() for e in out.pooler_output]


@pytest.mark.cpu
def test_encode_image_matches_hugging_face(checkpoint):
    path, model = checkpoint
    cfg = Qwen25VisionConfig.from_hf(hf_config(path))
    params = load_params(path, cfg, np.float32)
    images = random_images()
    features = Qwen25VLImageProcessor(path, hf_config(path))(images)
    # The windowed block is exercised: several windows, one of them cut short.
    windows = [window_groups(cfg, f.grid) for f in features]
    assert [w.valid.shape[0] for w in windows] == [2, 6]
    assert not windows[0].valid.all() and windows[1].valid.all()

    for f, ref in zip(features, hf_embeddings(model, images, path), strict=True):
        encode = jax.jit(functools.partial(encode_image, cfg=cfg, grid=f.grid))
        ours = np.asarray(encode(params, jnp.asarray(f.pixel_values)))
        assert ours.shape == ref.shape == (f.num_tokens, 64) and ours.dtype == np.float32
        assert np.abs(ours - ref).max() / np.abs(ref).max() < REL_TOL


@pytest.mark.cpu
def test_encode_image_in_bfloat16_stays_close(checkpoint):
    path, model = checkpoint
    cfg = Qwen25VisionConfig.from_hf(hf_config(path))
    params = load_params(path, cfg, jnp.bfloat16)
    images = random_images()[:1]
    f = Qwen25VLImageProcessor(path, hf_config(path))(images)[0]
    ours = encode_image(params, jnp.asarray(f.pixel_values), cfg=cfg, grid=f.grid)
    ref = hf_embeddings(model, images, path)[0]
    assert ours.dtype == jnp.bfloat16
    assert np.abs(np.asarray(ours, np.float32) - ref).max() / np.abs(ref).max() < 3e-2


def test_loader_names_a_tensor_of_the_wrong_shape(checkpoint):
    path, _ = checkpoint
    cfg = Qwen25VisionConfig.from_hf(hf_config(path))
    wider = Qwen25VisionConfig.from_hf(
        {**hf_config(path), "vision_config": {**VISION, "intermediate_size": 64}}
    )
    tensors = {canonical_name(n): a for n, a in load_file(path / "model.safetensors").items()}
    params = load_vision_params(tensors.__getitem__, cfg, np.float32)
    assert params["blocks"]["wqkv"].shape == (2, 32, 3, 2, 16)
    assert params["patch_embed"].shape == (cfg.patch_dim, 32)
    with pytest.raises(
        CheckpointError, match=re.escape("model.visual.blocks.0.mlp.gate_proj.weight")
    ):
        load_vision_params(tensors.__getitem__, wider, np.float32)


def test_mrope_positions_match_hugging_face(checkpoint):
    path, model = checkpoint
    features = Qwen25VLImageProcessor(path, hf_config(path))(random_images())
    runs = [[5, 6, 252], [253, 7, 8, 9, 252], [253, 10, 11]]  # text, image, text, image, text
    token_ids, inputs = list(runs[0]), []
    for f, text in zip(features, runs[1:], strict=True):
        inputs.append(MultiModalInput(f, PlaceholderRange(len(token_ids), f.num_tokens)))
        token_ids += [IMAGE_TOKEN] * f.num_tokens + text
    positions, delta = mrope_positions(token_ids, inputs, spatial_merge_size=2)

    ids = torch.tensor([token_ids])
    grids = torch.tensor([f.grid for f in features])
    ref, ref_delta = model.model.get_rope_index(ids, (ids == IMAGE_TOKEN).int(), grids)
    assert positions.dtype == np.int32 and positions.shape == (3, len(token_ids))
    np.testing.assert_array_equal(positions, ref[:, 0].numpy())
    assert delta == int(ref_delta) < 0
    with pytest.raises(ValueError, match="placeholder"):
        mrope_positions(token_ids[:-8], inputs, spatial_merge_size=2)
