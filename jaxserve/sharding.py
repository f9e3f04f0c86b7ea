"""Where every array lives: the device mesh and the parameter partition rules, in one place.

One `Mesh` with axes ("data", "model"). Tensor parallelism splits attention heads, KV heads,
the MLP's hidden dimension and the vocabulary over "model"; norms are replicated.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence

import jax
import numpy as np
from flax import traverse_util
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jaxserve.errors import ModelConfigError
from jaxserve.model.config import ModelConfig

logger = logging.getLogger(__name__)

DATA_AXIS = "data"
MODEL_AXIS = "model"
TENSOR_PARALLEL_SIZES = (1, 2, 4, 8)

# Parameter path (as flattened with "/") -> spec. First match wins; every parameter must match.
PARAM_RULES: tuple[tuple[str, P], ...] = (
    (r"^embed$", P(MODEL_AXIS, None)),  # [V, E]
    (r"^lm_head$", P(None, MODEL_AXIS)),  # [E, V]
    (r"^layers/w[qkv]$", P(None, None, MODEL_AXIS, None)),  # [L, E, H|K, D]
    (r"^layers/b[qkv]$", P(None, MODEL_AXIS, None)),  # [L, H|K, D]
    (r"^layers/wo$", P(None, MODEL_AXIS, None, None)),  # [L, H, D, E]
    (r"^layers/sinks$", P(None, MODEL_AXIS)),  # [L, H]
    (r"^layers/bo$", P()),  # [L, E]: added after the heads' sum
    (r"^layers/w_(gate|up)$", P(None, None, MODEL_AXIS)),  # [L, E, F]
    (r"^layers/w_down$", P(None, MODEL_AXIS, None)),  # [L, F, E]
    (r"^layers/[wb]e_(gate|up|down)$", P(None, MODEL_AXIS)),  # [L, X, ...]: experts split
    (r"^layers/(router|router_bias|shared_gate)$", P()),  # [L, E, X], [L, X], [L, E, 1]
    (r"^layers/[kv]_cache_scale$", P(None, MODEL_AXIS, None)),  # [L, K, D]
    (r"^layers/\w+_scale$", P()),  # [L, out]: a pre-quantized matrix's scales
    (r"norm$", P()),  # [E], [L, E], [L, D]
)

KV_CACHE_SPEC = P(None, None, None, MODEL_AXIS, None)  # [L, P, page_size, K, D]


def validate_tensor_parallel(cfg: ModelConfig, tp: int, num_devices: int) -> None:
    """Raises a clear error unless `tp` can split this model over the devices present."""
    if tp not in TENSOR_PARALLEL_SIZES:
        raise ModelConfigError(
            f"tensor_parallel_size must be one of {TENSOR_PARALLEL_SIZES}, got {tp}"
        )
    if tp > num_devices:
        raise ModelConfigError(
            f"tensor_parallel_size={tp} needs {tp} devices but only {num_devices} are visible"
        )
    for name, count in (
        ("num_attention_heads", cfg.num_heads),
        ("num_key_value_heads", cfg.num_kv_heads),
        ("intermediate_size", cfg.intermediate_size),
    ):
        if count % tp:
            raise ModelConfigError(
                f"tensor_parallel_size={tp} does not divide {name}={count}; "
                f"choose a size that divides it"
            )


def make_mesh(tp: int, devices: Sequence[jax.Device]) -> Mesh:
    """A (data=1, model=tp) mesh over the first `tp` devices."""
    return Mesh(np.asarray(devices[:tp]).reshape(1, tp), (DATA_AXIS, MODEL_AXIS))


def param_spec(path: str, shape: tuple[int, ...], mesh: Mesh) -> P:
    """The spec for one parameter; a dimension the mesh cannot split evenly is replicated."""
    spec = next((spec for pattern, spec in PARAM_RULES if re.search(pattern, path)), None)
    if spec is None:
        raise ValueError(f"no sharding rule matches parameter {path!r}")
    axes = list(spec) + [None] * (len(shape) - len(spec))
    for dim, axis in enumerate(axes):
        if axis is not None and shape[dim] % mesh.shape[axis]:
            # Only the vocabulary can get here (heads and MLP sizes were validated).
            logger.info(
                "replicating %s: dimension %d of size %d does not split %d ways",
                path,
                dim,
                shape[dim],
                mesh.shape[axis],
            )
            axes[dim] = None
    return P(*axes)


def param_shardings(shapes: Mapping[str, tuple[int, ...]], mesh: Mesh) -> dict[str, NamedSharding]:
    """Shardings keyed by flattened parameter path ("layers/wq")."""
    return {
        path: NamedSharding(mesh, param_spec(path, shape, mesh)) for path, shape in shapes.items()
    }


def tree_shardings(params: Mapping, mesh: Mesh) -> dict:
    """The same nested structure as `params` (arrays or shape structs), holding shardings."""
    flat = traverse_util.flatten_dict(params, sep="/")
    shardings = param_shardings({k: tuple(v.shape) for k, v in flat.items()}, mesh)
    return traverse_util.unflatten_dict(shardings, sep="/")


def kv_cache_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, KV_CACHE_SPEC)


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())
