"""MXFP4 (OCP microscaling FP4) codes -> values: how gpt-oss's release checkpoints store experts.

Each byte holds two e2m1 codes, the low nibble first; each block of 32 values shares one
scale byte s, worth 2^(s - 127) (E8M0). Decoding looks every (scale, byte) pair up in a
table of the value pairs it stands for, built in the dtype asked for: every e2m1 value times a
power of two is exact in bfloat16 and float32, so no float32 copy of a weight is ever made
and the values are those transformers' `convert_moe_packed_tensors` gives.
"""

from __future__ import annotations

import numpy as np

BLOCK = 32  # values per scale
# e2m1 (sign bit, two exponent bits, one mantissa bit): codes 0-7 and their negatives, 8-15.
E2M1_MAGNITUDES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
E2M1_VALUES = E2M1_MAGNITUDES + tuple(-v for v in E2M1_MAGNITUDES)
SCALE_BIAS = 127


def _pair_table(dtype: np.dtype) -> np.ndarray:
    """[256 * 256, 2]: row (scale << 8 | byte) holds the byte's two values at that scale."""
    codes = np.arange(256)
    values = np.asarray(E2M1_VALUES)
    pairs = np.stack([values[codes & 0xF], values[codes >> 4]], axis=-1)  # [byte, 2]
    scales = np.exp2(np.arange(256, dtype=np.float64) - SCALE_BIAS)  # exact in float64
    table = scales[:, None, None] * pairs[None]  # [scale, byte, 2]
    # Only scales past the dtype's range overflow (to inf, as torch.ldexp does in
    # transformers' own dequantization); gpt-oss's weights come nowhere near them.
    with np.errstate(over="ignore"):
        return table.reshape(-1, 2).astype(dtype)


def dequantize(blocks: np.ndarray, scales: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """MXFP4 codes and scales -> values, one expert at a time (bounded scratch memory).

    Args:
      blocks: u8[X, R, G, 16], 32 e2m1 codes per (row, block); may be memory-mapped.
      scales: u8[X, R, G], each block's E8M0 scale.
      dtype: what to produce (bfloat16, float16 or float32).

    Returns:
      dtype[X, R, G * 32]: row r of expert x is its 32 * G values in order.
    """
    x, rows, groups, pair_bytes = blocks.shape
    table = _pair_table(np.dtype(dtype))
    out = np.empty((x, rows, groups, pair_bytes, 2), dtype)
    for e in range(x):
        index = (scales[e].astype(np.uint16)[..., None] << 8) | blocks[e]  # [R, G, 16]
        np.take(table, index, axis=0, out=out[e], mode="clip")  # in range: unbuffered
    return out.reshape(x, rows, groups * pair_bytes * 2)
