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

SUPPORTED_ROPE_TYPES = ("default", "linear", "llama3")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RopeConfig:
    theta: float
    head_dim: int  # D; rotation pairs are (i, i + D/2), as in HF's rotate_half
    rope_type: str = "default"
    factor: float = 1.0
    low_freq_factor: float = 1.0
    high_freq_factor: float = 4.0
    original_max_position_embeddings: int = 8192

    def __post_init__(self) -> None:
        if self.rope_type not in SUPPORTED_ROPE_TYPES:
            raise ModelConfigError(
                f"rope type {self.rope_type!r} is not supported; "
                f"supported: {', '.join(SUPPORTED_ROPE_TYPES)}"
            )

    @classmethod
    def from_hf(cls, hf: Mapping[str, Any], head_dim: int) -> RopeConfig:
        """Reads both layouts: `rope_theta` + `rope_scaling`, and newer `rope_parameters`."""
        params = dict(hf.get("rope_parameters") or {})
        scaling = dict(hf.get("rope_scaling") or {})
        merged = {**params, **scaling}
        rope_type = merged.get("rope_type") or merged.get("type") or "default"
        theta = merged.get("rope_theta", hf.get("rope_theta", 10000.0))
        return cls(
            theta=float(theta),
            head_dim=head_dim,
            rope_type=rope_type,
            factor=float(merged.get("factor", 1.0)),
            low_freq_factor=float(merged.get("low_freq_factor", 1.0)),
            high_freq_factor=float(merged.get("high_freq_factor", 4.0)),
            original_max_position_embeddings=int(
                merged.get("original_max_position_embeddings", 8192)
            ),
        )

    def inverse_frequencies(self) -> np.ndarray:
        """f32[D/2]: the rotation speed of each pair, after any scaling."""
        # float32 throughout, as the reference implementation computes it.
        exponents = np.arange(0, self.head_dim, 2).astype(np.float32) / np.float32(self.head_dim)
        inv_freq = np.float32(1.0) / (np.float32(self.theta) ** exponents)
        if self.rope_type == "linear":
            inv_freq = inv_freq / self.factor
        elif self.rope_type == "llama3":
            inv_freq = self._llama3_scaled(inv_freq)
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
    """(cos, sin), each f32[T, D/2], for integer `positions` i32[T]."""
    inv_freq = jnp.asarray(rope.inverse_frequencies())  # [D/2]
    angles = positions.astype(jnp.float32)[:, None] * inv_freq[None, :]  # [T, D/2]
    return jnp.cos(angles), jnp.sin(angles)


def apply_rope(x: jax.Array, cos: jax.Array, sin: jax.Array) -> jax.Array:
    """Rotates `x` [T, N, D] by position; pairs are (i, i + D/2)."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half].astype(jnp.float32), x[..., half:].astype(jnp.float32)
    c, s = cos[:, None, :], sin[:, None, :]  # [T, 1, D/2]
    out = jnp.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)
    return out.astype(x.dtype)
