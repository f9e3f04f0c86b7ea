"""The `jaxserve` command line: `run`, `doctor`, `generate`, `convert` and `bench`."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence


def _doctor(args: argparse.Namespace) -> int:
    """Prints the platform, then checks the matmul and every attention kernel; 1 if a check
    that ran failed."""
    import jax

    import platforms
    from platforms import matmul, selfcheck

    platform = platforms.detect()
    print(f"jax {jax.__version__}, backend {jax.default_backend()}")
    print(platform.describe())
    print(f"devices:       {', '.join(str(d) for d in platform.devices)}")
    passed = True
    for dtype in ("float32", "bfloat16"):  # the kernels each compute dtype multiplies with
        ok, detail = matmul.selfcheck(platform, jax.numpy.dtype(dtype))
        print(f"matmul check:  {dtype} {'pass' if ok else 'FAIL'} ({detail})")
        passed &= ok
    print()
    print("attention kernels (self-check: a tiny ragged batch against float64 dense attention)")
    print(selfcheck.HEADER, flush=True)
    failed = not passed
    for result in selfcheck.run_selfchecks(platform):
        print(selfcheck.format_result(result), flush=True)
        failed |= result.passed is False
    return 1 if failed else 0


def _generate(args: argparse.Namespace) -> int:
    from jaxserve import LLM, SamplingParams
    from jaxserve.errors import JaxserveError

    try:
        llm = LLM(
            args.model,
            dtype=args.dtype,
            tensor_parallel_size=args.tensor_parallel_size,
            max_model_len=args.max_model_len,
        )
        params = SamplingParams(
            temperature=0.0, max_tokens=args.max_tokens, ignore_eos=args.ignore_eos
        )
        outputs = llm.generate(args.prompt, params, use_tqdm=False)
    except (JaxserveError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for output in outputs:
        print(
            f"{output.prompt!r} -> {output.outputs[0].text!r} ({output.outputs[0].finish_reason})"
        )
    return 0


def _convert(args: argparse.Namespace) -> int:
    """Writes a HF directory as a pre-sharded Orbax checkpoint; 2 on a bad model or output.

    It runs on the CPU, whatever accelerator the host has (so the accelerator's memory bounds
    nothing, and a checkpoint for N-way tensor parallelism is sharded over N virtual CPU
    devices); JAX must not have started yet, as in this process.
    """
    import jax

    jax.config.update("jax_platforms", "cpu")
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:  # read as the CPU backend starts
        count = f"--xla_force_host_platform_device_count={args.tensor_parallel_size}"
        os.environ["XLA_FLAGS"] = f"{flags} {count}".strip()
    from jaxserve.errors import JaxserveError
    from jaxserve.loader.convert import convert

    try:
        out = convert(
            args.hf_dir,
            args.out,
            dtype=args.dtype,
            quantization=args.quantization,
            tensor_parallel_size=args.tensor_parallel_size,
            force=args.force,
        )
    except (JaxserveError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


def _run(args: argparse.Namespace) -> int:
    """Serves the model of a YAML config until SIGTERM or Ctrl-C; 2 on a bad config or model."""
    from jaxserve.errors import JaxserveError
    from jaxserve.server.config import load_config

    try:
        config = load_config(args.config, host=args.host, port=args.port)
    except JaxserveError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    logging.getLogger().setLevel(config.log_level.upper())
    if config.replicas > 1:
        return _serve_replicas(config)
    from jaxserve import LLM
    from jaxserve.engine import faults
    from jaxserve.server.app import create_app, uvicorn_server

    with contextlib.ExitStack() as stack:
        try:
            cluster = _join(config, args.process_id)  # None: one process
            if config.disaggregated_prefill:  # Ray forks its daemons: before JAX's threads
                from jaxserve.disagg.serve import ray_cluster

                stack.enter_context(ray_cluster())
            step_hook = faults.from_environment()
            llm = LLM(config.model, **config.llm_kwargs())
            if cluster is not None and not cluster.is_leader:
                from jaxserve.distributed.follower import follow

                follow(llm, cluster)  # serves nothing: runs the leader's steps until it stops
                return 0
            leader = None
            if cluster is not None:
                from jaxserve.distributed.leader import lead

                leader = lead(llm, cluster)
            llm.engine.step_hook = step_hook
            if config.disaggregated_prefill:
                _prefill_elsewhere(llm, config, stack)
        except (JaxserveError, ValueError, RuntimeError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        app = create_app(llm, config)
        if leader is not None:  # a lost follower fails the health check, then ends the process
            leader.watch(app.state.engine.fail)
        server = uvicorn_server(app, config)
        server.run()
        if leader is not None:
            leader.stop()
    return 0 if server.started else 1


def _serve_replicas(config) -> int:
    """`jaxserve run` with `replicas > 1`: the front, and the replicas on Ray."""
    from jaxserve.errors import JaxserveError
    from jaxserve.replicas.actors import require_ray

    try:
        require_ray()  # before the front's imports: they need the extra too
        from jaxserve.replicas.app import serve_replicas

        return serve_replicas(config)
    except JaxserveError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _prefill_elsewhere(llm, config, stack: contextlib.ExitStack) -> None:
    """Starts the config's prefill worker on Ray (joined already) and makes `llm`'s engine
    decode what it hands off, until `stack` closes."""
    import ray

    from jaxserve.disagg.serve import decode_remotely, start_prefill_worker

    prefill = start_prefill_worker(config.model, config.llm_kwargs())
    stack.callback(ray.kill, prefill)
    stack.enter_context(decode_remotely(llm, prefill))


def _join(config, process_id: int | None):
    """Joins the config's distributed job, if it has one (before JAX starts a backend)."""
    from jaxserve.errors import JaxserveError

    if config.distributed is None:
        if process_id is not None:
            raise JaxserveError("--process-id needs a 'distributed' section in the config")
        return None
    from jaxserve.distributed.runtime import join

    return join(config.distributed.with_process_id(process_id))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jaxserve", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve a model over an OpenAI-compatible HTTP API")
    run.add_argument("config", help="YAML config file (see configs/default.yaml)")
    run.add_argument("--host", default=None, help="overrides the config's host")
    run.add_argument("--port", type=int, default=None, help="overrides the config's port")
    run.add_argument(
        "--process-id",
        type=int,
        default=None,
        help="this process's rank in the config's distributed job (0 serves; others follow)",
    )
    run.set_defaults(func=_run)
    doctor = sub.add_parser("doctor", help="print the platform and self-check attention kernels")
    doctor.set_defaults(func=_doctor)
    gen = sub.add_parser("generate", help="greedy generation from a local HF model directory")
    gen.add_argument("--model", required=True, help="Hugging Face model directory")
    gen.add_argument("--prompt", action="append", required=True, help="repeat for a batch")
    gen.add_argument("--max-tokens", type=int, default=32)
    gen.add_argument("--max-model-len", type=int, default=None)
    gen.add_argument("--dtype", default="auto")
    gen.add_argument("--tensor-parallel-size", type=int, default=1)
    gen.add_argument("--ignore-eos", action="store_true")
    gen.set_defaults(func=_generate)
    conv = sub.add_parser(
        "convert", help="write a HF model directory as a pre-sharded Orbax checkpoint"
    )
    conv.add_argument("hf_dir", help="Hugging Face model directory")
    conv.add_argument("out", help="output directory (must not exist, or be empty)")
    conv.add_argument("--quantization", choices=("int8", "fp8"), default=None)
    conv.add_argument("--tensor-parallel-size", type=int, default=1)
    conv.add_argument("--dtype", default="auto", help="float params' dtype (default: auto)")
    conv.add_argument(
        "--force", action="store_true", help="replace OUT if it holds an earlier conversion"
    )
    conv.set_defaults(func=_convert)
    from jaxserve import bench

    bench.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # Orbax (convert, and run on a converted model) logs each step of a save or restore there.
    logging.getLogger("absl").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
