"""The seam: packed host arrays in, one jitted model step out, the KV cache donated.

`ModelRunner` owns the device state (params and KV cache) and the compiled step functions;
the engine hands it `SequenceChunk`s and gets numpy arrays back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from jaxserve.engine.packing import PackedStep, SequenceChunk, pack_step
from jaxserve.model.attention import make_attention_op
from jaxserve.model.batch import StepBatch
from jaxserve.model.config import ModelConfig
from jaxserve.model.kv_cache import KVCache, allocate_kv_cache
from jaxserve.model.llama import compute_logits, forward
from jaxserve.sharding import kv_cache_sharding, replicated


def _logits_step(params, kv_cache, batch, *, cfg, attention):
    hidden, kv_cache = forward(params, kv_cache, batch, cfg=cfg, attention=attention)
    return compute_logits(params, hidden, batch.logits_indices, cfg=cfg), kv_cache


def _greedy_step(params, kv_cache, batch, *, cfg, attention):
    logits, kv_cache = _logits_step(params, kv_cache, batch, cfg=cfg, attention=attention)
    return jnp.argmax(logits, axis=-1).astype(jnp.int32), kv_cache  # [R]


class ModelRunner:
    """Runs model steps over a paged KV cache that lives on the mesh."""

    def __init__(
        self,
        cfg: ModelConfig,
        params: dict,
        mesh: Mesh,
        *,
        attention_fn: Callable[..., jax.Array],
        num_pages: int,
        page_size: int,
        kv_dtype: jnp.dtype,
    ):
        self.cfg = cfg
        self.params = params
        self.mesh = mesh
        self.num_pages = num_pages
        self.page_size = page_size
        kv_sharding = kv_cache_sharding(mesh)
        self.kv_cache = allocate_kv_cache(cfg, num_pages, page_size, kv_dtype, kv_sharding)
        self._batch_sharding = replicated(mesh)
        op = make_attention_op(
            attention_fn, sm_scale=cfg.sm_scale, sliding_window=cfg.sliding_window, mesh=mesh
        )
        out_shardings = (replicated(mesh), KVCache(k=kv_sharding, v=kv_sharding))
        self._steps = {
            name: jax.jit(
                functools.partial(fn, cfg=cfg, attention=op),
                donate_argnums=1,
                out_shardings=out_shardings,
            )
            for name, fn in (("greedy", _greedy_step), ("logits", _logits_step))
        }

    def _run(self, name: str, packed: PackedStep) -> np.ndarray:
        batch = StepBatch(**jax.device_put(packed.arrays(), self._batch_sharding))
        out, self.kv_cache = self._steps[name](self.params, self.kv_cache, batch)
        return np.asarray(out)

    def greedy(self, chunks: Sequence[SequenceChunk]) -> np.ndarray:
        """i32[len(chunks)]: the argmax next token after each chunk."""
        return self._run("greedy", pack_step(chunks, self.page_size))[: len(chunks)]

    def logits(self, chunks: Sequence[SequenceChunk], *, all_logits: bool = False) -> np.ndarray:
        """f32[len(chunks), V] next-token logits, or f32[num tokens, V] with `all_logits`."""
        packed = pack_step(chunks, self.page_size, all_logits=all_logits)
        rows = int(packed.cu_q_lens[len(chunks)]) if all_logits else len(chunks)
        return self._run("logits", packed)[:rows]
