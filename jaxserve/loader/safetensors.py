"""A strict, memory-mapped reader of the safetensors format.

The format is an 8-byte little-endian header length, a JSON header mapping each tensor name
to its dtype, shape and byte range, then the raw bytes. Reading it ourselves lets every
malformed file fail with a message naming the file and what is wrong with it, and keeps
tensors memory-mapped until they are converted.
"""

from __future__ import annotations

import json
import math
import os
import struct

import ml_dtypes
import numpy as np

from jaxserve.errors import CheckpointError

DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype(np.float64),
    "F32": np.dtype(np.float32),
    "F16": np.dtype(np.float16),
    "BF16": np.dtype(ml_dtypes.bfloat16),
    "I64": np.dtype(np.int64),
    "I32": np.dtype(np.int32),
    "I16": np.dtype(np.int16),
    "I8": np.dtype(np.int8),
    "U8": np.dtype(np.uint8),
    "BOOL": np.dtype(np.bool_),
    "F8_E4M3": np.dtype(ml_dtypes.float8_e4m3fn),
    "F8_E5M2": np.dtype(ml_dtypes.float8_e5m2),
}

_MAX_HEADER_BYTES = 100 * 2**20


class SafetensorsFile:
    """The tensors of one `.safetensors` file, validated on open, mapped on demand."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.fspath(path)
        self._entries, self._data_start = self._read_header()
        self._mmap: np.memmap | None = None

    def _fail(self, why: str) -> CheckpointError:
        return CheckpointError(f"corrupt safetensors file {self.path}: {why}")

    def _read_header(self) -> tuple[dict[str, tuple[np.dtype, tuple[int, ...], int, int]], int]:
        try:
            size = os.path.getsize(self.path)
            with open(self.path, "rb") as f:
                prefix = f.read(8)
                if len(prefix) < 8:
                    raise self._fail(f"only {size} bytes, too short for a header")
                (header_len,) = struct.unpack("<Q", prefix)
                if header_len > min(size - 8, _MAX_HEADER_BYTES):
                    raise self._fail(f"header length {header_len} exceeds the file ({size} bytes)")
                raw = f.read(header_len)
        except FileNotFoundError:
            raise CheckpointError(f"weight file not found: {self.path}") from None
        try:
            header = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise self._fail(f"header is not valid JSON ({e})") from None
        if not isinstance(header, dict):
            raise self._fail("header is not a JSON object")
        data_start = 8 + header_len
        data_len = size - data_start
        entries = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            try:
                dtype = DTYPES[info["dtype"]]
                shape = tuple(int(d) for d in info["shape"])
                start, end = (int(o) for o in info["data_offsets"])
            except (KeyError, TypeError, ValueError):
                raise self._fail(f"tensor {name!r} has a malformed entry {info!r}") from None
            if not 0 <= start <= end <= data_len:
                raise self._fail(
                    f"tensor {name!r} spans bytes {start}..{end} but the data is {data_len} bytes "
                    "(truncated file?)"
                )
            if end - start != math.prod(shape) * dtype.itemsize:
                raise self._fail(f"tensor {name!r} has {end - start} bytes for shape {shape}")
            entries[name] = (dtype, shape, start, end)
        return entries, data_start

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def keys(self) -> list[str]:
        return list(self._entries)

    def shape(self, name: str) -> tuple[int, ...]:
        return self._entries[name][1]

    def dtype(self, name: str) -> np.dtype:
        return self._entries[name][0]

    def get(self, name: str) -> np.ndarray:
        """The tensor as a read-only memory-mapped array (no copy)."""
        dtype, shape, start, end = self._entries[name]
        if self._mmap is None:
            self._mmap = np.memmap(self.path, dtype=np.uint8, mode="r")
        raw = self._mmap[self._data_start + start : self._data_start + end]
        return raw.view(dtype).reshape(shape)
