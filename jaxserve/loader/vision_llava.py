"""A LLaVA checkpoint's image-side tensors -> the params pytree `jaxserve.model.vision.clip`
reads: torch's [out, in] matrices as [in, out], heads split out, per-layer weights stacked.

Names are the checkpoint's as `jaxserve.loader.checkpoint.canonical_name` gives them
("model.vision_tower...", "model.multi_modal_projector..."), whichever release wrote it.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from jaxserve.errors import CheckpointError
from jaxserve.model.vision.clip import LlavaVisionConfig

TOWER = "model.vision_tower."
PROJECTOR = "model.multi_modal_projector."
LAYER = TOWER + "encoder.layers.{i}."

# q, k, v and their biases get a heads axis on their output; the output projection on its input.
SPLIT_OUT = ("wq", "wk", "wv", "bq", "bk", "bv")


def _layer_tensors(cfg: LlavaVisionConfig) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Per-layer params -> their tensor under LAYER and its stored shape (torch's [out, in]
    for the matrices, the params whose names start with "w")."""
    e, f = cfg.hidden_size, cfg.intermediate_size
    return {
        "ln1_scale": ("layer_norm1.weight", (e,)),
        "ln1_bias": ("layer_norm1.bias", (e,)),
        "wq": ("self_attn.q_proj.weight", (e, e)),
        "bq": ("self_attn.q_proj.bias", (e,)),
        "wk": ("self_attn.k_proj.weight", (e, e)),
        "bk": ("self_attn.k_proj.bias", (e,)),
        "wv": ("self_attn.v_proj.weight", (e, e)),
        "bv": ("self_attn.v_proj.bias", (e,)),
        "wo": ("self_attn.out_proj.weight", (e, e)),
        "bo": ("self_attn.out_proj.bias", (e,)),
        "ln2_scale": ("layer_norm2.weight", (e,)),
        "ln2_bias": ("layer_norm2.bias", (e,)),
        "w_fc1": ("mlp.fc1.weight", (f, e)),
        "b_fc1": ("mlp.fc1.bias", (f,)),
        "w_fc2": ("mlp.fc2.weight", (e, f)),
        "b_fc2": ("mlp.fc2.bias", (e,)),
    }


def load_vision_params(
    tensor: Callable[[str], np.ndarray], cfg: LlavaVisionConfig, dtype: jnp.dtype | str
) -> dict:
    """Reads the image side's weights, only the encoder layers the features need.

    Args:
        tensor: reads one checkpoint tensor by its canonical name.
        cfg: the image side's config.
        dtype: of every returned array (numpy, for the caller to `device_put`).

    Returns:
        The params pytree the module docstring of `jaxserve.model.vision.clip` shows, with
        `cfg.layers_needed` layers stacked.
    """
    dtype = jnp.dtype(dtype)

    def read(name: str, shape: tuple[int, ...]) -> np.ndarray:
        w = np.asarray(tensor(name))
        if w.shape != shape:
            raise CheckpointError(f"tensor {name!r} has shape {w.shape}, config needs {shape}")
        return w

    e, c, p = cfg.hidden_size, cfg.num_channels, cfg.patch_size
    conv = read(TOWER + "embeddings.patch_embedding.weight", (e, c, p, p))
    params = {
        "patch_embed": conv.reshape(e, c * p * p).T,  # [C*p*p, E]
        "pos_embed": read(TOWER + "embeddings.position_embedding.weight", (cfg.num_positions, e)),
    }
    if cfg.class_token:
        params["class_embed"] = read(TOWER + "embeddings.class_embedding", (e,))
        params["pre_norm_scale"] = read(TOWER + "pre_layrnorm.weight", (e,))
        params["pre_norm_bias"] = read(TOWER + "pre_layrnorm.bias", (e,))
    else:
        params["patch_bias"] = read(TOWER + "embeddings.patch_embedding.bias", (e,))
    params["layers"] = _layers(read, cfg)
    params["projector"] = _projector(tensor, cfg)
    return _cast(params, dtype)


def _layers(read: Callable[[str, tuple[int, ...]], np.ndarray], cfg: LlavaVisionConfig) -> dict:
    """The encoder layers' params, each stacked on a leading [L'] axis."""
    num, h, d = cfg.layers_needed, cfg.num_heads, cfg.head_dim
    layers = {}
    for name, (suffix, shape) in _layer_tensors(cfg).items():
        per_layer = [read(LAYER.format(i=i) + suffix, shape) for i in range(num)]
        w = np.stack(per_layer) if per_layer else np.zeros((0, *shape), np.float32)
        if name.startswith("w"):
            w = w.transpose(0, 2, 1)  # [L', in, out]
        if name in SPLIT_OUT:  # [L', E, H, D] and [L', H, D]
            w = w.reshape(*w.shape[:-1], h, d)
        elif name == "wo":  # [L', H, D, E]
            w = w.reshape(num, h, d, cfg.hidden_size)
        layers[name] = w
    return layers


def _projector(tensor: Callable[[str], np.ndarray], cfg: LlavaVisionConfig) -> dict:
    """linear_1 and linear_2 as [in, out]; the text hidden size E' is read off linear_1."""
    w1 = np.asarray(tensor(PROJECTOR + "linear_1.weight"))
    features = cfg.hidden_size * len(cfg.feature_layers)
    if w1.ndim != 2 or w1.shape[1] != features:
        raise CheckpointError(
            f"tensor {PROJECTOR}linear_1.weight has shape {w1.shape}; the config's "
            f"{len(cfg.feature_layers)} feature layer(s) of {cfg.hidden_size} need [E', {features}]"
        )
    text_hidden = w1.shape[0]
    w2 = np.asarray(tensor(PROJECTOR + "linear_2.weight"))
    if w2.shape != (text_hidden, text_hidden):
        raise CheckpointError(
            f"tensor {PROJECTOR}linear_2.weight has shape {w2.shape}, "
            f"needs {(text_hidden, text_hidden)}"
        )
    proj = {"w1": w1.T, "w2": w2.T}
    if cfg.projector_bias:
        proj["b1"] = np.asarray(tensor(PROJECTOR + "linear_1.bias")).reshape(text_hidden)
        proj["b2"] = np.asarray(tensor(PROJECTOR + "linear_2.bias")).reshape(text_hidden)
    return proj


def _cast(tree: dict, dtype: np.dtype) -> dict:
    return {
        k: _cast(v, dtype) if isinstance(v, dict) else np.ascontiguousarray(v.astype(dtype))
        for k, v in tree.items()
    }
