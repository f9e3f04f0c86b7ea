"""`LLM`: offline batch generation, shaped like vLLM's class of the same name."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils

import platforms
from jaxserve.compile_cache import (
    default_cache_dir,
    enable_compilation_cache,
    executable_dir,
)
from jaxserve.engine.engine import Engine
from jaxserve.engine.packing import warmup_buckets
from jaxserve.engine.request import Request
from jaxserve.engine.runner import ModelRunner
from jaxserve.engine.scheduler import Policy
from jaxserve.errors import EngineBusyError, ModelConfigError
from jaxserve.loader import load_params, open_checkpoint
from jaxserve.loader.orbax import is_converted, open_converted
from jaxserve.model.kv_cache import CODE_MAX
from jaxserve.model.kv_quant import calibrate_kv_scales, calibration_tokens
from jaxserve.model.llama import KV_SCALES, forward, prepare_params, quantize_params
from jaxserve.multimodal.media import MediaPolicy
from jaxserve.multimodal.prompts import chat_images, prompt_images
from jaxserve.multimodal.vision_tower import VisionTower
from jaxserve.outputs import CompletionOutput, RequestOutput
from jaxserve.precision import (
    check_quantization,
    plan_kv_pages,
    resolve_dtype,
    resolve_kv_cache_dtype,
    weight_conversions,
)
from jaxserve.progress import progress_bar
from jaxserve.sampling_params import SamplingParams
from jaxserve.sharding import make_mesh, param_shardings, validate_tensor_parallel
from jaxserve.tokenizer import load_tokenizer

logger = logging.getLogger(__name__)

PromptType = str | Mapping[str, Any]


class LLM:
    """Loads a Hugging Face checkpoint and generates from batches of prompts.

    Args:
        model: a local Hugging Face model directory, or a `jaxserve convert` output
            (`jaxserve.loader.orbax`), whose params are restored straight into their shards.
        tokenizer: a directory holding the tokenizer, if not `model`.
        skip_tokenizer_init: load no tokenizer; prompts must then be token ids.
        dtype: the compute dtype: "float32", "bfloat16", "float16" or "auto": the
            platform's, except that a bfloat16 checkpoint computes in bfloat16 on a CPU with
            AVX512_BF16 (bfloat16 products summed in float32; "float32" keeps exact float32
            products there).
        tensor_parallel_size: devices to split the model over (1, 2, 4 or 8).
        max_model_len: longest prompt + output, default the model's context length.
        seed: seed of random sampling.
        max_num_seqs: most sequences in one step.
        max_num_batched_tokens: most tokens in one step (longer prompts are chunked).
        page_size: tokens per KV page, default the platform's.
        kv_cache_memory: bytes for the KV cache, default a share of the free memory.
        num_pages: KV pages in the pool, overriding `kv_cache_memory`.
        enable_prefix_caching: reuse the KV pages of identical prompt prefixes.
        scheduling_policy: "fcfs" or "priority" (lower `priority` values first).
        compilation_cache_dir: JAX's persistent compilation cache ("default":
            `$JAXSERVE_COMPILATION_CACHE` or ~/.cache/jaxserve/xla; None: leave JAX's setting).
        warmup: compile the common shape buckets now rather than on first use.
        attention_backend: "auto" or None (the platform's choice), "reference" (the jnp
            reference compiled by XLA), "pallas" (the platform's Pallas kernel compiled; not
            on CPU) or "pallas-interpret" (that kernel interpreted; on CPU, the TPU kernel in
            TPU interpret mode). A mixture of experts' grouped matmul follows the same choice
            (`platforms.grouped_matmul`).
        quantization: None, "int8" or "fp8": each layer matrix, each expert's matrices and
            the LM head rounded at load to int8 (or float8_e4m3fn), one scale per output
            column (and expert) (weight-only; the embeddings stay). On a CPU with
            AVX512_BF16 computing in bfloat16, the native int8 kernel multiplies int8
            weights (half the bytes a decode step reads); elsewhere XLA does, widening the
            codes as it reads them. fp8 runs on GPUs with fp8 (compute capability 8.9 and
            up; `platforms.fp8_weights`).
        kv_cache_dtype: what the KV pages store: "auto" (the platform's choice, or the
            compute dtype), "float32", "bfloat16", or quantized: "int8" or "fp8"
            ("fp8_e4m3"), half the bytes of bfloat16 per token, with per-channel scales
            calibrated at start-up on a fixed text (`jaxserve.model.kv_quant`).
        limit_mm_per_prompt: a vision-language model's most images per prompt, as
            `{"image": N}` (default 8).
        encoder_cache_tokens: room, in embedding rows, of the cache that keeps each distinct
            image's vision embeddings for the requests that send it again.
        enable_encoder_cache: keep embeddings after the requests that needed them finish
            (False: every request encodes its own images).
        max_num_encoder_tokens: most embedding rows encoded in one step (default
            `max_num_batched_tokens`; the first image of a step always goes).
        allowed_local_media_path: directories from which `chat()` may read `file://` image
            URLs (none by default).
    """

    def __init__(
        self,
        model: str | os.PathLike[str],
        *,
        tokenizer: str | os.PathLike[str] | None = None,
        skip_tokenizer_init: bool = False,
        dtype: str = "auto",
        tensor_parallel_size: int = 1,
        max_model_len: int | None = None,
        seed: int = 0,
        max_num_seqs: int = 64,
        max_num_batched_tokens: int = 512,
        page_size: int | None = None,
        kv_cache_memory: int | None = None,
        num_pages: int | None = None,
        enable_prefix_caching: bool = True,
        scheduling_policy: Policy = "fcfs",
        compilation_cache_dir: str | os.PathLike[str] | None = "default",
        warmup: bool = True,
        attention_backend: str | None = None,
        quantization: str | None = None,
        kv_cache_dtype: str = "auto",
        limit_mm_per_prompt: Mapping[str, int] | None = None,
        encoder_cache_tokens: int = 16384,
        enable_encoder_cache: bool = True,
        max_num_encoder_tokens: int | None = None,
        allowed_local_media_path: Sequence[str | os.PathLike[str]] = (),
    ):
        for name, value in (
            ("max_num_seqs", max_num_seqs),
            ("max_num_batched_tokens", max_num_batched_tokens),
        ):
            if value < 1:
                raise ModelConfigError(f"{name} must be at least 1, got {value}")
        if compilation_cache_dir == "default":
            compilation_cache_dir = default_cache_dir()
        enable_compilation_cache(compilation_cache_dir)
        platform = platforms.detect()
        attention_fn = platforms.attention_fn(platform, attention_backend)  # validates it
        # A `jaxserve convert` output holds its params restored below in place of the tensors.
        converted = open_converted(model) if is_converted(model) else None
        ckpt = converted.checkpoint if converted else open_checkpoint(model)
        cfg = ckpt.config
        validate_tensor_parallel(cfg, tensor_parallel_size, platform.device_count)
        if jax.process_count() > 1 and tensor_parallel_size != platform.device_count:
            raise ModelConfigError(
                f"tensor_parallel_size={tensor_parallel_size} must span all "
                f"{platform.device_count} devices of the {jax.process_count()} processes: "
                "every process runs each step on its own devices"
            )
        if converted:
            stored = converted.source_dtype
            quantization = converted.check_quantization(quantization)
        else:
            stored = ckpt.tensor("model.embed_tokens.weight").dtype  # memory-mapped: reads nothing
        compute_dtype = resolve_dtype(dtype, platform, stored)
        if cfg.prequantized is not None:  # the checkpoint's own, which the model reads as is
            if quantization not in (None, cfg.prequantized):
                raise ModelConfigError(
                    f"the checkpoint is stored quantized ({cfg.prequantized}); "
                    f"quantization={quantization!r} cannot apply to it"
                )
            quantization = cfg.prequantized
        check_quantization(quantization, platform)
        kernel = platforms.matmul_kernel(
            platform,
            num_devices=tensor_parallel_size,
            compute_dtype=compute_dtype,
            quantization=quantization,
        )
        logger.info(
            "compute dtype %s; matmul %s; checkpoint weights %s",
            compute_dtype.name,
            kernel.name,
            jnp.dtype(stored).name,
        )
        activation_dtype = jnp.dtype(kernel.activation_dtype or compute_dtype)
        kv_dtype = resolve_kv_cache_dtype(kv_cache_dtype, platform, dtype, compute_dtype)
        page_size = page_size or platform.page_size
        if page_size < 1 or page_size & (page_size - 1):
            raise ModelConfigError(f"page_size must be a power of two, got {page_size}")
        max_model_len = max_model_len or cfg.max_position_embeddings
        if max_model_len < 2:
            raise ModelConfigError(f"max_model_len must be at least 2, got {max_model_len}")

        self.model = os.fspath(model)  # the checkpoint directory, as given
        self.config = cfg
        self.seed = seed
        self.platform = platform
        self.tokenizer = None if skip_tokenizer_init else load_tokenizer(tokenizer or model)
        mesh = make_mesh(tensor_parallel_size, platform.devices)
        keep, cast = weight_conversions(kernel, activation_dtype, cfg.tie_word_embeddings)
        if converted:
            params = converted.restore_params(
                activation_dtype, mesh, keep_bfloat16=keep, as_bfloat16=cast
            )
        else:
            params = load_params(ckpt, activation_dtype, mesh, keep_bfloat16=keep, as_bfloat16=cast)
            if quantization is not None:
                params = quantize_params(params, quantization)
        params = prepare_params(params, kernel)  # as the kernel reads them
        # Weights on 2 MiB pages stream faster; collapsing them takes a while, so it runs on.
        self._huge_pages = platforms.back_with_huge_pages(jax.tree.leaves(params))
        grouped_matmul = platforms.grouped_matmul_fn(platform, attention_backend)
        self.vision = self.prompt_processor = None
        max_images = _image_limit(limit_mm_per_prompt)
        if cfg.multimodal is not None:
            if jax.process_count() > 1:
                raise ModelConfigError(
                    "vision-language models are served by one process; this job has "
                    f"{jax.process_count()}"
                )
            self.vision = VisionTower(ckpt, activation_dtype, mesh)
            self.prompt_processor = self.vision.prompt_processor(ckpt, max_images=max_images)
        self.media_policy = MediaPolicy(
            allowed_local_media_paths=tuple(Path(p) for p in allowed_local_media_path)
        )
        if kv_dtype in CODE_MAX:
            model = functools.partial(forward, matmul=kernel, grouped_matmul=grouped_matmul)
            params = self._with_kv_scales(params, model, attention_fn, kv_dtype, page_size, mesh)
        num_pages = num_pages or plan_kv_pages(
            cfg,
            platform,
            params,
            page_size=page_size,
            kv_dtype=kv_dtype,
            compute_dtype=compute_dtype,
            kv_cache_memory=kv_cache_memory,
            max_model_len=max_model_len,
            max_num_seqs=max_num_seqs,
        )
        if jax.process_count() > 1:  # every process must hold the same pool: the smallest
            num_pages = int(multihost_utils.process_allgather(np.int64(num_pages)).min())
        runner = ModelRunner(
            cfg,
            params,
            mesh,
            attention_fn=attention_fn,
            matmul=kernel,
            grouped_matmul=grouped_matmul,
            num_pages=num_pages,
            page_size=page_size,
            pages_per_seq=-(-max_model_len // page_size),
            kv_dtype=kv_dtype,
            # A process's serialized programs name its own devices: one process only.
            executable_dir=executable_dir() if jax.process_count() == 1 else None,
        )
        eos = ckpt.eos_token_ids
        if not eos and self.tokenizer is not None and self.tokenizer.eos_token_id is not None:
            eos = (self.tokenizer.eos_token_id,)
        self.engine = Engine(
            runner,
            vocab_size=cfg.vocab_size,
            max_model_len=max_model_len,
            max_num_seqs=max_num_seqs,
            max_num_batched_tokens=max_num_batched_tokens,
            eos_token_ids=eos,
            enable_prefix_caching=enable_prefix_caching,
            policy=scheduling_policy,
            seed=seed,
            tokenizer=self.tokenizer,
            image_token_id=cfg.image_token_id,
            encode_images=self.vision,
            encoder_cache_tokens=encoder_cache_tokens,
            enable_encoder_cache=enable_encoder_cache,
            max_num_encoder_tokens=max_num_encoder_tokens,
            mrope=cfg.mrope,
        )
        self.runner = runner
        self._engine_holder: str | None = None
        self._holder_lock = threading.Lock()
        if warmup:
            shapes = warmup_buckets(max_num_seqs, max_num_batched_tokens)
            # One bucket a call, so that the bar follows jaxserve.progress (shown in notebooks).
            for shape in progress_bar(shapes, desc="compiling shape buckets", unit="shape"):
                runner.warmup([shape], show_progress=False)

    def _with_kv_scales(self, params, model, attention_fn, kv_dtype, page_size, mesh) -> dict:
        """`params` with the quantized cache's per-channel scales among the layers'."""
        encode = None if self.tokenizer is None else self.tokenizer.encode
        tokens = calibration_tokens(encode, self.config.vocab_size)
        scales = calibrate_kv_scales(
            params, tokens, cfg=self.config, dtype=kv_dtype, forward=model,
            attention_fn=attention_fn, page_size=page_size,
        )  # fmt: skip
        named = dict(zip(KV_SCALES, scales, strict=True))
        shardings = param_shardings({f"layers/{n}": s.shape for n, s in named.items()}, mesh)
        layers = dict(params["layers"])
        for name, scale in named.items():
            layers[name] = jax.device_put(scale, shardings[f"layers/{name}"])
        logger.info("KV cache in %s: scales calibrated on %d tokens", kv_dtype.name, len(tokens))
        return {**params, "layers": layers}

    def get_tokenizer(self):
        return self.tokenizer

    def claim_engine(self, holder: str) -> None:
        """Reserves the engine for `holder` until `release_engine(holder)`.

        The engine is not thread-safe: whatever steps it from another thread (the engine
        thread of `jaxserve.ui.chat`) claims it first, and meanwhile `generate()` and `chat()`
        raise instead of stepping it too.

        Args:
            holder: who holds it and how to let go, for the error others get, e.g.
                "jaxserve.ui.chat() (close() the app it returned)".

        Raises:
            EngineBusyError: another holder has the engine.
        """
        with self._holder_lock:
            if self._engine_holder is not None:
                raise EngineBusyError(
                    f"this LLM's engine is in use by {self._engine_holder}; "
                    "one engine runs one thing at a time"
                )
            self._engine_holder = holder

    def release_engine(self, holder: str) -> None:
        """Gives back the engine `claim_engine(holder)` reserved."""
        with self._holder_lock:
            if self._engine_holder != holder:
                raise RuntimeError(f"{holder} does not hold the engine ({self._engine_holder})")
            self._engine_holder = None

    @contextlib.contextmanager
    def _engine_held(self, holder: str) -> Iterator[None]:
        self.claim_engine(holder)
        try:
            yield
        finally:
            self.release_engine(holder)

    def _prompt_ids(self, prompt: PromptType) -> tuple[str | None, list[int]]:
        if isinstance(prompt, str):
            if self.tokenizer is None:
                raise ValueError(
                    "text prompts need a tokenizer; give {'prompt_token_ids': [...]} instead"
                )
            return prompt, self.tokenizer.encode(prompt)
        if isinstance(prompt, Mapping):
            if "prompt_token_ids" in prompt:
                return prompt.get("prompt"), list(prompt["prompt_token_ids"])
            if "prompt" in prompt:
                return self._prompt_ids(prompt["prompt"])
        raise ValueError(
            "each prompt must be a string or a dict with 'prompt_token_ids' or 'prompt', "
            f"got {type(prompt).__name__}"
        )

    def generate(
        self,
        prompts: PromptType | Sequence[PromptType],
        sampling_params: SamplingParams | Sequence[SamplingParams] | None = None,
        *,
        use_tqdm: bool = True,
    ) -> list[RequestOutput]:
        """Generates for every prompt; outputs come back in the prompts' order.

        Raises:
            EngineBusyError: the engine is in use elsewhere (an open `jaxserve.ui.chat`, or
                generate() on another thread).
        """
        with self._engine_held("generate() on another thread"):
            return self._generate(prompts, sampling_params, use_tqdm=use_tqdm)

    def _generate(
        self,
        prompts: PromptType | Sequence[PromptType],
        sampling_params: SamplingParams | Sequence[SamplingParams] | None,
        *,
        use_tqdm: bool,
    ) -> list[RequestOutput]:
        if isinstance(prompts, str | Mapping):
            prompts = [prompts]
        prompts = list(prompts)
        if sampling_params is None:
            sampling_params = SamplingParams()
        params_list = (
            [sampling_params] * len(prompts)
            if isinstance(sampling_params, SamplingParams)
            else list(sampling_params)
        )
        if len(params_list) != len(prompts):
            raise ValueError(f"got {len(params_list)} sampling params for {len(prompts)} prompts")
        groups: list[list[Request]] = []
        try:
            for prompt, params in zip(prompts, params_list, strict=True):
                text, ids = self._prompt_ids(prompt)
                images = prompt_images(prompt)
                if self.prompt_processor is None:
                    if images:
                        raise ValueError(f"{self.config.architecture} takes no images")
                    groups.append(
                        [self.engine.add_request(ids, p, prompt=text) for p in params.samples()]
                    )
                    continue
                processed = self.prompt_processor(ids, images)
                groups.append(
                    [
                        self.engine.add_request(
                            processed.token_ids,
                            p,
                            prompt=text,
                            mm_inputs=processed.mm_inputs,
                            mrope_positions=processed.mrope_positions,
                            mrope_delta=processed.mrope_delta,
                        )
                        for p in params.samples()
                    ]
                )
            total = sum(len(g) for g in groups)
            with progress_bar(desc="generating", unit="seq", total=total, enabled=use_tqdm) as bar:
                while self.engine.has_unfinished():
                    bar.update(len(self.engine.step()))
        except BaseException:
            for request in (r for group in groups for r in group):
                self.engine.abort(request.request_id)  # nothing half-run stays queued
            raise
        return [self._output(group) for group in groups]

    def chat(
        self,
        messages: Sequence[Mapping[str, Any]] | Sequence[Sequence[Mapping[str, Any]]],
        sampling_params: SamplingParams | Sequence[SamplingParams] | None = None,
        *,
        use_tqdm: bool = True,
        add_generation_prompt: bool = True,
        continue_final_message: bool = False,
        chat_template: str | None = None,
        chat_template_kwargs: Mapping[str, Any] | None = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> list[RequestOutput]:
        """Generates a reply to one conversation or to each of a list of conversations.

        Each conversation is a list of `{"role": ..., "content": ...}` messages, rendered
        with `chat_template` or else the tokenizer's. As vLLM's `LLM.chat`:
        `continue_final_message` renders the last (assistant) message open so the reply
        continues it (with `add_generation_prompt=False`); `chat_template_kwargs` are extra
        template variables (Qwen3's `enable_thinking`); `tools` (OpenAI function tools) go to
        templates that show them.
        """
        if self.tokenizer is None:
            raise ValueError("chat needs a tokenizer; this LLM was built without one")
        if chat_template is None and getattr(self.tokenizer, "chat_template", None) is None:
            raise ValueError("the tokenizer has no chat template; use generate() with text")
        if continue_final_message and add_generation_prompt:
            raise ValueError(
                "continue_final_message needs add_generation_prompt=False: the reply continues "
                "the last message rather than starting a new one"
            )
        conversations = cast(
            list[Sequence[Mapping[str, Any]]],
            [messages] if messages and isinstance(messages[0], Mapping) else list(messages),
        )
        options = dict(chat_template_kwargs or {})
        if tools:
            options["tools"] = [dict(tool) for tool in tools]
        prompts = []
        for conversation in conversations:
            conversation, images = chat_images(conversation, self.media_policy)
            if images and self.prompt_processor is None:
                raise ValueError(f"{self.config.architecture} takes no images")
            text = self.tokenizer.apply_chat_template(
                list(conversation),
                tokenize=False,
                add_generation_prompt=add_generation_prompt,
                continue_final_message=continue_final_message,
                chat_template=chat_template,
                **options,
            )
            # The template already holds any BOS token; encoding must not add another.
            ids = self.tokenizer.encode(text, add_special_tokens=False)
            prompt: dict[str, Any] = {"prompt": text, "prompt_token_ids": ids}
            if images:
                prompt["multi_modal_data"] = {"image": images}
            prompts.append(prompt)
        return self.generate(prompts, sampling_params, use_tqdm=use_tqdm)

    @staticmethod
    def _output(group: list[Request]) -> RequestOutput:
        first = group[0]
        return RequestOutput(
            first.request_id,
            first.prompt,
            first.prompt_token_ids,
            [_completion(i, r) for i, r in enumerate(group)],
            finished=all(r.finished for r in group),
            prompt_logprobs=(
                list(first.prompt_logprobs) if first.params.prompt_logprobs is not None else None
            ),
        )


def _image_limit(limit_mm_per_prompt: Mapping[str, int] | None) -> int:
    limits = dict(limit_mm_per_prompt or {"image": 8})
    unknown = sorted(set(limits) - {"image"})
    if unknown:
        raise ModelConfigError(
            f"limit_mm_per_prompt names {unknown}; jaxserve takes images only ('image')"
        )
    limit = limits.get("image", 8)
    if not isinstance(limit, int) or limit < 1:
        raise ModelConfigError(f"limit_mm_per_prompt['image'] must be at least 1, got {limit!r}")
    return limit


def _completion(index: int, request: Request) -> CompletionOutput:
    wants_logprobs = request.params.logprobs is not None
    return CompletionOutput(
        index,
        request.text,
        list(request.output_token_ids),
        request.finish_reason,
        request.stop_reason,
        logprobs=list(request.logprobs) if wants_logprobs else None,
        cumulative_logprob=request.cumulative_logprob if wants_logprobs else None,
    )
