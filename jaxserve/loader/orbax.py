"""Pre-sharded Orbax checkpoints: `jaxserve convert` writes one from a Hugging Face directory,
and `LLM` restores its params straight into the tensor-parallel layout.

The stage stored is the params pytree as `load_params` and `quantize_params` leave it, before
`prepare_params`: that one lays weights out for the host's matmul kernel, and a converted
checkpoint must restore on any host. The host-independent form keeps every layer matrix the
checkpoint stores in bfloat16 as bfloat16 and every other float param in the conversion's
dtype; at restore each param is cast (by Orbax, as it reads) to the dtype this host's
`load_params` would have given it, so the model the host runs is the one it would have loaded
from the Hugging Face directory. Quantized matrices (`QuantizedMatrix`: codes and scales) are
stored as they are.

    OUT/
        jaxserve_checkpoint.json   format version, dtypes, quantization, the param tree
        params/                    the Orbax (OCDBT) checkpoint of the params
        config.json, tokenizer.json, ...   every other file of the HF directory, copied

The metadata file is written last and the directory renamed into place at the end, so a
conversion cut short never looks complete.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import jax
import numpy as np
from flax import traverse_util
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxserve.errors import CheckpointError, ModelConfigError
from jaxserve.loader.checkpoint import HFCheckpoint, read_configs
from jaxserve.loader.weights import param_dtype, tensor_rules
from jaxserve.sharding import MODEL_AXIS, param_shardings
from pallas_kernels.matmul import QuantizedMatrix

logger = logging.getLogger(__name__)

FORMAT = "jaxserve-orbax"
FORMAT_VERSION = 1
METADATA_FILE = "jaxserve_checkpoint.json"
PARAMS_DIR = "params"
# What Orbax writes last into PARAMS_DIR: the tree's metadata, the array index, its commit mark.
ORBAX_FILES = ("_METADATA", "manifest.ocdbt", "_CHECKPOINT_METADATA")
# Weight files stay behind: the params directory replaces them.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".h5", ".msgpack")
WEIGHT_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")

# How a quantized layer matrix `q[L, in, out]` (heads folded) splits over "model": on the axis
# its float form splits (`jaxserve.sharding.PARAM_RULES`); experts `q[L, X, in, out]` by expert.
QUANTIZED_SPECS = {
    "layers/wq": P(None, None, MODEL_AXIS),
    "layers/wk": P(None, None, MODEL_AXIS),
    "layers/wv": P(None, None, MODEL_AXIS),
    "layers/wo": P(None, MODEL_AXIS, None),
    "layers/w_gate": P(None, None, MODEL_AXIS),
    "layers/w_up": P(None, None, MODEL_AXIS),
    "layers/w_down": P(None, MODEL_AXIS, None),
    "layers/we_gate": P(None, MODEL_AXIS),
    "layers/we_up": P(None, MODEL_AXIS),
    "layers/we_down": P(None, MODEL_AXIS),
    "lm_head": P(None, MODEL_AXIS),  # [E, V], a tied model's too (from the embeddings)
}


@dataclasses.dataclass(frozen=True)
class ConvertedCheckpoint:
    """A `jaxserve convert` output directory, opened: its config and its metadata.

    Attributes:
        checkpoint: the directory as an `HFCheckpoint` without tensors (config, generation
            defaults, end-of-sequence ids).
        source_dtype: what the Hugging Face checkpoint stored its embeddings in (the dtype
            `dtype="auto"` resolves from, as for the HF directory).
        quantization: None, "int8" or "fp8", as converted.
        metadata: the whole metadata file.
    """

    checkpoint: HFCheckpoint
    source_dtype: np.dtype
    quantization: str | None
    metadata: dict

    @property
    def path(self) -> Path:
        return self.checkpoint.path

    def check_quantization(self, quantization: str | None) -> str | None:
        """The quantization to run with: the conversion's; a different one asked is refused."""
        if quantization not in (None, self.quantization):
            raise ModelConfigError(
                f"{self.path} was converted with quantization={self.quantization!r}; "
                f"quantization={quantization!r} cannot apply to it (convert again with "
                f"--quantization {quantization}, or leave quantization unset)"
            )
        return self.quantization

    def restore_params(
        self,
        dtype: np.dtype,
        mesh: Mesh,
        *,
        keep_bfloat16: tuple[str, ...] = (),
        as_bfloat16: tuple[str, ...] = (),
    ) -> dict:
        """The params pytree, as `load_params` (then `quantize_params`) would give it for
        compute in `dtype` over `mesh`; each device's shards read straight into place.

        Raises:
            CheckpointError: the params directory is missing, partial or corrupt.
        """
        import orbax.checkpoint as ocp

        target = _restore_target(self, np.dtype(dtype), mesh, keep_bfloat16, as_bfloat16)
        params_dir = self.path / PARAMS_DIR
        missing = [name for name in ORBAX_FILES if not (params_dir / name).exists()]
        if missing:
            raise CheckpointError(
                f"{params_dir} is not a complete jaxserve Orbax checkpoint (no "
                f"{', '.join(missing)}); convert the model again"
            )
        logger.info("restoring params from %s over %d device(s)", params_dir, mesh.size)
        try:
            with ocp.StandardCheckpointer() as checkpointer:
                restored = checkpointer.restore(params_dir.absolute(), target)
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            # tensorstore's first line, without the JSON spec it appends
            reason = (str(e).strip() or type(e).__name__).splitlines()[0].split(" [")[0]
            raise CheckpointError(
                f"{params_dir} is not a complete jaxserve Orbax checkpoint ({reason[:300]}); "
                "convert the model again"
            ) from None
        flat = traverse_util.flatten_dict(restored, sep="/")
        params = {}
        for path in self.metadata["params"]:
            if path in self.metadata["quantized"]:
                params[path] = QuantizedMatrix(flat[path + "/q"], flat[path + "/scale"])
            else:
                params[path] = flat[path]
        return traverse_util.unflatten_dict(params, sep="/")


