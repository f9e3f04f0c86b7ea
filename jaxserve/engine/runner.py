"""The seam: packed host arrays in, one jitted model step out, the KV cache donated.

`ModelRunner` owns the device state (params and KV cache) and the compiled step functions;
the engine hands it `SequenceChunk`s and gets numpy arrays back.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh
from tqdm.auto import tqdm

from jaxserve.engine.executables import (
    ExecutableStore,
    callable_fingerprint,
    layout_fingerprint,
)
from jaxserve.engine.kv_pages import read_pages, write_pages
from jaxserve.engine.packing import (
    SequenceChunk,
    is_decode_only,
    pack_padding,
    pack_prompt_targets,
    pack_step,
    pad_rows,
)
from jaxserve.engine.sampling_rows import SampledTokens, pack_sampling
from jaxserve.engine.transfer import TreeLayout, pack_tree, unpack_tree
from jaxserve.model.attention import make_attention_op
from jaxserve.model.batch import StepBatch, StepInput
from jaxserve.model.config import ModelConfig
from jaxserve.model.kv_cache import CODE_MAX, allocate_kv_cache
from jaxserve.model.llama import compute_logits, forward
from jaxserve.model.sampler import SamplingBatch, prompt_logprobs, sample
from jaxserve.model.sampling_mode import SamplingMode
from jaxserve.sharding import kv_cache_sharding, replicated
from pallas_kernels.matmul import XLA_MATMUL, MatmulKernel
from pallas_kernels.ragged_paged_attention import ragged_paged_attention_reference

# Queries per attention block in steps that hold a multi-token chunk (see the reference).
PREFILL_BLOCK_Q = 16


def _attention_ops(cfg: ModelConfig, make_attention, block_q: int):
    """One attention op per distinct sliding window of the model's layers (None: global)."""
    return {w: make_attention(block_q=block_q, sliding_window=w) for w in set(cfg.windows)}


def _logits_step(params, kv_cache, batch, *, cfg, make_attention, matmul, grouped_matmul, block_q):
    attention = _attention_ops(cfg, make_attention, block_q)
    hidden, kv_cache = forward(
        params, kv_cache, batch, cfg=cfg, attention=attention, matmul=matmul,
        grouped_matmul=grouped_matmul,
    )  # fmt: skip
    return compute_logits(params, hidden, batch.logits_indices, cfg=cfg, matmul=matmul), kv_cache


def _sampling_step(
    params,
    kv_cache,
    buffers,
    *,
    layout: TreeLayout,
    cfg,
    make_attention,
    matmul,
    grouped_matmul,
    mode,
    block_q,
):
    step: StepInput = unpack_tree(buffers, layout)
    attention = _attention_ops(cfg, make_attention, block_q)
    batch = step.batch
    hidden, kv_cache = forward(
        params, kv_cache, batch, cfg=cfg, attention=attention, matmul=matmul,
        grouped_matmul=grouped_matmul,
    )  # fmt: skip
    logits = compute_logits(params, hidden, batch.logits_indices, cfg=cfg, matmul=matmul)
    out = sample(logits, step.sampling, mode)
    prompt = None
    if mode.prompt_logprobs is not None:  # every token row: rare, and costs a [T, V] matmul
        rows = jnp.arange(hidden.shape[0])
        k = cfg.vocab_size if mode.prompt_logprobs == -1 else mode.prompt_logprobs
        prompt = prompt_logprobs(
            compute_logits(params, hidden, rows, cfg=cfg, matmul=matmul), step.prompt_targets, k
        )
    return (out, prompt), kv_cache


