"""`jaxserve convert`: a Hugging Face directory loaded as `LLM` loads it, written as a
pre-sharded Orbax checkpoint (`jaxserve.loader.orbax`) that `LLM` restores in its place."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

import platforms
from jaxserve.errors import CheckpointError, ModelConfigError
from jaxserve.loader.checkpoint import HFCheckpoint, open_checkpoint
from jaxserve.loader.orbax import is_converted, write_converted
from jaxserve.loader.weights import load_params
from jaxserve.model.llama import quantize_params
from jaxserve.precision import MATRIX_PARAMS, QUANTIZATIONS, resolve_dtype
from jaxserve.sharding import make_mesh, validate_tensor_parallel

logger = logging.getLogger(__name__)


def check_output(hf_dir: Path, out: Path, *, force: bool) -> bool:
    """Refuses an `out` that would clobber something: the source itself, or a non-empty
    directory unless `force` and it is an earlier conversion; True if that is to be replaced
    (once the new one is written)."""
    if out.resolve() == hf_dir.resolve() or hf_dir.resolve() in out.resolve().parents:
        raise CheckpointError(f"the output {out} must lie outside the model directory {hf_dir}")
    if not out.exists():
        return False
    if not out.is_dir():
        raise CheckpointError(f"the output {out} exists and is not a directory")
    if not any(out.iterdir()):
        out.rmdir()
        return False
    if not force:
        raise CheckpointError(f"the output {out} exists and is not empty; pass --force to replace")
    if not is_converted(out):
        raise CheckpointError(
            f"the output {out} is not empty and not a jaxserve conversion; "
            "--force replaces only an earlier conversion"
        )
    return True


def open_source(hf_dir: str | os.PathLike[str]) -> HFCheckpoint:
    """The HF directory to convert, refused where convert cannot take it yet."""
    ckpt = open_checkpoint(hf_dir)
    if ckpt.config.multimodal is not None:
        raise ModelConfigError(
            f"convert does not support vision-language models yet ({ckpt.config.architecture})"
        )
    return ckpt


def convert(
    hf_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    dtype: str = "auto",
    quantization: str | None = None,
    tensor_parallel_size: int = 1,
    force: bool = False,
) -> Path:
    """Loads the HF checkpoint in `hf_dir` as `LLM` would and writes it to `out` as a
    converted checkpoint, sharded for `tensor_parallel_size` devices.

    Args:
        hf_dir: a local Hugging Face model directory.
        out: the directory to write; it must not exist or be empty (`force`: or hold an
            earlier conversion, which is replaced).
        dtype: the dtype of the float params ("auto": resolved as `LLM` resolves it here);
            layer matrices stored in bfloat16 stay bfloat16.
        quantization: None, "int8" or "fp8" (a pre-quantized checkpoint's own, if None).
        tensor_parallel_size: the devices the stored arrays are split over (the visible
            devices must number at least this many).

    Returns:
        `out`, as a Path.
    """
    hf_path, out_path = Path(hf_dir), Path(out)
    ckpt = open_source(hf_path)
    cfg = ckpt.config
    if quantization not in (None, *QUANTIZATIONS):
        raise ModelConfigError(
            f"quantization must be one of {', '.join(QUANTIZATIONS)} or none, got {quantization!r}"
        )
    if cfg.prequantized is not None:
        if quantization not in (None, cfg.prequantized):
            raise ModelConfigError(
                f"the checkpoint is stored quantized ({cfg.prequantized}); "
                f"quantization={quantization!r} cannot apply to it"
            )
        quantization = cfg.prequantized
    platform = platforms.detect()
    validate_tensor_parallel(cfg, tensor_parallel_size, platform.device_count)
    compute_dtype = resolve_dtype(dtype, platform, ckpt.tensor("model.embed_tokens.weight").dtype)
    replace = check_output(hf_path, out_path, force=force)
    mesh = make_mesh(tensor_parallel_size, platform.devices)
    params = load_params(ckpt, compute_dtype, mesh, keep_bfloat16=MATRIX_PARAMS)
    if quantization is not None:
        params = quantize_params(params, quantization)
    write_converted(
        params,
        ckpt,
        out_path,
        dtype=compute_dtype,
        quantization=quantization,
        tensor_parallel_size=tensor_parallel_size,
        replace=replace,
    )
    logger.info("converted %s to %s (%s, quantization %s, tp %d)", hf_path, out_path,
                np.dtype(compute_dtype).name, quantization, tensor_parallel_size)  # fmt: skip
    return out_path