def is_converted(path: str | os.PathLike[str]) -> bool:
    """Whether `path` is a `jaxserve convert` output (it holds the metadata file)."""
    return (Path(path) / METADATA_FILE).is_file()


def open_converted(path: str | os.PathLike[str]) -> ConvertedCheckpoint:
    """Reads a converted checkpoint's metadata and config (no weights).

    Raises:
        CheckpointError: the metadata is unreadable, of another format, or of a newer version.
    """
    root = Path(path)
    meta_path = root / METADATA_FILE
    try:
        metadata = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"cannot read {meta_path}: {e}") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise CheckpointError(f"{meta_path} is not a {FORMAT} metadata file")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{root} is a {FORMAT} checkpoint of format version {version!r}; this jaxserve "
            f"reads version {FORMAT_VERSION}: convert the model again"
        )
    ckpt = _tensorless_checkpoint(root)
    return ConvertedCheckpoint(
        ckpt, np.dtype(metadata["source_dtype"]), metadata["quantization"], metadata
    )


def _tensorless_checkpoint(root: Path) -> HFCheckpoint:
    """The directory's configs as an `HFCheckpoint` that holds no tensors."""
    hf_config, config, generation_config = read_configs(root)
    return HFCheckpoint(root, hf_config, config, generation_config, {})


def _restore_target(
    converted: ConvertedCheckpoint,
    dtype: np.dtype,
    mesh: Mesh,
    keep_bfloat16: tuple[str, ...],
    as_bfloat16: tuple[str, ...],
) -> dict:
    """The Orbax target: each stored array's shape, the dtype to cast it to, its sharding."""
    cfg = converted.checkpoint.config
    meta = converted.metadata
    plain = {
        path: tuple(info["shape"])
        for path, info in meta["arrays"].items()
        if path.rsplit("/", 1)[0] not in meta["quantized"]
    }
    shardings = param_shardings(plain, mesh)
    target = {}
    for path, info in meta["arrays"].items():
        shape = tuple(info["shape"])
        param, _, part = path.rpartition("/")
        if param in meta["quantized"]:
            spec = QUANTIZED_SPECS[param]
            if part == "scale":  # [..., out]: the in axis dropped
                spec = P(*spec[: len(shape) - 1], *spec[len(shape) :])
            sharding = NamedSharding(mesh, _divisible(spec, shape, mesh))
            want = np.dtype(info["dtype"])
        else:
            sharding = shardings[path]
            sources = [np.dtype(d) for d in meta["params"][path]]
            want = param_dtype(path, sources, dtype, cfg, keep_bfloat16, as_bfloat16)
        target[path] = jax.ShapeDtypeStruct(shape, want, sharding=sharding)
    return traverse_util.unflatten_dict(target, sep="/")


