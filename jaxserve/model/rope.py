"""Rotary position embeddings, including Llama 3's frequency-dependent context scaling."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxserve.errors import ModelConfigError

SUPPORTED_ROPE_TYPES = ("default", "linear", "llama3", "longrope")


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

    def __post_init__(self) -> None:
        if self.rope_type not in SUPPORTED_ROPE_TYPES:
            raise ModelConfigError(
                f"rope type {self.rope_type!r} is not supported; "
                f"supported: {', '.join(SUPPORTED_ROPE_TYPES)}"
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
        theta = merged.get("rope_theta", hf.get("rope_theta", 10000.0))
        partial = merged.get("partial_rotary_factor", hf.get("partial_rotary_factor", 1.0))
        if float(partial) != 1.0:
            raise ModelConfigError(f"partial_rotary_factor {partial} is not supported (only 1)")
        original = int(
            merged.get("original_max_position_embeddings")
            or hf.get("original_max_position_embeddings")
            or 8192
        )
        longrope = {}
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
        return inv_freq.astype(np.float32)

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


def rope_tables(rope: RopeConfig, positions: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(cos, sin), each f32[T, D/2], for integer `positions` i32[T].

    Under longrope each token takes the long frequencies from `original_max_position_embeddings`
    on, by its own position: the K/V already cached keep the rotation they were written with
    (Hugging Face re-rotates a whole sequence once it grows past that length).
    """
    inv_freq = jnp.asarray(rope.inverse_frequencies())  # [D/2]
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
