"""Tiny random vision-language checkpoints (Qwen2.5-VL, LLaVA), written by `transformers`,
with a tokenizer whose chat template places images and the image processor's config."""

from __future__ import annotations

from pathlib import Path

from tests.tiny_models import INIT_STD, VOCAB

# The tokenizer's special tokens, so their ids are 0, 1, 2, ...
SPECIAL_TOKENS = ["<pad>", "<s>", "</s>", "<image>", "<|vision_start|>", "<|vision_end|>"]
IMAGE_TOKEN_ID, VISION_START_ID, VISION_END_ID = 3, 4, 5
FAMILIES = ("qwen2_5_vl", "llava")
# Each image's place, as the chat template writes it: Qwen marks where an image starts (its
# M-RoPE positions need it), LLaVA writes the image token alone.
IMAGE_PLACES = {"qwen2_5_vl": "<|vision_start|><image><|vision_end|>", "llava": "<image>\n"}


def chat_template(family: str) -> str:
    place = IMAGE_PLACES[family]
    return (
        "{% for m in messages %}<s>{{ m['role'] }}: "
        "{% if m['content'] is string %}{{ m['content'] }}"
        "{% else %}{% for p in m['content'] %}"
        "{% if p['type'] == 'image' %}" + place + "{% else %}{{ p['text'] }}{% endif %}"
        "{% endfor %}{% endif %}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}"
    )


def write_tokenizer(path: Path, family: str) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    text = ["a picture of a cat on a mat", "describe the image please", "what is this"] * 20
    tok.train_from_iterator(text, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    fast.chat_template = chat_template(family)
    fast.save_pretrained(path)


def hf_config(family: str):
    import transformers

    text = dict(
        vocab_size=VOCAB,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        rms_norm_eps=1e-6,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
    )
    if family == "qwen2_5_vl":
        text["rope_scaling"] = {"type": "mrope", "mrope_section": [2, 3, 3]}
        return transformers.Qwen2_5_VLConfig(
            text_config=text,
            vision_config=dict(
                depth=2,
                hidden_size=32,
                intermediate_size=64,
                num_heads=2,
                out_hidden_size=64,
                patch_size=14,
                spatial_merge_size=2,
                temporal_patch_size=2,
                window_size=56,
                fullatt_block_indexes=[1],
            ),
            image_token_id=IMAGE_TOKEN_ID,
            video_token_id=VOCAB - 1,
            vision_start_token_id=VISION_START_ID,
            vision_end_token_id=VISION_END_ID,
        )
    return transformers.LlavaConfig(
        text_config={"model_type": "llama", "head_dim": 16, **text},
        vision_config=dict(
            model_type="clip_vision_model",
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=3,
            num_attention_heads=2,
            image_size=28,
            patch_size=7,
            projection_dim=32,
        ),
        image_token_id=IMAGE_TOKEN_ID,
        projector_hidden_act="gelu",
        vision_feature_layer=-2,
        vision_feature_select_strategy="default",
    )


def write_image_processor(path: Path, family: str) -> None:
    if family == "qwen2_5_vl":
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
            Qwen2VLImageProcessorPil,
        )

        # Small images: at most 16 x 16 patches of 14 pixels.
        processor = Qwen2VLImageProcessorPil(min_pixels=56 * 56, max_pixels=224 * 224)
    else:
        from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

        processor = CLIPImageProcessorPil(
            size={"shortest_edge": 28}, crop_size={"height": 28, "width": 28}
        )
    processor.save_pretrained(path)


def build_hf_model(family: str, seed: int = 0):
    """Weights larger than transformers' init so greedy decoding has no near-ties, and the
    image side's output as large as the token embeddings, so images change the tokens."""
    import torch
    import transformers

    torch.manual_seed(seed)
    cls = {"qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration"}.get(
        family, "LlavaForConditionalGeneration"
    )
    model = getattr(transformers, cls)(hf_config(family))
    with torch.no_grad():
        for name, p in model.named_parameters():
            text = "language_model" in name or "lm_head" in name
            image_out = "merger.mlp" in name or "multi_modal_projector" in name
            if "norm" in name and text:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif text or (image_out and name.endswith("weight")):
                p.normal_(0.0, INIT_STD)
    return model.eval()


def write_tiny_vlm(path: Path, family: str, seed: int = 0):
    """Writes the checkpoint, tokenizer and image processor; returns the HF model."""
    model = build_hf_model(family, seed)
    model.save_pretrained(path)
    write_tokenizer(path, family)
    write_image_processor(path, family)
    return model