class ModelRunner:
    """Runs model steps over a paged KV cache that lives on the mesh."""

    def __init__(
        self,
        cfg: ModelConfig,
        params: dict,
        mesh: Mesh,
        *,
        attention_fn: Callable[..., jax.Array],
        matmul: MatmulKernel = XLA_MATMUL,
        grouped_matmul: Callable[..., jax.Array] = jax.lax.ragged_dot,
        num_pages: int,
        page_size: int,
        pages_per_seq: int,
        kv_dtype: jnp.dtype,
        executable_dir: str | os.PathLike[str] | None = None,
    ):
        self.cfg = cfg
        self.matmul = matmul
        self.pages_per_seq = pages_per_seq
        self.params = params
        self.mesh = mesh
        self.num_pages = num_pages
        self.page_size = page_size
        self.split_mixed_steps = attention_fn is ragged_paged_attention_reference
        # A vision-language model's steps all carry image embeddings (zeros in most), so
        # the programs warmed up at start serve the steps with images too.
        self.embed_width = cfg.hidden_size if cfg.multimodal is not None else None
        kv_sharding = kv_cache_sharding(mesh)
        self.kv_cache = allocate_kv_cache(cfg, num_pages, page_size, kv_dtype, kv_sharding)
        self._batch_sharding = replicated(mesh)
        make_attention = functools.partial(
            make_attention_op,
            attention_fn,
            sm_scale=cfg.sm_scale,
            soft_cap=cfg.attn_logit_softcap,
            with_sinks=cfg.attention_sinks,
            quantized_kv=jnp.dtype(kv_dtype) in CODE_MAX,
            mesh=mesh,
        )
        kv_out = jax.tree.map(lambda _: kv_sharding, self.kv_cache)
        self._sample_step = jax.jit(
            functools.partial(
                _sampling_step,
                cfg=cfg,
                make_attention=make_attention,
                matmul=matmul,
                grouped_matmul=grouped_matmul,
            ),
            static_argnames=("layout", "mode", "block_q"),
            donate_argnums=1,
            out_shardings=(replicated(mesh), kv_out),
        )
        self._logits_step = jax.jit(
            functools.partial(
                _logits_step,
                cfg=cfg,
                make_attention=make_attention,
                matmul=matmul,
                grouped_matmul=grouped_matmul,
            ),
            static_argnames="block_q",
            donate_argnums=1,
            out_shardings=(replicated(mesh), kv_out),
        )
        fingerprint = "|".join(
            [
                repr(cfg),
                repr(mesh.devices.shape),
                ",".join(f"{d.platform}:{d.device_kind}" for d in mesh.devices.flat),
                callable_fingerprint(attention_fn),
                repr(matmul),
                callable_fingerprint(grouped_matmul),
                layout_fingerprint(params, self.kv_cache),
            ]
        )
        self.executables = ExecutableStore(executable_dir, fingerprint, list(mesh.devices.flat))

    def usable(self) -> bool:
        """False once a failed call consumed the donated KV cache without returning a new one."""
        return not any(leaf.is_deleted() for leaf in jax.tree.leaves(self.kv_cache))

    def read_pages(self, page_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """K and V of these pages, each [L, n, page_size, K, D] on the host (a hand-off)."""
        return read_pages(self.kv_cache, page_ids)

    def write_pages(self, page_ids: Sequence[int], k: np.ndarray, v: np.ndarray) -> None:
        """Writes host pages [L, n, page_size, K, D] into these pages of the cache."""
        self.kv_cache = write_pages(self.kv_cache, page_ids, k, v)

    def _executable(self, step, *args, **static):
        """The compiled program of `step` (a jitted step function) for these arguments."""
        shapes = tuple((x.shape, x.dtype.name) for x in jax.tree.leaves(args[2:]))
        key = (step.__name__, tuple(sorted(static.items())), shapes)
        return self.executables.get(key, lambda: step.lower(*args, **static))

    def _run(self, step, *args, **static):
        return self._executable(step, *args, **static)(*args)

    def _put(self, arrays):  # a pytree of host arrays -> the same tree on the mesh
        return jax.device_put(arrays, self._batch_sharding)

    def execute(
        self,
        chunks: Sequence[SequenceChunk],
        sampling: dict[str, np.ndarray],
        mode: SamplingMode,
    ) -> SampledTokens:
        """Runs one step and draws a token after each chunk (one row of `sampling` each).

        The runner alone pads the step: chunks, sampling rows and (when `mode.prompt_logprobs`
        is set) each chunk's `prompt_targets` go into one `StepInput` of the step's bucket.

        Under the jnp reference attention, a step that mixes decode tokens with prompt
        chunks runs as two programs over the same cache: the decode rows with per-token
        attention, the chunks with blocked attention. One program would give every decode
        row a whole query block (16 rows of work for one token) and walk every block as far
        as the longest decode context. Kernels that size their work per sequence (the native
        CPU kernel, the Pallas kernels) take the mixed step whole, reading the weights once.
        """
        decode = [i for i, c in enumerate(chunks) if len(c.token_ids) == 1]
        split = self.split_mixed_steps and 0 < len(decode) < len(chunks)
        if mode.prompt_logprobs is not None or not split:
            return self._execute(chunks, sampling, mode)
        chunked = [i for i, c in enumerate(chunks) if len(c.token_ids) > 1]
        parts = []
        for rows in (decode, chunked):
            part_sampling = {name: values[rows] for name, values in sampling.items()}
            parts.append((rows, self._execute([chunks[i] for i in rows], part_sampling, mode)))
        fields = []
        for name in ("tokens", "logprobs", "ranks", "top_ids", "top_logprobs"):
            first = getattr(parts[0][1], name)
            merged = np.empty((len(chunks), *first.shape[1:]), first.dtype)
            for rows, out in parts:
                merged[rows] = getattr(out, name)
            fields.append(merged)
        return SampledTokens(*fields)

    def _step_input(self, chunks, sampling, mode):
        """The step's `StepInput` on the mesh (one buffer per dtype), its layout, and its
        packed batch."""
        packed = pack_step(
            chunks,
            self.page_size,
            self.pages_per_seq,
            mrope=self.cfg.mrope,
            embed_width=self.embed_width,
        )
        rows = None
        if mode.uses_sampling_rows:
            rows = SamplingBatch(**pad_rows(sampling, len(packed.kv_lens)))
        targets = None
        if mode.prompt_logprobs is not None:
            targets = pack_prompt_targets(chunks, len(packed.token_ids), self.cfg.vocab_size)
        buffers, layout = pack_tree(StepInput(StepBatch(**packed.arrays()), rows, targets))
        return self._put(buffers), layout, packed

    def _execute(self, chunks, sampling, mode) -> SampledTokens:
        buffers, layout, packed = self._step_input(chunks, sampling, mode)
        n = len(chunks)
        (out, prompt), self.kv_cache = self._run(
            self._sample_step,
            self.params,
            self.kv_cache,
            buffers,
            layout=layout,
            mode=mode,
            block_q=_block_q(chunks),
        )
        fields = [
            np.asarray(x)[:n]
            for x in (out.tokens, out.logprobs, out.ranks, out.top_ids, out.top_logprobs)
        ]
        if prompt is not None:
            t = int(packed.cu_q_lens[n])
            fields += [
                np.asarray(x)[:t]
                for x in (prompt.logprobs, prompt.ranks, prompt.top_ids, prompt.top_logprobs)
            ]
        return SampledTokens(*fields)

    def warmup(
        self, shapes: Sequence[tuple[int, int, bool]], *, show_progress: bool = True
    ) -> None:
        """Compiles the greedy step for each (tokens, sequence slots, decode only) bucket."""
        vocab = self.cfg.vocab_size
        for num_tokens, num_slots, decode in tqdm(
            shapes, desc="compiling shape buckets", unit="shape", disable=not show_progress or None
        ):
            packed = pack_padding(
                num_tokens,
                num_slots,
                self.pages_per_seq,
                self.page_size,
                mrope=self.cfg.mrope,
                embed_width=self.embed_width,
            )
            sampling, mode = pack_sampling([], num_slots, vocab, [])
            rows = SamplingBatch(**sampling) if mode.uses_sampling_rows else None
            buffers, layout = pack_tree(StepInput(StepBatch(**packed.arrays()), rows, None))
            self._executable(  # compiled or loaded, not run: the cache stays as it is
                self._sample_step,
                self.params,
                self.kv_cache,
                self._put(buffers),
                layout=layout,
                mode=mode,
                block_q=1 if decode else PREFILL_BLOCK_Q,
            )

    def logits(self, chunks: Sequence[SequenceChunk], *, all_logits: bool = False) -> np.ndarray:
        """f32[len(chunks), V] next-token logits, or f32[num tokens, V] with `all_logits`."""
        packed = pack_step(
            chunks,
            self.page_size,
            self.pages_per_seq,
            all_logits=all_logits,
            mrope=self.cfg.mrope,
            embed_width=self.embed_width,
        )
        rows = int(packed.cu_q_lens[len(chunks)]) if all_logits else len(chunks)
        batch = StepBatch(**self._put(packed.arrays()))
        logits, self.kv_cache = self._run(
            self._logits_step, self.params, self.kv_cache, batch, block_q=_block_q(chunks)
        )
        return np.asarray(logits)[:rows]


def _block_q(chunks: Sequence[SequenceChunk]) -> int:
    """Per-token attention for pure decode steps, blocked once any chunk has many tokens."""
    return 1 if is_decode_only(chunks) else PREFILL_BLOCK_Q
