"""Qwen2.5-VL's vision tower: Hugging Face tensors -> the params `encode_image` reads."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import DTypeLike

from jaxserve.errors import CheckpointError
from jaxserve.model.vision.qwen2_5_vl import Qwen25VisionConfig

PREFIX = "model.visual."  # as `jaxserve.loader.checkpoint.canonical_name` names them


def load_vision_params(
    tensor: Callable[[str], np.ndarray], cfg: Qwen25VisionConfig, dtype: DTypeLike
) -> dict:
    """Reads the vision tower, laid out for `jaxserve.model.vision.qwen2_5_vl.encode_image`.

    Args:
        tensor: a checkpoint tensor by its name in the transformers-5 layout
            ("model.visual.blocks.0.attn.qkv.weight"); checkpoints saved as "visual.*" are
            read through `canonical_name`.
        cfg: the tower's config; every tensor's shape is checked against it.
        dtype: the params' dtype (the encoder computes in it).

    Returns:
        The params pytree of host numpy arrays in `dtype`; per-block weights stacked on a
        leading L axis, Linear weights as [in, out].
    """
    e, f, h, d, o = (
        cfg.hidden_size,
        cfg.intermediate_size,
        cfg.num_heads,
        cfg.head_dim,
        cfg.out_hidden_size,
    )
    wide = cfg.spatial_merge_size**2 * e

    def read(name: str, shape: tuple[int, ...]) -> np.ndarray:
        array = np.asarray(tensor(PREFIX + name))
        if array.shape != shape:
            raise CheckpointError(
                f"tensor {PREFIX + name!r} has shape {array.shape}; the vision config needs {shape}"
            )
        return array.astype(dtype)

    def linear(name: str, n_in: int, n_out: int) -> np.ndarray:  # torch [out, in] -> [in, out]
        return read(name, (n_out, n_in)).T

    def block(i: int) -> dict[str, np.ndarray]:
        b = f"blocks.{i}."
        return {
            "norm1": read(b + "norm1.weight", (e,)),
            "wqkv": linear(b + "attn.qkv.weight", e, 3 * e).reshape(e, 3, h, d),
            "bqkv": read(b + "attn.qkv.bias", (3 * e,)).reshape(3, h, d),
            "wo": linear(b + "attn.proj.weight", e, e).reshape(h, d, e),
            "bo": read(b + "attn.proj.bias", (e,)),
            "norm2": read(b + "norm2.weight", (e,)),
            "w_gate": linear(b + "mlp.gate_proj.weight", e, f),
            "b_gate": read(b + "mlp.gate_proj.bias", (f,)),
            "w_up": linear(b + "mlp.up_proj.weight", e, f),
            "b_up": read(b + "mlp.up_proj.bias", (f,)),
            "w_down": linear(b + "mlp.down_proj.weight", f, e),
            "b_down": read(b + "mlp.down_proj.bias", (e,)),
        }

    blocks = [block(i) for i in range(cfg.depth)]
    kernel = (e, cfg.in_channels, cfg.temporal_patch_size, cfg.patch_size, cfg.patch_size)
    return {
        # The Conv3d's stride is its kernel: one matmul over each flattened patch.
        "patch_embed": np.ascontiguousarray(
            read("patch_embed.proj.weight", kernel).reshape(e, -1).T
        ),
        "blocks": {name: np.stack([b[name] for b in blocks]) for name in blocks[0]},
        "merger": {
            "ln_q": read("merger.ln_q.weight", (e,)),
            "w1": np.ascontiguousarray(linear("merger.mlp.0.weight", wide, wide)),
            "b1": read("merger.mlp.0.bias", (wide,)),
            "w2": np.ascontiguousarray(linear("merger.mlp.2.weight", wide, o)),
            "b2": read("merger.mlp.2.bias", (o,)),
        },
    }
