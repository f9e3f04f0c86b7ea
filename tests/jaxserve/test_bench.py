"""`jaxserve bench`: its arguments, and the single-stream workload on a tiny model."""

from __future__ import annotations

import re

import pytest

from jaxserve import bench
from jaxserve.cli import build_parser, main
from tests.tiny_models import TinySpec


def parse(*argv: str):
    return build_parser().parse_args(["bench", *argv])


def test_single_stream_defaults_to_128_in_128_out_and_three_repeats():
    args = parse("single-stream", "--model", "m")
    assert args.func is bench.single_stream
    assert (args.input_len, args.output_len, args.repeats, args.seed) == (128, 128, 3, 0)
    assert not hasattr(args, "num_prompts")  # one sequence: there is no N to set


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--output-len", "1", "must be at least 2, got 1"),
        ("--repeats", "0", "must be at least 1, got 0"),
        ("--input-len", "0", "must be at least 1, got 0"),
        ("--output-len", "many", "expected an integer, got 'many'"),
    ],
)
def test_single_stream_rejects_sizes_it_cannot_time(flag, value, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse("single-stream", "--model", "m", flag, value)
    assert exit_info.value.code == 2
    assert f"argument {flag}: {message}" in capsys.readouterr().err


def test_throughput_still_takes_one_output_token_and_rejects_no_prompts(capsys):
    assert parse("throughput", "--model", "m", "--output-len", "1").output_len == 1
    with pytest.raises(SystemExit):
        parse("throughput", "--model", "m", "--num-prompts", "0")
    assert "argument --num-prompts: must be at least 1, got 0" in capsys.readouterr().err


def test_random_prompts_stay_inside_the_id_range_and_follow_the_seed():
    prompts = bench.random_prompts(3, 50, seed=7, high=20)
    ids = [t for p in prompts for t in p["prompt_token_ids"]]
    assert len(ids) == 150 and min(ids) >= 3 and max(ids) < 20
    assert prompts == bench.random_prompts(3, 50, seed=7, high=20)
    assert prompts != bench.random_prompts(3, 50, seed=8, high=20)


@pytest.mark.cpu
def test_single_stream_prints_ttft_and_tpot_per_repeat(tiny_checkpoints, capsys):
    path = tiny_checkpoints(TinySpec("bench", "LlamaForCausalLM"))
    argv = ["bench", "single-stream", "--model", path, "--input-len", "8", "--output-len", "5"]
    sizes = ["--repeats", "2", "--max-model-len", "64", "--max-num-seqs", "4"]
    assert main([*argv, *sizes, "--max-num-batched-tokens", "32"]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("RESULT")]
    assert "engine=jaxserve single-stream in=8 out=5 repeats=2 " in line
    fields = dict(re.findall(r"(\w+)=([\d.,]+)", line))
    assert float(fields["ttft_ms"]) > 0 and float(fields["tpot_ms"]) > 0
    assert len(fields["tpot_ms_all"].split(",")) == 2
