"""Rotary position embeddings, with the context scalings of Llama 3, Phi-3 (longrope) and
YaRN (gpt-oss, Qwen)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxserve.errors import ModelConfigError

SUPPORTED_ROPE_TYPES = ("default", "linear", "llama3", "longrope", "yarn")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RopeConfig:
    theta: float
    head_dim: int  # D; rotation pairs are (i, i + D/2), as in HF's rotate_half
    rope_type: str = "default"
    factor: float = 1.0
    low_freq_factor: float = 1.0
    high_freq_factor: float = 4.0
    original_max_position_embeddings: int = 8192
    # longrope (Phi-3): per-pair divisors of the frequencies, `short_factor` for positions
    # below `original_max_position_embeddings` and `long_factor` from there on, and a scale
    # on cos and sin (the attention factor).
    short_factor: tuple[float, ...] = ()
    long_factor: tuple[float, ...] = ()
    attention_factor: float = 1.0
    # yarn: frequencies blend from interpolated (divided by `factor`) to kept across the
    # pairs that turn between `beta_slow` and `beta_fast` times over the original context;
    # `truncate` rounds that band outward to whole pairs. Its scale on cos and sin is
    # `attention_factor`.
    beta_fast: float = 32.0
    beta_slow: float = 1.0
    truncate: bool = True
    # M-RoPE (Qwen2.5-VL): positions are (temporal, height, width); the first
    # `mrope_section[0]` rotation pairs turn with the temporal position, the next
    # `mrope_section[1]` with the height, the rest with the width. Empty: 1-D positions.
    mrope_section: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.rope_type not in SUPPORTED_ROPE_TYPES:
            raise ModelConfigError(
                f"rope type {self.rope_type!r} is not supported; "
                f"supported: {', '.join(SUPPORTED_ROPE_TYPES)}"
            )
        if self.mrope_section and (
            len(self.mrope_section) != 3 or sum(self.mrope_section) != self.head_dim // 2
        ):
            raise ModelConfigError(
                f"mrope_section must be three counts of rotation pairs summing to head_dim / 2 "
                f"= {self.head_dim // 2}, got {list(self.mrope_section)}"
            )
        if self.rope_type == "longrope":
            for name in ("short_factor", "long_factor"):
                if len(getattr(self, name)) != self.head_dim // 2:
                    raise ModelConfigError(
                        f"longrope's {name} must hold head_dim / 2 = {self.head_dim // 2} "
                        f"values, got {len(getattr(self, name))}"
                    )

    @classmethod
    def from_hf(cls, hf: Mapping[str, Any], head_dim: int) -> RopeConfig:
        """Reads both layouts: `rope_theta` + `rope_scaling`, and newer `rope_parameters`."""
        params = dict(hf.get("rope_parameters") or {})
        scaling = dict(hf.get("rope_scaling") or {})
        merged = {**params, **scaling}
        rope_type = merged.get("rope_type") or merged.get("type") or "default"
        if rope_type == "su":  # longrope's first name, in early Phi-3 configs
            rope_type = "longrope"
        mrope_section = tuple(int(n) for n in merged.get("mrope_section") or ())
        if rope_type == "mrope":  # Qwen2-VL's name for default frequencies over 3-D positions
            rope_type = "default"
        theta = merged.get("rope_theta", hf.get("rope_theta", 10000.0))
        partial = merged.get("partial_rotary_factor", hf.get("partial_rotary_factor", 1.0))
        if float(partial) != 1.0:
            raise ModelConfigError(f"partial_rotary_factor {partial} is not supported (only 1)")
        original = int(
            merged.get("original_max_position_embeddings")
            or hf.get("original_max_position_embeddings")
            or 8192
        )
        longrope: dict[str, Any] = {}
        if rope_type == "yarn":
            original = int(
                merged.get("original_max_position_embeddings")
                or hf.get("max_position_embeddings", 2048)
            )
            factor = merged.get("factor") or hf.get("max_position_embeddings", original) / original
            attention = merged.get("attention_factor")
            if attention is None:
                attention = _yarn_mscale(factor, merged.get("mscale"), merged.get("mscale_all_dim"))
            longrope = dict(
                attention_factor=float(attention),
                beta_fast=float(merged.get("beta_fast") or 32.0),
                beta_slow=float(merged.get("beta_slow") or 1.0),
                truncate=bool(merged.get("truncate", True)),
            )
            merged["factor"] = factor
        if rope_type == "longrope":
            factor = merged.get("factor") or hf.get("max_position_embeddings", original) / original
            attention = merged.get("attention_factor")
            if attention is None:
                attention = (
                    1.0 if factor <= 1 else math.sqrt(1 + math.log(factor) / math.log(original))
                )
            longrope = dict(
                short_factor=tuple(float(x) for x in merged.get("short_factor") or ()),
                long_factor=tuple(float(x) for x in merged.get("long_factor") or ()),
                attention_factor=float(attention),
            )
        return cls(
            theta=float(theta),
            head_dim=head_dim,
            rope_type=rope_type,
            factor=float(merged.get("factor") or 1.0),
            low_freq_factor=float(merged.get("low_freq_factor", 1.0)),
            high_freq_factor=float(merged.get("high_freq_factor", 4.0)),
            original_max_position_embeddings=original,
            mrope_section=mrope_section,
            **longrope,
        )

    def inverse_frequencies(self, *, long: bool = False) -> np.ndarray:
        """f32[D/2]: the rotation speed of each pair, after any scaling (`long`: longrope's
        frequencies for positions from `original_max_position_embeddings` on)."""
        # float32 throughout, as the reference implementation computes it.
        exponents = np.arange(0, self.head_dim, 2).astype(np.float32) / np.float32(self.head_dim)
        inv_freq = np.float32(1.0) / (np.float32(self.theta) ** exponents)
        if self.rope_type == "linear":
            inv_freq = inv_freq / self.factor
        elif self.rope_type == "llama3":
            inv_freq = self._llama3_scaled(inv_freq)
        elif self.rope_type == "longrope":
            factors = np.asarray(self.long_factor if long else self.short_factor, np.float32)
            inv_freq = np.float32(1.0) / (factors * np.float32(self.theta) ** exponents)
        elif self.rope_type == "yarn":
            inv_freq = self._yarn_blended(inv_freq)
        return inv_freq.astype(np.float32)

    def _yarn_blended(self, inv_freq: np.ndarray) -> np.ndarray:
        dim, base = self.head_dim, self.theta
        original = self.original_max_position_embeddings

        def pair_turning(rotations: float) -> float:  # the pair that turns `rotations` times
            return dim * math.log(original / (rotations * 2 * math.pi)) / (2 * math.log(base))

        low, high = pair_turning(self.beta_fast), pair_turning(self.beta_slow)
        if self.truncate:
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, dim - 1)
        if low == high:
            high += 0.001  # a band of one pair
        ramp = np.clip((np.arange(dim // 2, dtype=np.float32) - low) / (high - low), 0, 1)
        kept = (1 - ramp).astype(np.float32)  # 1: extrapolated (kept), 0: interpolated
        pos_freqs = np.float32(1.0) / inv_freq
        interpolated = np.float32(1.0) / (np.float32(self.factor) * pos_freqs)
        return interpolated * (1 - kept) + inv_freq * kept

    def _llama3_scaled(self, inv_freq: np.ndarray) -> np.ndarray:
        # Long wavelengths are slowed by `factor`, short ones kept, the band between blended.
        old_len = self.original_max_position_embeddings
        low_freq_wavelen = old_len / self.low_freq_factor
        high_freq_wavelen = old_len / self.high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        scaled = np.where(wavelen > low_freq_wavelen, inv_freq / self.factor, inv_freq)
        smooth = (old_len / wavelen - self.low_freq_factor) / (
            self.high_freq_factor - self.low_freq_factor
        )
        blended = (1 - smooth) * scaled / self.factor + smooth * scaled
        medium = (wavelen >= high_freq_wavelen) & (wavelen <= low_freq_wavelen)
        return np.where(medium, blended, scaled)


def _yarn_mscale(factor: float, mscale: float | None, mscale_all_dim: float | None) -> float:
    """YaRN's default scale on cos and sin for a context `factor` times the original."""

    def get(m: float) -> float:
        return 1.0 if factor <= 1 else 0.1 * m * math.log(factor) + 1.0

    if mscale and mscale_all_dim:
        return get(mscale) / get(mscale_all_dim)
    return get(1.0)


