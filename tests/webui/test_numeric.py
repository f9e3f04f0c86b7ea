"""Numeric components: what Number sends for the values JSON cannot write."""

from __future__ import annotations

import math

import numpy as np

import webui as gr


def test_number_sends_non_finite_values_as_gradios_encoder_does() -> None:
    number = gr.Number()
    assert number.postprocess(math.nan) is None  # orjson writes a float's NaN as null
    assert number.postprocess(np.float64("nan")) == "nan"  # numpy's scalars fall back to str()
    assert number.postprocess(np.float32("-inf")) == "-inf"
    assert number.postprocess(np.float64(2.5)) == 2.5
    assert number.postprocess(np.int64(4)) == 4
