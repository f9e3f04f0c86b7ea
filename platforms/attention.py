"""Ragged paged attention implementations behind one call signature, and which one runs.

The model calls every implementation the same way (`jaxserve/model/attention.py`):
`fn(q, k_pages, v_pages, kv_lens, page_indices, cu_q_lens, num_seqs, *, sm_scale,
sliding_window, block_q)`, with `soft_cap` and `sinks` where the model has them. The jnp
reference takes that as is; each Pallas kernel gets an adapter that binds `interpret`, passes
the score options on and turns `block_q` (1 for decode-only steps, 16 for steps with prompt
chunks) into the kernel's own block sizes through the kernel module's picker.

Kernel modules are imported on first use. One that fails to import (a jax without Mosaic GPU,
Pallas Triton removed upstream) only marks that kernel unavailable, with the reason; a CPU
start never imports the GPU kernels.

`attention_backend` overrides the platform's choice:

- "auto" or None: `platform.attention`: on CPU the native kernel (`cpu_native`, compiled
  on first use; the reference where it cannot be built), elsewhere the Pallas kernel;
- "reference": the jnp reference compiled by XLA, on any platform;
- "pallas": the platform's Pallas kernel, compiled (an error on CPU, where Pallas only
  interprets);
- "pallas-interpret": the platform's Pallas kernel in interpret mode. On CPU that is the TPU
  kernel in TPU interpret mode, JAX's most complete Pallas interpreter (DMAs, semaphores).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
import warnings
from collections.abc import Callable
from types import ModuleType

import jax

from pallas_kernels.ragged_paged_attention.reference import (
    DEFAULT_MASK_VALUE,
    ragged_paged_attention_reference,
)
from platforms.base import NATIVE_ATTENTION, AttentionImpl, Platform

logger = logging.getLogger(__name__)

ATTENTION_BACKENDS = ("auto", "reference", "pallas", "pallas-interpret")

KERNEL_MODULES: dict[AttentionImpl, str] = {
    "reference": "pallas_kernels.ragged_paged_attention.reference",
    "cpu_native": "pallas_kernels.ragged_paged_attention.cpu",
    "pallas_tpu": "pallas_kernels.ragged_paged_attention.tpu",
    "pallas_triton": "pallas_kernels.ragged_paged_attention.triton",
    "pallas_mosaic_gpu": "pallas_kernels.ragged_paged_attention.mosaic_gpu",
}


class AttentionBackendError(ValueError):
    """An `attention_backend` that is unknown, or that this platform cannot run."""


@dataclasses.dataclass(frozen=True)
class KernelStatus:
    """Whether an implementation's module imports in this process, and if not, why."""

    impl: AttentionImpl
    module: ModuleType | None
    reason: str = ""  # the import error, when `module` is None
    notes: tuple[str, ...] = ()  # warnings the import raised, e.g. an upstream deprecation

    @property
    def available(self) -> bool:
        return self.module is not None


def kernel_status(impl: AttentionImpl) -> KernelStatus:
    """Imports `impl`'s module (once per process) and reports how that went."""
    module, reason, notes = import_kernel(KERNEL_MODULES[impl])
    return KernelStatus(impl, module, reason, notes)


