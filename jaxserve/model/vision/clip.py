"""LLaVA's image side as pure functions: a CLIP (or SigLIP) vision tower and the projector
that maps its features into the text model's embedding space.

One image at a time, at the tower's fixed size, so every image shares one compiled encoder.
Shapes: C channels, S image side, G patches a side, N patches (G * G), T tower tokens (N, plus
the class token where the tower has one), E tower hidden, H heads, D head dim, F MLP hidden,
L layers run, E' text hidden.

    params = {
        "patch_embed": [C * p * p, E], "patch_bias": [E],        # patch_bias: SigLIP only
        "class_embed": [E],                                       # CLIP only
        "pos_embed": [T, E],
        "pre_norm_scale": [E], "pre_norm_bias": [E],              # CLIP only
        "layers": {
            "ln1_scale": [L, E], "ln1_bias": [L, E],
            "wq": [L, E, H, D], "wk": [L, E, H, D], "wv": [L, E, H, D],
            "bq": [L, H, D], "bk": [L, H, D], "bv": [L, H, D],
            "wo": [L, H, D, E], "bo": [L, E],
            "ln2_scale": [L, E], "ln2_bias": [L, E],
            "w_fc1": [L, E, F], "b_fc1": [L, F], "w_fc2": [L, F, E], "b_fc2": [L, E],
        },
        "projector": {"w1": [E * len(feature_layers), E'], "w2": [E', E'],
                      "b1": [E'], "b2": [E']},                    # b1, b2: with projector_bias
    }
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from jaxserve.errors import ModelConfigError

Params = dict


def _quick_gelu(x: jax.Array) -> jax.Array:
    return x * jax.nn.sigmoid(1.702 * x)


# HF activation names -> the function, for the tower's MLP and the projector.
ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "quick_gelu": _quick_gelu,
    "gelu": functools.partial(jax.nn.gelu, approximate=False),
    "gelu_pytorch_tanh": functools.partial(jax.nn.gelu, approximate=True),
    "gelu_new": functools.partial(jax.nn.gelu, approximate=True),
    "silu": jax.nn.silu,
    "relu": jax.nn.relu,
}

# Vision tower model_type -> whether it has a class token and a layer norm before the
# encoder (CLIP), or neither and a bias on the patch embedding (SigLIP).
TOWERS = {"clip_vision_model": True, "siglip_vision_model": False}

# The tower's config.json defaults, for keys a checkpoint leaves out (transformers' own).
TOWER_DEFAULTS: dict[str, dict[str, Any]] = {
    "clip_vision_model": {
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "num_channels": 3,
        "image_size": 224,
        "patch_size": 32,
        "hidden_act": "quick_gelu",
        "layer_norm_eps": 1e-5,
    },
    "siglip_vision_model": {
        "hidden_size": 768,
        "intermediate_size": 3072,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "num_channels": 3,
        "image_size": 224,
        "patch_size": 16,
        "hidden_act": "gelu_pytorch_tanh",
        "layer_norm_eps": 1e-6,
    },
}
# A LLaVA config.json without a vision_config gets this tower (CLIP ViT-L/14 at 336).
LLAVA_DEFAULT_TOWER = {
    "model_type": "clip_vision_model",
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "image_size": 336,
    "patch_size": 14,
}
STRATEGIES = ("default", "full")  # "default" drops the first token (CLIP's class token)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LlavaVisionConfig:
    """The facts the image side's graph needs; hashable, so jit takes it as static."""

    class_token: bool  # CLIP: a class token first and a layer norm before the encoder
    num_channels: int  # C
    image_size: int  # S
    patch_size: int  # p
    hidden_size: int  # E
    intermediate_size: int  # F
    num_layers: int  # the tower's, of which `layers_needed` run
    num_heads: int  # H
    layer_norm_eps: float
    hidden_act: str
    # The hidden states the projector reads, as indices into HF's `hidden_states` (0: the
    # embeddings, i: layer i's output), concatenated on the feature axis where several.
    feature_layers: tuple[int, ...]
    select_strategy: str  # "default" drops the first token of each, "full" keeps them all
    projector_act: str
    projector_bias: bool

    def __post_init__(self) -> None:
        for name in ("num_channels", "image_size", "patch_size", "hidden_size", "num_heads"):
            if getattr(self, name) <= 0:
                raise ModelConfigError(f"vision_config {name} must be positive")
        if self.image_size % self.patch_size:
            raise ModelConfigError(
                f"vision_config image_size ({self.image_size}) must be a multiple of "
                f"patch_size ({self.patch_size})"
            )
        if self.hidden_size % self.num_heads:
            raise ModelConfigError(
                f"vision_config hidden_size ({self.hidden_size}) must be a multiple of "
                f"num_attention_heads ({self.num_heads})"
            )
        acts = {
            "vision_config hidden_act": self.hidden_act,
            "projector_hidden_act": self.projector_act,
        }
        for what, act in acts.items():
            if act not in ACTIVATIONS:
                raise ModelConfigError(
                    f"{what} {act!r} is not supported; supported: {', '.join(ACTIVATIONS)}"
                )
        if self.select_strategy not in STRATEGIES:
            raise ModelConfigError(
                f"vision_feature_select_strategy {self.select_strategy!r} is not supported; "
                f"supported: {', '.join(STRATEGIES)}"
            )
        if not self.feature_layers or not all(
            0 <= i <= self.num_layers for i in self.feature_layers
        ):
            raise ModelConfigError(
                f"vision_feature_layer {self.feature_layers} must name hidden states 0.."
                f"{self.num_layers} (or -1..-{self.num_layers + 1}) of the vision tower"
            )

    @property
    def head_dim(self) -> int:  # D
        return self.hidden_size // self.num_heads

    @property
    def num_patches(self) -> int:  # N
        return (self.image_size // self.patch_size) ** 2

    @property
    def num_positions(self) -> int:  # T
        return self.num_patches + self.class_token

    @property
    def layers_needed(self) -> int:
        """The encoder layers to run: those up to the last feature layer."""
        return max(self.feature_layers)

    @property
    def num_tokens(self) -> int:
        """The embeddings one image becomes: its placeholder tokens in the prompt."""
        return self.num_positions - (self.select_strategy == "default")

    @classmethod
    def from_hf(cls, hf: Mapping[str, Any]) -> LlavaVisionConfig:
        """Reads a `LlavaForConditionalGeneration` checkpoint's top-level config.json."""
        vision = dict(hf.get("vision_config") or LLAVA_DEFAULT_TOWER)
        model_type = vision.get("model_type", "clip_vision_model")
        if model_type not in TOWERS:
            raise ModelConfigError(
                f"vision_config model_type {model_type!r} is not supported for LLaVA; "
                f"supported: {', '.join(TOWERS)}"
            )
        vision = {**TOWER_DEFAULTS[model_type], **vision}
        try:
            num_layers = _int(vision, "num_hidden_layers")
            return cls(
                class_token=TOWERS[model_type],
                num_channels=_int(vision, "num_channels"),
                image_size=_int(vision, "image_size"),
                patch_size=_int(vision, "patch_size"),
                hidden_size=_int(vision, "hidden_size"),
                intermediate_size=_int(vision, "intermediate_size"),
                num_layers=num_layers,
                num_heads=_int(vision, "num_attention_heads"),
                layer_norm_eps=float(vision["layer_norm_eps"]),
                hidden_act=str(vision["hidden_act"]),
                feature_layers=_feature_layers(hf.get("vision_feature_layer", -2), num_layers),
                select_strategy=str(hf.get("vision_feature_select_strategy", "default")),
                projector_act=str(hf.get("projector_hidden_act", "gelu")),
                projector_bias=bool(hf.get("multimodal_projector_bias", True)),
            )
        except (TypeError, ValueError) as e:
            if isinstance(e, ModelConfigError):
                raise
            raise ModelConfigError(f"config.json has a malformed vision value: {e}") from None


def _feature_layers(layer: int | list[int], num_layers: int) -> tuple[int, ...]:
    """`vision_feature_layer` (one index into HF's L + 1 hidden states, or a list of them;
    negative from the end, so -1 is the last layer's output) as non-negative indices."""
    layers = layer if isinstance(layer, list | tuple) else [layer]
    if not layers or not all(
        isinstance(i, int) and not isinstance(i, bool) and -num_layers - 1 <= i <= num_layers
        for i in layers
    ):
        raise ModelConfigError(
            f"vision_feature_layer {layer!r} must be a hidden state of the {num_layers}-layer "
            f"vision tower (-{num_layers + 1}..{num_layers}), or a list of them"
        )
    return tuple(i if i >= 0 else num_layers + 1 + i for i in layers)


def _int(vision: Mapping[str, Any], key: str) -> int:
    value = vision[key]
    if isinstance(value, list | tuple):  # image_size or patch_size as [h, w]
        if len(set(value)) != 1:
            raise ModelConfigError(f"vision_config {key} {value} must be square")
        value = value[0]
    return int(value)


def layer_norm(x: jax.Array, scale: jax.Array, bias: jax.Array, eps: float) -> jax.Array:
    """LayerNorm over the last axis, computed in float32 and cast back."""
    xf = x.astype(jnp.float32)
    mean = jnp.mean(xf, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(xf - mean), axis=-1, keepdims=True)
    xf = (xf - mean) * jax.lax.rsqrt(var + eps)
    return (xf * scale.astype(jnp.float32) + bias.astype(jnp.float32)).astype(x.dtype)


def embed_patches(params: Params, pixel_values: jax.Array, cfg: LlavaVisionConfig) -> jax.Array:
    """The tower's input, [T, E]: each patch projected (the stride-p convolution as one
    matmul), the class token first (CLIP), position embeddings added, then CLIP's norm."""
    dtype = params["pos_embed"].dtype
    p, g = cfg.patch_size, cfg.image_size // cfg.patch_size
    x = pixel_values.astype(dtype).reshape(cfg.num_channels, g, p, g, p)
    # [G, G, C, p, p] -> [N, C*p*p]: patches in row-major order, each flattened as the
    # convolution's kernel [E, C, p, p] is.
    patches = x.transpose(1, 3, 0, 2, 4).reshape(g * g, -1)
    h = patches @ params["patch_embed"]  # [N, E]
    if "patch_bias" in params:
        h = h + params["patch_bias"]
    if cfg.class_token:
        h = jnp.concatenate([params["class_embed"][None], h])  # [T, E]
    h = h + params["pos_embed"]
    if cfg.class_token:
        h = layer_norm(h, params["pre_norm_scale"], params["pre_norm_bias"], cfg.layer_norm_eps)
    return h


def _encoder_layer(x: jax.Array, lp: Params, cfg: LlavaVisionConfig) -> jax.Array:
    """One pre-norm encoder layer, [T, E] -> [T, E]: full attention, then the MLP."""
    h = layer_norm(x, lp["ln1_scale"], lp["ln1_bias"], cfg.layer_norm_eps)
    q = jnp.einsum("te,ehd->thd", h, lp["wq"]) + lp["bq"]  # [T, H, D]
    k = jnp.einsum("te,ehd->thd", h, lp["wk"]) + lp["bk"]  # [T, H, D]
    v = jnp.einsum("te,ehd->thd", h, lp["wv"]) + lp["bv"]  # [T, H, D]
    scores = jnp.einsum("thd,shd->hts", q, k, preferred_element_type=jnp.float32)
    probs = jax.nn.softmax(scores * cfg.head_dim**-0.5, axis=-1).astype(v.dtype)  # [H, T, T]
    out = jnp.einsum("hts,shd->thd", probs, v)  # [T, H, D]
    x = x + jnp.einsum("thd,hde->te", out, lp["wo"]) + lp["bo"]

    h = layer_norm(x, lp["ln2_scale"], lp["ln2_bias"], cfg.layer_norm_eps)
    h = ACTIVATIONS[cfg.hidden_act](h @ lp["w_fc1"] + lp["b_fc1"])  # [T, F]
    return x + h @ lp["w_fc2"] + lp["b_fc2"]


def project(params: Params, features: jax.Array, cfg: LlavaVisionConfig) -> jax.Array:
    """The multimodal projector: [tokens, E * len(feature_layers)] -> [tokens, E']."""
    proj = params["projector"]
    h = features @ proj["w1"]
    if cfg.projector_bias:
        h = h + proj["b1"]
    h = ACTIVATIONS[cfg.projector_act](h) @ proj["w2"]
    return h + proj["b2"] if cfg.projector_bias else h


def encode_image(
    params: Params,
    pixel_values: jax.Array,
    *,
    cfg: LlavaVisionConfig,
    grid: tuple[int, ...] = (),
) -> jax.Array:
    """One image's embeddings for the text model.

    Runs the tower's layers up to the last one a feature comes from (`cfg.layers_needed`;
    `params["layers"]` may hold those or more) as one `lax.scan`, selects the features and
    projects them. Jit with `cfg` and `grid` static.

    Args:
        params: the image side's weights, laid out as the module docstring shows.
        pixel_values: f32[C, S, S], as the image processor made it.
        cfg: the image side's config.
        grid: the image's static shape facts; `()` for a fixed-size tower, the only kind.

    Returns:
        [cfg.num_tokens, E'] embeddings in the params' dtype.
    """
    if grid:
        raise ValueError(f"a LLaVA tower takes images at one fixed size; got grid {grid}")
    x = embed_patches(params, pixel_values, cfg)  # [T, E]
    needed = cfg.layers_needed
    layers = jax.tree.map(lambda w: w[:needed], params["layers"])  # [L', ...] each
    keep_all = len(cfg.feature_layers) > 1 or needed != cfg.feature_layers[0]

    def step(carry, lp):
        out = _encoder_layer(carry, lp, cfg)
        return out, out if keep_all else None

    last, outputs = jax.lax.scan(step, x, layers)
    if keep_all:  # [L' + 1, T, E]: hidden state i is the embeddings (0) or layer i's output
        states = jnp.concatenate([x[None], outputs])
        selected = [states[i] for i in cfg.feature_layers]
    else:
        selected = [last]
    if cfg.select_strategy == "default":
        selected = [s[1:] for s in selected]
    features = jnp.concatenate(selected, axis=-1)  # [num_tokens, E * len(feature_layers)]
    return project(params, features, cfg)