def _divisible(spec: P, shape: tuple[int, ...], mesh: Mesh) -> P:
    """`spec` for an array of `shape`, padded to its rank, with any axis that does not split
    evenly (an odd vocabulary) replicated, as `jaxserve.sharding.param_spec` does."""
    axes = [*spec, *[None] * (len(shape) - len(spec))][: len(shape)]
    return P(
        *(a if a is None or shape[d] % mesh.shape[a] == 0 else None for d, a in enumerate(axes))
    )


def write_converted(
    params: dict,
    ckpt: HFCheckpoint,
    out: Path,
    *,
    dtype: np.dtype,
    quantization: str | None,
    tensor_parallel_size: int,
    replace: bool = False,
) -> None:
    """Writes `params` (a `load_params`/`quantize_params` pytree) and `ckpt`'s other files as
    a converted checkpoint in `out`: built beside it and renamed at the end, after removing
    an `out` that exists where `replace`.
    """
    import orbax.checkpoint as ocp

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        stored, quantized = _storable(params)
        with ocp.StandardCheckpointer() as checkpointer:
            checkpointer.save((staging / PARAMS_DIR).absolute(), stored)
        _copy_other_files(ckpt.path, staging)
        metadata = _metadata(ckpt, stored, quantized, dtype, quantization, tensor_parallel_size)
        (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=1) + "\n")
        if replace:
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _storable(params: dict) -> tuple[dict, list[str]]:
    """`params` with each `QuantizedMatrix` as {"q", "scale"}; and the paths that were."""
    flat = traverse_util.flatten_dict(params, sep="/", is_leaf=_is_matrix)
    arrays, quantized = {}, []
    for path, value in flat.items():
        if isinstance(value, QuantizedMatrix):
            arrays[path + "/q"], arrays[path + "/scale"] = value.q, value.scale
            quantized.append(path)
        else:
            arrays[path] = value
    return traverse_util.unflatten_dict(arrays, sep="/"), quantized


def _is_matrix(_path: tuple, value: object) -> bool:
    return isinstance(value, QuantizedMatrix)


def _source_dtypes(ckpt: HFCheckpoint) -> dict[str, list[str]]:
    """Param path -> the dtypes the HF checkpoint stores its tensors in."""
    cfg = ckpt.config
    return {
        path: sorted({ckpt.tensor(n).dtype.name for n in rule.stored_names(cfg.num_layers)})
        for path, rule in tensor_rules(cfg).items()
    }


def _metadata(
    ckpt: HFCheckpoint,
    stored: dict,
    quantized: list[str],
    dtype: np.dtype,
    quantization: str | None,
    tensor_parallel_size: int,
) -> dict:
    sources = _source_dtypes(ckpt)
    flat = traverse_util.flatten_dict(stored, sep="/")
    params = sorted({p.rsplit("/", 1)[0] if p.rsplit("/", 1)[0] in quantized else p for p in flat})
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": ckpt.config.architecture,
        "source": str(ckpt.path.absolute()),
        "source_dtype": ckpt.tensor("model.embed_tokens.weight").dtype.name,
        "dtype": np.dtype(dtype).name,
        "quantization": quantization,
        "tensor_parallel_size": tensor_parallel_size,
        "quantized": sorted(quantized),
        # param path -> the HF dtypes of its tensors (a tied model's quantized head: none)
        "params": {p: sources.get(p, []) for p in params},
        "arrays": {
            path: {"shape": list(a.shape), "dtype": np.dtype(a.dtype).name}
            for path, a in sorted(flat.items())
        },
    }


def _copy_other_files(source: Path, out: Path) -> None:
    """Copies config.json, the tokenizer and every other top-level file but the weights."""
    for path in sorted(source.iterdir()):
        if (
            path.is_file()
            and path.name not in WEIGHT_INDEXES
            and path.suffix not in WEIGHT_SUFFIXES
        ):
            shutil.copy2(path, out / path.name)
