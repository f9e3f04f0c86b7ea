"""What an `LLM` computes and stores in: the compute dtype, weight quantization, the KV
cache's dtype, and the memory plan that sizes the cache from them."""

from __future__ import annotations

import logging

import jax
import jax.numpy as jnp

import platforms
from jaxserve.errors import ModelConfigError
from jaxserve.model.config import ModelConfig
from jaxserve.model.kv_cache import QUANTIZED_KV_DTYPES, kv_cache_bytes_per_page
from jaxserve.model.llama import MATRICES
from pallas_kernels.matmul import MatmulKernel

logger = logging.getLogger(__name__)

DTYPES = {
    "float32": jnp.float32,
    "fp32": jnp.float32,
    "bfloat16": jnp.bfloat16,
    "bf16": jnp.bfloat16,
    "float16": jnp.float16,
    "half": jnp.float16,
    "fp16": jnp.float16,
}

# Weight matrices the platform's matmul may keep in the checkpoint's bfloat16.
MATRIX_PARAMS = tuple(f"layers/{name}" for name in MATRICES)

# The KV cache may take this share of the memory left after the weights.
KV_MEMORY_FRACTION = 0.5

# kv_cache_dtype values: "auto" (the platform's, or the compute dtype), a float dtype, or a
# quantized one.
KV_CACHE_DTYPES = ("auto", "float32", "bfloat16", *QUANTIZED_KV_DTYPES)


def resolve_dtype(dtype: str, platform: platforms.Platform, stored: jnp.dtype) -> jnp.dtype:
    """The compute dtype `dtype` names; "auto" is the platform's choice for weights `stored`."""
    if dtype == "auto":
        return platforms.preferred_compute_dtype(platform, stored)
    if dtype not in DTYPES:
        raise ModelConfigError(f"dtype must be 'auto' or one of {sorted(DTYPES)}, got {dtype!r}")
    return jnp.dtype(DTYPES[dtype])


def resolve_kv_cache_dtype(
    kv_cache_dtype: str, platform: platforms.Platform, dtype: str, compute_dtype: jnp.dtype
) -> jnp.dtype:
    """The dtype the KV pages are stored in. "auto": the platform's where the compute dtype
    is the platform's own choice, else the compute dtype."""
    if kv_cache_dtype not in KV_CACHE_DTYPES:
        raise ModelConfigError(
            f"kv_cache_dtype must be one of {', '.join(KV_CACHE_DTYPES)}, got {kv_cache_dtype!r}"
        )
    if kv_cache_dtype in QUANTIZED_KV_DTYPES:
        return QUANTIZED_KV_DTYPES[kv_cache_dtype]
    if kv_cache_dtype != "auto":
        return jnp.dtype(DTYPES[kv_cache_dtype])
    same = dtype == "auto" and compute_dtype == platform.compute_dtype
    return jnp.dtype(platform.kv_dtype if same else compute_dtype)


QUANTIZATIONS = ("int8", "fp8")


def check_quantization(quantization: str | None, platform: platforms.Platform) -> None:
    """Refuses a quantization this build cannot run, naming the ones it can."""
    if quantization is None or quantization == "int8":
        return
    if quantization not in QUANTIZATIONS:
        raise ModelConfigError(
            f"quantization {quantization!r} is not supported; supported: int8 (weight-only, "
            "per output channel, any platform) and fp8 (e4m3 weight-only, per output channel, "
            "on GPUs with fp8)"
        )
    missing = platforms.fp8_weights(platform)
    if missing is not None:
        raise ModelConfigError(
            f"quantization 'fp8' needs fp8 matmuls: {missing}; supported here: int8"
        )


def weight_conversions(
    kernel: MatmulKernel, activation_dtype: jnp.dtype, tied: bool
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(params kept bfloat16 where stored so, params made bfloat16) for `kernel`'s matmuls."""
    want = platforms.weight_dtype(kernel, activation_dtype)
    if want is None:
        return MATRIX_PARAMS, ()
    if want == jnp.bfloat16 and want != activation_dtype:
        return (), (*MATRIX_PARAMS, "embed" if tied else "lm_head")
    return (), ()


def plan_kv_pages(
    cfg: ModelConfig,
    platform: platforms.Platform,
    params: dict,
    *,
    page_size: int,
    kv_dtype: jnp.dtype,
    compute_dtype: jnp.dtype,
    kv_cache_memory: int | None,
    max_model_len: int,
    max_num_seqs: int,
) -> int:
    """Pages for the KV cache from the memory budget, logged as a memory plan (with what a
    quantized cache saves against the compute dtype's)."""
    per_page = kv_cache_bytes_per_page(cfg, page_size, kv_dtype)
    weight_bytes = sum(x.nbytes for x in jax.tree.leaves(params))
    if kv_cache_memory is None:
        free = platform.memory_bytes * platform.device_count - weight_bytes
        kv_cache_memory = max(int(free * KV_MEMORY_FRACTION), 0)
    pages_per_seq = -(-max_model_len // page_size)
    # Never more than every sequence at full length needs (plus the reserved page).
    num_pages = min(kv_cache_memory // per_page, max_num_seqs * pages_per_seq + 1)
    if num_pages < pages_per_seq + 1:
        raise ModelConfigError(
            f"the KV cache budget of {kv_cache_memory / 2**20:.1f} MiB holds {num_pages} pages "
            f"of {page_size} tokens, fewer than one sequence of max_model_len={max_model_len} "
            f"needs ({pages_per_seq} + 1 reserved); "
            "lower max_model_len or raise kv_cache_memory"
        )
    saving = ""
    if jnp.dtype(kv_dtype).itemsize < jnp.dtype(compute_dtype).itemsize:
        ratio = jnp.dtype(compute_dtype).itemsize / jnp.dtype(kv_dtype).itemsize
        saving = f" ({ratio:.0f}x the tokens of a {jnp.dtype(compute_dtype).name} cache)"
    logger.info(
        "memory plan: weights %.1f MiB, KV cache in %s %d pages x %d tokens (%.1f MiB), "
        "%d tokens%s, max concurrency %.1f at max_model_len=%d",
        weight_bytes / 2**20,
        jnp.dtype(kv_dtype).name,
        num_pages,
        page_size,
        num_pages * per_page / 2**20,
        (num_pages - 1) * page_size,
        saving,
        (num_pages - 1) / pages_per_seq,
        max_model_len,
    )
    return num_pages
