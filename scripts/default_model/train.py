"""The training loop (AdamW, warmup then cosine decay) and the held-out evaluation."""

from __future__ import annotations

import dataclasses
import functools
import logging
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from default_model.data import Streams, sample_batch
from default_model.model import LlamaShape, init_params, loss_fn, token_nll

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    steps: int = 500
    batch_size: int = 16  # B
    seq_len: int = 256  # T
    chat_rows: int = 4  # rows of each batch drawn from the chat stream
    peak_lr: float = 3e-3
    warmup_steps: int = 30
    final_lr_fraction: float = 0.1
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    max_minutes: float = 50.0  # a guard, not the schedule: stopping early is logged
    log_every: int = 20
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class TrainResult:
    params: dict[str, jax.Array]
    steps_done: int
    final_loss: float
    wall_seconds: float
    cpu_seconds: float  # process CPU time; unaffected by SIGSTOP pauses of a shared machine


def make_optimizer(cfg: TrainConfig) -> optax.GradientTransformation:
    """AdamW; norms and the 1-D weights skip weight decay, as is usual for transformers."""
    schedule = optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=cfg.peak_lr,
        warmup_steps=min(cfg.warmup_steps, max(cfg.steps - 1, 1)),
        decay_steps=max(cfg.steps, 2),
        end_value=cfg.peak_lr * cfg.final_lr_fraction,
    )
    return optax.chain(
        optax.clip_by_global_norm(cfg.grad_clip),
        optax.adamw(
            schedule,
            b1=0.9,
            b2=0.95,
            weight_decay=cfg.weight_decay,
            mask=lambda params: jax.tree.map(lambda p: p.ndim > 2, params),
        ),
    )


def train(shape: LlamaShape, cfg: TrainConfig, streams: Streams) -> TrainResult:
    """Runs `cfg.steps` seeded steps (fewer if `max_minutes` passes first)."""
    params = init_params(shape, cfg.seed)
    optimizer = make_optimizer(cfg)
    opt_state = optimizer.init(params)

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def step(params, opt_state, tokens):
        loss, grads = jax.value_and_grad(loss_fn)(params, tokens, shape=shape)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    rng = np.random.default_rng(cfg.seed)
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    window_start, window_tokens, loss = time.perf_counter(), 0, jnp.nan
    done = 0
    for i in range(cfg.steps):
        if time.perf_counter() - start_wall > cfg.max_minutes * 60:
            logger.warning("stopping at step %d of %d: max_minutes passed", i, cfg.steps)
            break
        batch = sample_batch(rng, streams, cfg.batch_size, cfg.seq_len, cfg.chat_rows)
        params, opt_state, loss = step(params, opt_state, jnp.asarray(batch))
        done, window_tokens = i + 1, window_tokens + cfg.batch_size * cfg.seq_len
        if done % cfg.log_every == 0 or done == cfg.steps:
            loss_value = float(loss)  # blocks, so the rate below is honest
            elapsed = time.perf_counter() - window_start
            logger.info(
                "step %5d/%d  loss %.3f  %5.0f tok/s  %.1f min",
                done,
                cfg.steps,
                loss_value,
                window_tokens / elapsed,
                (time.perf_counter() - start_wall) / 60,
            )
            window_start, window_tokens = time.perf_counter(), 0
    return TrainResult(
        params=params,
        steps_done=done,
        final_loss=float(loss),
        wall_seconds=time.perf_counter() - start_wall,
        cpu_seconds=time.process_time() - start_cpu,
    )


def held_out_nll(
    params: dict[str, jax.Array], shape: LlamaShape, windows: np.ndarray, batch_size: int = 16
) -> float:
    """Mean nats per predicted token over i32[N, T+1] windows."""
    nll_fn = jax.jit(functools.partial(token_nll, shape=shape))
    total, count = 0.0, 0
    for i in range(0, len(windows), batch_size):
        chunk = windows[i : i + batch_size]
        total += float(jnp.sum(nll_fn(params, jnp.asarray(chunk))))
        count += chunk.shape[0] * (chunk.shape[1] - 1)
    return total / count
