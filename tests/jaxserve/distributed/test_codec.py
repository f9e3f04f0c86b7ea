"""Runner calls survive the trip to a follower unchanged; anything else is refused."""

from __future__ import annotations

import dataclasses

import msgpack
import numpy as np
import pytest

from jaxserve.distributed.codec import (
    ExecuteCall,
    StopCall,
    decode_call,
    encode_execute,
    encode_stop,
)
from jaxserve.engine.packing import SequenceChunk
from jaxserve.model.sampling_mode import SamplingMode


def test_an_execute_call_round_trips():
    chunks = [
        SequenceChunk(token_ids=[5, 6, 7], start=0, page_table=[3, 4], prompt_targets=[6, 7]),
        SequenceChunk(
            token_ids=[9],
            start=17,
            page_table=[8, 2],
            mrope_positions=np.arange(3, dtype=np.int32).reshape(3, 1),
            embeds=((0, np.full((1, 4), 0.5, np.float32)),),
        ),
    ]
    sampling = {
        "temperature": np.array([0.0, 0.7], np.float32),
        "seeds": np.array([1, 2**40], np.int64),
    }
    mode = SamplingMode(greedy_only=False, candidates=8, logprobs=True, prompt_logprobs=2)
    call = decode_call(encode_execute(chunks, sampling, mode))
    assert isinstance(call, ExecuteCall)
    assert call.mode == mode
    assert sampling.keys() == call.sampling.keys()
    for name, values in sampling.items():
        assert call.sampling[name].dtype == values.dtype
        np.testing.assert_array_equal(call.sampling[name], values)
    for sent, got in zip(chunks, call.chunks, strict=True):
        for field in ("token_ids", "start", "page_table", "prompt_targets"):
            assert list(np.atleast_1d(getattr(got, field))) == list(
                np.atleast_1d(getattr(sent, field))
            )
    np.testing.assert_array_equal(call.chunks[1].mrope_positions, chunks[1].mrope_positions)
    assert call.chunks[0].mrope_positions is None
    ((index, rows),) = call.chunks[1].embeds
    assert index == 0 and rows.dtype == np.float32
    np.testing.assert_array_equal(rows, chunks[1].embeds[0][1])


def test_stop_round_trips():
    assert decode_call(encode_stop()) == StopCall()


@pytest.mark.parametrize(
    "payload",
    [b"\x00garbage", msgpack.packb({"op": "launch"}), msgpack.packb({"op": "execute"})],
)
def test_anything_else_is_refused(payload):
    with pytest.raises(ValueError, match="runner call"):
        decode_call(payload)


def test_an_unsendable_value_is_named():
    chunk = dataclasses.replace(SequenceChunk([1], 0, [1]), embeds=((0, object()),))
    with pytest.raises(TypeError, match="cannot send a object"):
        encode_execute([chunk], {}, SamplingMode())