def rope_tables(rope: RopeConfig, positions: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(cos, sin), each f32[T, D/2], for integer `positions` i32[T] (M-RoPE: i32[3, T]).

    Under longrope each token takes the long frequencies from `original_max_position_embeddings`
    on, by its own position: the K/V already cached keep the rotation they were written with
    (Hugging Face re-rotates a whole sequence once it grows past that length).
    """
    inv_freq = jnp.asarray(rope.inverse_frequencies())  # [D/2]
    if rope.mrope_section:  # each pair turns with one of the three position components
        axis = np.repeat(np.arange(3), rope.mrope_section)  # [D/2]: 0 t, 1 h, 2 w
        if positions.ndim == 1:  # text alone: the same position on every axis
            positions = jnp.broadcast_to(positions, (3, *positions.shape))
        pair_positions = positions[axis].T  # [T, D/2]
        angles = pair_positions.astype(jnp.float32) * inv_freq
        return jnp.cos(angles) * rope.attention_factor, jnp.sin(angles) * rope.attention_factor
    if rope.rope_type == "longrope":
        long = positions >= rope.original_max_position_embeddings  # [T]
        inv_freq = jnp.where(
            long[:, None], jnp.asarray(rope.inverse_frequencies(long=True)), inv_freq
        )  # [T, D/2]
    angles = positions.astype(jnp.float32)[:, None] * inv_freq  # [T, D/2]
    scale = rope.attention_factor
    return jnp.cos(angles) * scale, jnp.sin(angles) * scale


def apply_rope(x: jax.Array, cos: jax.Array, sin: jax.Array) -> jax.Array:
    """Rotates `x` [T, N, D] by position; pairs are (i, i + D/2)."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half].astype(jnp.float32), x[..., half:].astype(jnp.float32)
    c, s = cos[:, None, :], sin[:, None, :]  # [T, 1, D/2]
    out = jnp.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)
    return out.astype(x.dtype)
