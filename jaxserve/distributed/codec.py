"""The leader's runner calls as bytes: msgpack, with numpy arrays as (dtype, shape, raw bytes).

Only plain data crosses (ints, lists, arrays, the sampling mode's flags), never pickles, so a
follower runs nothing but the step it is sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import msgpack
import numpy as np

from jaxserve.engine.packing import SequenceChunk
from jaxserve.model.sampling_mode import SamplingMode

_ARRAY = 1  # msgpack extension type of a numpy array


@dataclasses.dataclass(frozen=True)
class ExecuteCall:
    """One `ModelRunner.execute` call, as the leader made it."""

    chunks: list[SequenceChunk]
    sampling: dict[str, np.ndarray]
    mode: SamplingMode


@dataclasses.dataclass(frozen=True)
class StopCall:
    """The leader is shutting down: the follower returns."""


RunnerCall = ExecuteCall | StopCall


def encode_execute(
    chunks: Sequence[SequenceChunk], sampling: dict[str, np.ndarray], mode: SamplingMode
) -> bytes:
    """The bytes of one `execute(chunks, sampling, mode)` call."""
    return _pack(
        {
            "op": "execute",
            "chunks": [_chunk_fields(c) for c in chunks],
            "sampling": dict(sampling),
            "mode": dataclasses.asdict(mode),
        }
    )


def encode_stop() -> bytes:
    return _pack({"op": "stop"})


def decode_call(payload: bytes) -> RunnerCall:
    """The call `payload` holds; ValueError if it is not one this codec wrote."""
    try:
        message = msgpack.unpackb(payload, ext_hook=_ext_hook, strict_map_key=False)
        op = message["op"]
        if op == "stop":
            return StopCall()
        if op == "execute":
            return ExecuteCall(
                chunks=[_chunk(fields) for fields in message["chunks"]],
                sampling=dict(message["sampling"]),
                mode=SamplingMode(**message["mode"]),
            )
    except (ValueError, KeyError, TypeError, msgpack.UnpackException) as e:
        raise ValueError(f"not a runner call: {type(e).__name__}: {e}") from e
    raise ValueError(f"unknown runner call {op!r}")


def _chunk_fields(chunk: SequenceChunk) -> list[Any]:
    return [
        list(chunk.token_ids),
        chunk.start,
        list(chunk.page_table),
        list(chunk.prompt_targets),
        chunk.mrope_positions,
        [[index, rows] for index, rows in chunk.embeds],
    ]


def _chunk(fields: list[Any]) -> SequenceChunk:
    token_ids, start, page_table, prompt_targets, mrope_positions, embeds = fields
    return SequenceChunk(
        token_ids=token_ids,
        start=start,
        page_table=page_table,
        prompt_targets=prompt_targets,
        mrope_positions=mrope_positions,
        embeds=tuple((index, rows) for index, rows in embeds),
    )


def _pack(message: dict[str, Any]) -> bytes:
    return msgpack.packb(message, default=_default, use_bin_type=True)


def _default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        header = msgpack.packb([array.dtype.str, list(array.shape)])
        return msgpack.ExtType(_ARRAY, header + array.tobytes())
    if isinstance(value, np.integer | np.floating | np.bool_):
        return value.item()
    raise TypeError(f"cannot send a {type(value).__name__} to a follower")


def _ext_hook(code: int, data: bytes) -> Any:
    if code != _ARRAY:
        raise ValueError(f"unknown extension type {code}")
    unpacker = msgpack.Unpacker()
    unpacker.feed(data)
    dtype, shape = unpacker.unpack()
    offset = unpacker.tell()
    return np.frombuffer(data, dtype=np.dtype(dtype), offset=offset).reshape(shape)