@functools.cache
def import_kernel(name: str) -> tuple[ModuleType | None, str, tuple[str, ...]]:
    """Imports kernel module `name` once per process: (module or None, why not, warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            module = importlib.import_module(name)
        except Exception as e:  # a broken kernel module must not stop start-up
            return None, f"{type(e).__name__}: {e}", ()
    notes = tuple(f"{w.category.__name__}: {w.message}" for w in caught)
    for note in notes:
        logger.warning("importing %s: %s", name, note)
    return module, "", notes


def _module(impl: AttentionImpl) -> ModuleType:
    status = kernel_status(impl)
    if status.module is None:
        raise AttentionBackendError(f"attention kernel {impl} is unavailable: {status.reason}")
    return status.module


def resolve_attention(platform: Platform, backend: str | None = None) -> tuple[AttentionImpl, bool]:
    """(implementation, interpret) that an `attention_backend` value selects on `platform`.

    Raises:
        AttentionBackendError: for an unknown value, or "pallas" where kernels only interpret.
    """
    backend = "auto" if backend is None else backend
    if backend not in ATTENTION_BACKENDS:
        raise AttentionBackendError(
            f"attention_backend must be one of {', '.join(map(repr, ATTENTION_BACKENDS))}"
            f" or None, got {backend!r}"
        )
    if backend == "auto":
        return platform.attention, platform.interpret and platform.attention not in NATIVE_ATTENTION
    if backend == "reference":
        return "reference", False
    if backend == "pallas" and platform.interpret:
        raise AttentionBackendError(
            f"attention_backend='pallas' compiles the platform's Pallas kernel, but on"
            f" {platform.kind} Pallas kernels only run in interpret mode: use 'pallas-interpret'"
            f" ({platform.pallas_attention} interpreted) or 'reference'"
        )
    return platform.pallas_attention, backend == "pallas-interpret"


def attention_fn(platform: Platform, backend: str | None = None) -> Callable[..., jax.Array]:
    """The ragged paged attention `attention_backend` selects on `platform` (None: its own).

    Raises:
        AttentionBackendError: for an unknown value, "pallas" on CPU, or a kernel whose module
            does not import here.
    """
    impl, interpret = resolve_attention(platform, backend)
    return implementation(impl, interpret=interpret)


def implementation(impl: AttentionImpl, *, interpret: bool = False) -> Callable[..., jax.Array]:
    """`impl` behind the common call signature (a partial, so compile caches can name it)."""
    _module(impl)  # fail here, with the reason, rather than at the first step
    if impl == "reference":
        return ragged_paged_attention_reference
    if impl == "cpu_native":
        return _module(impl).ragged_paged_attention_cpu  # type: ignore[no-any-return]
    return functools.partial(_ADAPTERS[impl], interpret=interpret)


def with_available_attention(platform: Platform) -> Platform:
    """`platform`, its default attention swapped for the reference if that does not import."""
    status = kernel_status(platform.attention)
    if status.available:
        return platform
    logger.warning(
        "attention kernel %s is unavailable (%s); using the jnp reference",
        platform.attention,
        status.reason,
    )
    return dataclasses.replace(platform, attention="reference")


def _decode_hint(num_tokens: int, num_slots: int, block_q: int) -> int:
    """T as the pickers should see it: a decode-only step (`block_q == 1`) has T <= S."""
    return min(num_tokens, num_slots) if block_q == 1 else num_tokens


def _pallas_tpu(
    q: jax.Array,  # [T, H, D]
    k_pages: jax.Array,  # [P, page_size, K, D]
    v_pages: jax.Array,  # [P, page_size, K, D]
    kv_lens: jax.Array,  # i32[S]
    page_indices: jax.Array,  # i32[S, pages_per_seq]
    cu_q_lens: jax.Array,  # i32[S + 1]
    num_seqs: jax.Array,  # i32[1]
    *,
    sm_scale: float = 1.0,
    sliding_window: int | None = None,
    soft_cap: float | None = None,
    sinks: jax.Array | None = None,  # f32[H]
    mask_value: float = DEFAULT_MASK_VALUE,
    block_q: int = 1,
    interpret: bool = False,
) -> jax.Array:  # [T, H, D]
    """The Mosaic TPU kernel, block sizes from its picker for this TPU generation."""
    tpu = _module("pallas_tpu")
    num_slots, pages_per_seq = page_indices.shape
    queries, pages = tpu.pick_block_sizes(
        head_dim=q.shape[2],
        page_size=k_pages.shape[1],
        pages_per_seq=pages_per_seq,
        num_tokens=_decode_hint(q.shape[0], num_slots, block_q),
        num_slots=num_slots,
    )
    return tpu.ragged_paged_attention_tpu(
        q, k_pages, v_pages, kv_lens, page_indices, cu_q_lens, num_seqs,
        sm_scale=sm_scale, sliding_window=sliding_window, soft_cap=soft_cap, sinks=sinks,
        mask_value=mask_value, num_queries_per_block=queries, num_kv_pages_per_block=pages,
        interpret=interpret,
    )  # fmt: skip


def _pallas_triton(
    q: jax.Array,  # [T, H, D]
    k_pages: jax.Array,  # [P, page_size, K, D]
    v_pages: jax.Array,  # [P, page_size, K, D]
    kv_lens: jax.Array,  # i32[S]
    page_indices: jax.Array,  # i32[S, pages_per_seq]
    cu_q_lens: jax.Array,  # i32[S + 1]
    num_seqs: jax.Array,  # i32[1]
    *,
    sm_scale: float = 1.0,
    sliding_window: int | None = None,
    soft_cap: float | None = None,
    sinks: jax.Array | None = None,  # f32[H]
    mask_value: float = DEFAULT_MASK_VALUE,
    block_q: int = 1,
    interpret: bool = False,
) -> jax.Array:  # [T, H, D]
    """The Pallas Triton kernel, block sizes and launch parameters from its picker."""
    triton = _module("pallas_triton")
    num_slots, pages_per_seq = page_indices.shape
    picked = triton.pick_block_sizes(
        num_heads=q.shape[1],
        num_kv_heads=k_pages.shape[2],
        head_dim=q.shape[2],
        page_size=k_pages.shape[1],
        pages_per_seq=pages_per_seq,
        num_tokens=_decode_hint(q.shape[0], num_slots, block_q),
        num_slots=num_slots,
    )
    return triton.ragged_paged_attention_triton(
        q, k_pages, v_pages, kv_lens, page_indices, cu_q_lens, num_seqs,
        sm_scale=sm_scale, sliding_window=sliding_window, soft_cap=soft_cap, sinks=sinks,
        mask_value=mask_value, **picked._asdict(), interpret=interpret,
    )  # fmt: skip


def _pallas_mosaic_gpu(
    q: jax.Array,  # [T, H, D]
    k_pages: jax.Array,  # [P, page_size, K, D]
    v_pages: jax.Array,  # [P, page_size, K, D]
    kv_lens: jax.Array,  # i32[S]
    page_indices: jax.Array,  # i32[S, pages_per_seq]
    cu_q_lens: jax.Array,  # i32[S + 1]
    num_seqs: jax.Array,  # i32[1]
    *,
    sm_scale: float = 1.0,
    sliding_window: int | None = None,
    soft_cap: float | None = None,
    sinks: jax.Array | None = None,  # f32[H]
    mask_value: float = DEFAULT_MASK_VALUE,
    block_q: int = 1,
    interpret: bool = False,
) -> jax.Array:  # [T, H, D]
    """The Mosaic GPU kernel, block sizes and KV splits from its picker.

    Its queries per block are fixed, so `block_q` only says whether the step decodes.

    It takes only bf16/f16 and head dims that fill its swizzle; for anything else (a
    `dtype="float32"` model on a Hopper GPU, an int8 or fp8 `kv_cache_dtype`) the step falls
    back to the Triton kernel, or to the reference where Triton does not import.
    """
    args = (q, k_pages, v_pages, kv_lens, page_indices, cu_q_lens, num_seqs)
    options = dict(
        sm_scale=sm_scale,
        sliding_window=sliding_window,
        soft_cap=soft_cap,
        sinks=sinks,
        mask_value=mask_value,
    )
    mosaic = _module("pallas_mosaic_gpu")
    num_slots, pages_per_seq = page_indices.shape
    picked = mosaic.pick_block_sizes(
        head_dim=q.shape[2],
        page_size=k_pages.shape[1],
        pages_per_seq=pages_per_seq,
        num_kv_heads=k_pages.shape[2],
        num_tokens=_decode_hint(q.shape[0], num_slots, block_q),
        num_slots=num_slots,
    )
    try:
        return mosaic.ragged_paged_attention_mosaic_gpu(
            *args, **options, **picked._asdict(), interpret=interpret
        )
    except NotImplementedError as e:  # raised while tracing, before anything runs
        fallback: AttentionImpl = (
            "pallas_triton" if kernel_status("pallas_triton").available else "reference"
        )
        logger.warning("Mosaic GPU attention: %s; using %s for this shape", e, fallback)
        fn = implementation(fallback, interpret=interpret)
        return fn(*args, **options, block_q=block_q)


_ADAPTERS: dict[AttentionImpl, Callable[..., jax.Array]] = {
    "pallas_tpu": _pallas_tpu,
    "pallas_triton": _pallas_triton,
    "pallas_mosaic_gpu": _pallas_mosaic_gpu,
}
