"""Qwen2.5-VL's vision transformer, one image at a time, as a pure function over its params.

An image arrives as the processor left it: its patches flattened, in merge-unit order (each
run of `merge**2` consecutive patches is one 2x2 block that the merger folds into one token).
Every block attends either within windows of `window_size` pixels or across the whole frame
(`fullatt_block_indexes`); both are attention within groups of patches that the patch grid
fixes, so the groups are worked out with numpy at trace time and the encoder compiles once
per grid. Shapes: N patches, E hidden, H heads, D head dim, F MLP hidden, L blocks, G groups
(windows or frames), S patches per group, M merged tokens (N / merge**2), O output hidden.

    params = {
        "patch_embed": [C * Tp * P * P, E],        # the Conv3d, as a matmul over a patch
        "blocks": {
            "norm1": [L, E], "wqkv": [L, E, 3, H, D], "bqkv": [L, 3, H, D],
            "wo": [L, H, D, E], "bo": [L, E],
            "norm2": [L, E], "w_gate": [L, E, F], "b_gate": [L, F],
            "w_up": [L, E, F], "b_up": [L, F], "w_down": [L, F, E], "b_down": [L, E],
        },
        "merger": {"ln_q": [E], "w1": [4E, 4E], "b1": [4E], "w2": [4E, O], "b2": [O]},
    }
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxserve.errors import ModelConfigError
from jaxserve.model.llama import rms_norm
from jaxserve.model.rope import apply_rope

NORM_EPS = 1e-6  # fixed in the reference, not in config.json
# The config's fields that count something, each at least 1.
SIZES = (
    "depth", "hidden_size", "intermediate_size", "num_heads", "out_hidden_size",
    "in_channels", "patch_size", "temporal_patch_size", "spatial_merge_size", "window_size",
)  # fmt: skip


@dataclasses.dataclass(frozen=True, kw_only=True)
class Qwen25VisionConfig:
    """The vision tower of a `Qwen2_5_VLForConditionalGeneration` checkpoint."""

    depth: int  # L
    hidden_size: int  # E
    intermediate_size: int  # F
    num_heads: int  # H
    out_hidden_size: int  # O: the language model's hidden size
    in_channels: int = 3
    patch_size: int = 14
    temporal_patch_size: int = 2
    spatial_merge_size: int = 2
    window_size: int = 112  # in pixels
    fullatt_block_indexes: tuple[int, ...] = (7, 15, 23, 31)
    rope_theta: float = 10000.0

    def __post_init__(self) -> None:
        for name in SIZES:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ModelConfigError(
                    f"vision_config.{name} must be a positive int, got {value!r}"
                )
        if self.hidden_size % self.num_heads:
            raise ModelConfigError(
                f"vision_config.hidden_size {self.hidden_size} is not a multiple of "
                f"num_heads {self.num_heads}"
            )
        if self.head_dim % 4:
            raise ModelConfigError(
                f"the vision head dim {self.head_dim} must be a multiple of 4 "
                "(its rotary halves turn by row and by column)"
            )
        if self.window_merged < 1:
            raise ModelConfigError(
                f"vision_config.window_size {self.window_size} is smaller than one merged "
                f"token (patch_size * spatial_merge_size = "
                f"{self.patch_size * self.spatial_merge_size} pixels)"
            )
        bad = [
            i
            for i in self.fullatt_block_indexes
            if not isinstance(i, int) or not 0 <= i < self.depth
        ]
        if bad:
            raise ModelConfigError(
                f"vision_config.fullatt_block_indexes {bad} are not blocks of a depth-"
                f"{self.depth} tower (0 .. {self.depth - 1})"
            )

    @property
    def head_dim(self) -> int:  # D
        return self.hidden_size // self.num_heads

    @property
    def window_merged(self) -> int:
        """A window's side in merged tokens."""
        return self.window_size // self.spatial_merge_size // self.patch_size

    @property
    def patch_dim(self) -> int:
        """The length of one flattened patch: C * Tp * P * P."""
        return self.in_channels * self.temporal_patch_size * self.patch_size**2

    @classmethod
    def from_hf(cls, hf: Mapping[str, Any]) -> Qwen25VisionConfig:
        """Reads the `vision_config` of a checkpoint's top-level config.json."""
        if hf.get("model_type") != "qwen2_5_vl":
            raise ModelConfigError(
                f"model_type {hf.get('model_type')!r} is not a Qwen2.5-VL checkpoint "
                "(expected 'qwen2_5_vl')"
            )
        vision = hf.get("vision_config")
        if not isinstance(vision, Mapping):
            raise ModelConfigError("a Qwen2.5-VL config.json needs a vision_config object")
        act = vision.get("hidden_act", "silu")
        if act != "silu":
            raise ModelConfigError(f"vision_config.hidden_act {act!r} is not supported (only silu)")
        rope = dict(vision.get("rope_parameters") or {})
        if rope.get("rope_type", "axial") != "axial":
            raise ModelConfigError(
                f"vision rope type {rope['rope_type']!r} is not supported (only 'axial')"
            )
        required = ("depth", "hidden_size", "intermediate_size", "num_heads", "out_hidden_size")
        missing = [name for name in required if name not in vision]
        if missing:
            raise ModelConfigError(f"vision_config lacks {', '.join(missing)}")
        optional = ("patch_size", "temporal_patch_size", "spatial_merge_size", "window_size")
        return cls(
            **{name: vision[name] for name in required},
            **{name: vision[name] for name in optional if name in vision},
            # Released checkpoints spell it `in_chans`.
            in_channels=vision.get("in_channels", vision.get("in_chans", 3)),
            fullatt_block_indexes=tuple(
                vision.get("fullatt_block_indexes", cls.fullatt_block_indexes)
            ),
            rope_theta=float(rope.get("rope_theta", 10000.0)),
        )


@dataclasses.dataclass(frozen=True)
class Groups:
    """Patches gathered into equal-length groups that attend only among themselves."""

    index: np.ndarray  # i32[G, S]: the patch at each place of each group (0 where padding)
    valid: np.ndarray  # bool[G, S]: False at padding
    slot: np.ndarray  # i32[N]: each patch's place in the flattened [G * S] groups


def groups_of(group_ids: np.ndarray) -> Groups:
    """Groups from each patch's group id (ids need not be dense; empty groups are dropped)."""
    _, dense = np.unique(group_ids, return_inverse=True)
    order = np.argsort(dense, kind="stable")  # patches by group, in patch order within one
    counts = np.bincount(dense)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    group = dense[order]
    rank = np.arange(len(order)) - starts[group]
    size = int(counts.max())
    index = np.zeros((len(counts), size), np.int32)
    valid = np.zeros((len(counts), size), bool)
    index[group, rank] = order
    valid[group, rank] = True
    slot = np.empty(len(order), np.int32)
    slot[order] = group * size + rank
    return Groups(index, valid, slot)


def merge_unit_coords(cfg: Qwen25VisionConfig, grid: tuple[int, int, int]) -> np.ndarray:
    """i32[3, N]: each patch's (frame, row, column), in the processor's merge-unit order."""
    t, h, w = grid
    m = cfg.spatial_merge_size
    if h % m or w % m:
        raise ValueError(f"patch grid {grid} is not a multiple of the merge size {m}")
    # Patch order: frame, merged row, merged column, row in the unit, column in the unit.
    ft, bh, bw, ih, iw = np.meshgrid(
        np.arange(t),
        np.arange(h // m),
        np.arange(w // m),
        np.arange(m),
        np.arange(m),
        indexing="ij",
    )
    return np.stack([ft.ravel(), (bh * m + ih).ravel(), (bw * m + iw).ravel()]).astype(np.int32)


def window_groups(cfg: Qwen25VisionConfig, grid: tuple[int, int, int]) -> Groups:
    """Each frame cut into windows of `window_merged` x `window_merged` merged tokens, the
    ones at the right and bottom edges cut short, as the reference cuts them."""
    frame, row, col = merge_unit_coords(cfg, grid)
    side = cfg.window_merged * cfg.spatial_merge_size  # in patches
    per_row = -(-grid[2] // side)
    per_frame = -(-grid[1] // side) * per_row
    return groups_of(frame * per_frame + (row // side) * per_row + col // side)


def frame_groups(cfg: Qwen25VisionConfig, grid: tuple[int, int, int]) -> Groups:
    """Full attention: every patch of a frame with every other of that frame."""
    return groups_of(merge_unit_coords(cfg, grid)[0])


def rotary_tables(
    cfg: Qwen25VisionConfig, grid: tuple[int, int, int]
) -> tuple[jax.Array, jax.Array]:
    """(cos, sin), each f32[N, D/2]: the first D/4 pairs turn with the patch's row, the rest
    with its column, at the same D/4 frequencies."""
    _, row, col = merge_unit_coords(cfg, grid)
    half = cfg.head_dim // 2
    inv_freq = 1.0 / cfg.rope_theta ** (np.arange(0, half, 2, dtype=np.float32) / half)
    inv_freq = inv_freq.astype(np.float32)  # [D/4]
    angles = np.concatenate(
        [row[:, None].astype(np.float32) * inv_freq, col[:, None].astype(np.float32) * inv_freq],
        axis=-1,
    )  # [N, D/2]
    return jnp.cos(angles), jnp.sin(angles)


def grouped_attention(q: jax.Array, k: jax.Array, v: jax.Array, groups: Groups) -> jax.Array:
    """Softmax attention of q, k, v [N, H, D] within `groups`, no mask between the patches of
    a group. Returns [N, H, D]."""
    g, s = groups.index.shape
    qg, kg, vg = (x[groups.index] for x in (q, k, v))  # [G, S, H, D]
    scores = jnp.einsum("gshd,gthd->ghst", qg, kg, preferred_element_type=jnp.float32)
    scores = scores * q.shape[-1] ** -0.5  # [G, H, S, S]
    if not groups.valid.all():
        scores = jnp.where(groups.valid[:, None, None, :], scores, -jnp.inf)
    probs = jax.nn.softmax(scores, axis=-1).astype(v.dtype)
    out = jnp.einsum("ghst,gthd->gshd", probs, vg)  # [G, S, H, D]
    return out.reshape(g * s, *out.shape[2:])[groups.slot]


def encode_image(
    params: dict, pixel_values: jax.Array, *, cfg: Qwen25VisionConfig, grid: tuple[int, int, int]
) -> jax.Array:
    """Encodes one image (or a video's frames) into language-model embeddings.

    Args:
        params: the vision tower (module docstring), as `load_vision_params` makes it.
        pixel_values: [N, C * Tp * P * P], the processor's patches of this image alone.
        cfg: the tower's config (static under jit).
        grid: the image's patch grid (t, h, w), N = t * h * w (static under jit).

    Returns:
        [M, O] in the params' dtype, M = N / merge**2, in the order Hugging Face returns
        them (merged tokens row by row).
    """
    t, h, w = grid
    if pixel_values.shape != (t * h * w, cfg.patch_dim):
        raise ValueError(
            f"pixel_values {pixel_values.shape} do not fit grid {grid}: expected "
            f"{(t * h * w, cfg.patch_dim)}"
        )
    dtype = params["patch_embed"].dtype
    x = pixel_values.astype(dtype) @ params["patch_embed"]  # [N, E]
    cos, sin = rotary_tables(cfg, grid)  # [N, D/2]
    windows, frames = window_groups(cfg, grid), frame_groups(cfg, grid)
    full = np.isin(np.arange(cfg.depth), cfg.fullatt_block_indexes)

    def attend(q, k, v, is_full):
        if full.all() or not full.any():  # one kind of block: no branch
            return grouped_attention(q, k, v, frames if full.all() else windows)
        return jax.lax.cond(
            is_full,
            lambda *a: grouped_attention(*a, frames),
            lambda *a: grouped_attention(*a, windows),
            q,
            k,
            v,
        )

    def block(x, layer):
        p, is_full = layer
        y = rms_norm(x, p["norm1"], NORM_EPS)
        qkv = jnp.einsum("ne,eahd->anhd", y, p["wqkv"]) + p["bqkv"][:, None]  # [3, N, H, D]
        q, k = apply_rope(qkv[0], cos, sin), apply_rope(qkv[1], cos, sin)
        attn = attend(q, k, qkv[2], is_full)  # [N, H, D]
        x = x + jnp.einsum("nhd,hde->ne", attn, p["wo"]) + p["bo"]
        y = rms_norm(x, p["norm2"], NORM_EPS)
        gate = jax.nn.silu(y @ p["w_gate"] + p["b_gate"])  # [N, F]
        x = x + (gate * (y @ p["w_up"] + p["b_up"])) @ p["w_down"] + p["b_down"]
        return x, None

    x, _ = jax.lax.scan(block, x, (params["blocks"], jnp.asarray(full)))
    return merge_patches(params["merger"], x, cfg=cfg)


def merge_patches(merger: dict, x: jax.Array, *, cfg: Qwen25VisionConfig) -> jax.Array:
    """Folds each merge unit's patches [N, E] into one token [M, O]: RMSNorm, then a GELU MLP
    over the unit's patches side by side."""
    y = rms_norm(x, merger["ln_q"], NORM_EPS)
    y = y.reshape(-1, cfg.spatial_merge_size**2 * cfg.hidden_size)  # [M, 4E]
    y = jax.nn.gelu(y @ merger["w1"] + merger["b1"], approximate=False)
    return y @ merger["w2"] + merger["b2"]  # [M, O]
