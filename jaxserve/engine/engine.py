"""`Engine`: the host loop that ties the scheduler, the page pool and the model runner.

One `step()`: the scheduler picks each request's tokens within the budget, the runner packs
them into one mixed prefill/decode batch and runs the model, and every request whose known
tokens are now all in the cache gets its next token and is checked for stopping. Finished
and aborted requests give their pages back at once.

A step that raises fails its own requests and nothing else: they end in FINISHED_ERROR, give
their pages back, and the pages the step was filling leave the prefix cache (what they hold
is unknown). `step()` then raises `StepFailed` naming them, and the engine goes on serving.
Only a fault that leaves the runner without its KV cache (a donated buffer lost mid-call)
raises `EngineUnusable`.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from jaxserve.engine.block_manager import BlockManager
from jaxserve.engine.detokenizer import IncrementalDetokenizer, Tokenizer
from jaxserve.engine.encoder_cache import EncoderCache
from jaxserve.engine.images import check_images, chunk_embeds, mrope_positions
from jaxserve.engine.packing import SequenceChunk
from jaxserve.engine.request import Request, RequestStatus
from jaxserve.engine.sampling_rows import SampledTokens, pack_sampling
from jaxserve.engine.scheduler import Policy, ScheduledChunk, Scheduler
from jaxserve.engine.structured import (
    GrammarCompiler,
    GrammarError,
    TokenMasks,
    allowed_mask,
    consume,
)
from jaxserve.model.sampling_mode import SamplingMode
from jaxserve.multimodal.inputs import ImageFeatures, MultiModalInput
from jaxserve.outputs import Logprob
from jaxserve.sampling_params import SamplingParams

logger = logging.getLogger(__name__)


class StepRunner(Protocol):
    num_pages: int
    page_size: int

    def execute(
        self,
        chunks: Sequence[SequenceChunk],
        sampling: dict[str, np.ndarray],
        mode: SamplingMode,
    ) -> SampledTokens:
        """Runs one step; `sampling` holds one row per chunk (the runner pads the step)."""
        ...

    def usable(self) -> bool:
        """Whether the runner can run another step (its KV cache survived the last one)."""
        ...


class PromptTooLong(ValueError):
    """The prompt leaves no room for a token within `max_model_len`."""


class StepFailed(RuntimeError):
    """One step raised; its requests ended in FINISHED_ERROR and gave their pages back."""

    def __init__(self, requests: list[Request], cause: BaseException):
        super().__init__(f"the engine step failed: {type(cause).__name__}: {cause}")
        self.requests = requests


class EngineUnusable(RuntimeError):
    """A step failed in a way that left the runner unable to run another."""


StepHook = Callable[[Sequence[Request]], None]
# Images' features -> their embeddings, f32[num_tokens, E] each (`jaxserve.model.vision`).
ImageEncoder = Callable[[Sequence[ImageFeatures]], list[np.ndarray]]


class Engine:
    def __init__(
        self,
        runner: StepRunner,
        *,
        vocab_size: int,
        max_model_len: int,
        max_num_seqs: int,
        max_num_batched_tokens: int,
        eos_token_ids: Sequence[int] = (),
        enable_prefix_caching: bool = True,
        policy: Policy = "fcfs",
        seed: int = 0,
        tokenizer: Tokenizer | None = None,
        image_token_id: int | None = None,
        encode_images: ImageEncoder | None = None,
        encoder_cache_tokens: int = 16384,
        enable_encoder_cache: bool = True,
        max_num_encoder_tokens: int | None = None,
        mrope: bool = False,
    ):
        if max_num_batched_tokens < runner.page_size:
            raise ValueError(
                f"max_num_batched_tokens ({max_num_batched_tokens}) must be at least the page "
                f"size ({runner.page_size})"
            )
        self.runner = runner
        self.tokenizer = tokenizer
        self.vocab_size = vocab_size
        self.max_model_len = max_model_len
        self.eos_token_ids = frozenset(eos_token_ids)
        self.blocks = BlockManager(
            runner.num_pages, runner.page_size, enable_prefix_caching=enable_prefix_caching
        )
        self.image_token_id = image_token_id
        self.encode_images = encode_images
        self.mrope = mrope
        self.encoder_cache = None
        if encode_images is not None:
            self.encoder_cache = EncoderCache(
                encoder_cache_tokens, keep_unpinned=enable_encoder_cache
            )
        self.scheduler = Scheduler(
            self.blocks,
            max_num_seqs=max_num_seqs,
            max_num_batched_tokens=max_num_batched_tokens,
            policy=policy,
            encoder_cache=self.encoder_cache,
            max_num_encoder_tokens=max_num_encoder_tokens,
        )
        self._ids = itertools.count()
        self._seeds = np.random.default_rng(seed)  # for requests that bring no seed
        self.grammars = (
            None if tokenizer is None else GrammarCompiler(tokenizer, vocab_size, eos_token_ids)
        )
        self._masks: TokenMasks | None = None  # made on the first constrained step
        # A test hook: called with a step's requests before the model runs. Whatever it
        # raises fails the step as a fault in the runner would (benchmarks/soak.py, tests).
        self.step_hook: StepHook | None = None
        # Called with each request that stops, before its pages are freed: a prefill-role
        # engine notes their pages there (`jaxserve.engine.handoff`).
        self.finish_hook: Callable[[Request], None] | None = None

    def add_request(
        self, prompt_token_ids: Sequence[int], params: SamplingParams, **options
    ) -> Request:
        """Validates and queues one request (`make_request`'s arguments); raises `ValueError`
        naming what is wrong."""
        request = self.make_request(prompt_token_ids, params, **options)
        self.scheduler.add(request)
        return request

    def make_request(
        self,
        prompt_token_ids: Sequence[int],
        params: SamplingParams,
        *,
        prompt: str | None = None,
        request_id: str | None = None,
        cache_salt: str | None = None,
        priority: int = 0,
        mm_inputs: Sequence[MultiModalInput] = (),
        mrope_positions: np.ndarray | None = None,
        mrope_delta: int = 0,
    ) -> Request:
        """Validates and builds one request without queuing it; raises `ValueError` naming
        what is wrong.

        `mm_inputs`: the prompt's images, each with the run of image tokens its embeddings
        replace (`jaxserve.multimodal.processor` makes them); `mrope_positions`,
        `mrope_delta`: an M-RoPE model's prompt positions i32[3, prompt tokens] and the
        offset of the positions after the prompt.
        """
        _check_supported(params)
        if priority and self.scheduler.policy != "priority":
            raise ValueError(
                f"priority {priority} needs the 'priority' scheduling policy; this engine "
                "serves first come, first served"
            )
        if params.stop and self.tokenizer is None:
            raise ValueError("stop strings need a tokenizer; this engine has none")
        if params.bad_words and self.tokenizer is None:
            raise ValueError("bad_words need a tokenizer; this engine has none")
        allowed = params.allowed_token_ids
        if allowed is not None and max(allowed) >= self.vocab_size:
            raise ValueError(
                f"allowed_token_ids hold ids outside the vocabulary [0, {self.vocab_size})"
            )
        grammar = None
        if params.structured_outputs is not None:
            if self.grammars is None:
                raise ValueError("structured outputs need a tokenizer; this engine has none")
            grammar = self.grammars.compile(params.structured_outputs).matcher()  # cached
        ids = [int(t) for t in prompt_token_ids]
        if not ids:
            raise ValueError("the prompt is empty: give at least one token")
        bad = [t for t in ids if not 0 <= t < self.vocab_size]
        if bad:
            raise ValueError(
                f"prompt token ids {bad[:5]} are outside the vocabulary [0, {self.vocab_size})"
            )
        if len(ids) >= self.max_model_len:
            raise PromptTooLong(
                f"the prompt has {len(ids)} tokens, but max_model_len is {self.max_model_len} "
                "and at least one token must be generated"
            )
        if mm_inputs and self.encoder_cache is None:
            raise ValueError("this model takes no images")
        check_images(ids, mm_inputs, mrope_positions, self.image_token_id, self.encoder_cache)
        room = self.max_model_len - len(ids)
        max_tokens = room if params.max_tokens is None else min(params.max_tokens, room)
        needed = -(-(len(ids) + max_tokens) // self.runner.page_size)
        if needed > self.blocks.capacity:
            raise ValueError(
                f"the request needs {needed} KV pages but the cache holds {self.blocks.capacity}; "
                "lower max_tokens or enlarge the KV cache"
            )
        detokenizer = None
        if self.tokenizer is not None:
            detokenizer = IncrementalDetokenizer(
                self.tokenizer,
                ids,
                skip_special_tokens=params.skip_special_tokens,
                stop=params.stop_strings,
                include_stop_str_in_output=params.include_stop_str_in_output,
            )
        request = Request(
            request_id=request_id if request_id is not None else f"req-{next(self._ids)}",
            prompt_token_ids=ids,
            params=params,
            max_tokens=max_tokens,
            eos_token_ids=self.eos_token_ids,
            prompt=prompt,
            cache_salt=cache_salt,
            priority=priority,
            seed=int(self._seeds.integers(2**32)) if params.seed is None else params.seed,
            detokenizer=detokenizer,
            bad_word_ids=_tokenize_bad_words(self.tokenizer, params.bad_words),
            grammar=grammar,
            allowed_mask=None if allowed is None else allowed_mask(allowed, self.vocab_size),
            mm_inputs=tuple(mm_inputs),
            mrope_positions=mrope_positions,
            mrope_delta=int(mrope_delta),
        )
        return request

    def abort(self, request_id: str) -> Request | None:
        """Ends a request wherever it is and frees its pages; None if it is unknown."""
        return self.scheduler.abort(request_id)

    def has_unfinished(self) -> bool:
        return self.scheduler.has_unfinished()

    def _chunk(self, chunk: ScheduledChunk, page_table: Sequence[int]) -> SequenceChunk:
        request = chunk.request
        targets: Sequence[int] = ()
        if request.params.prompt_logprobs is not None:  # the prompt token each row predicts
            targets = request.prompt_token_ids[chunk.start + 1 : chunk.end + 1]
        tokens = request.all_token_ids[chunk.start : chunk.end]
        positions = None
        if self.mrope and request.mrope_positions is not None:
            positions = mrope_positions(request, chunk.start, chunk.end)
        embeds = ()
        if request.mm_inputs:
            assert self.encoder_cache is not None
            embeds = chunk_embeds(request, chunk.start, chunk.end, self.encoder_cache)
        return SequenceChunk(tokens, chunk.start, page_table, targets, positions, embeds)

    def _encode(self, items: Sequence[MultiModalInput]) -> None:
        """Encodes the step's new images into the encoder cache."""
        if not items:
            return
        assert self.encode_images is not None and self.encoder_cache is not None
        embeddings = self.encode_images([item.features for item in items])
        for item, rows in zip(items, embeddings, strict=True):
            if len(rows) != item.features.num_tokens:
                raise RuntimeError(
                    f"the vision encoder gave {len(rows)} embeddings for an image of "
                    f"{item.features.num_tokens} placeholder tokens"
                )
            self.encoder_cache.put(item.content_hash, rows)

    def _detokenize(self, request: Request, token: int) -> str | None:
        """Extends the request's text; returns the stop string it completed, if any."""
        detokenizer = request.detokenizer
        if detokenizer is None:
            return None
        delta = detokenizer.add_token(token)
        if len(request.output_token_ids) < request.params.min_tokens:
            return None
        stop = detokenizer.find_stop(delta)
        if stop is None and self._ends(request, token):
            detokenizer.flush()
        return stop

    @staticmethod
    def _ends(request: Request, token: int) -> bool:
        """Whether this token ends the request for a reason other than a stop string."""
        params = request.params
        return (
            len(request.output_token_ids) >= request.max_tokens
            or request.grammar_done
            or token in params.stop_ids
            or (not params.ignore_eos and token in request.eos_token_ids)
        )

    def step(self) -> list[Request]:
        """Runs one model step; returns the requests that finished in it.

        Raises:
            StepFailed: the step raised; its requests (listed) ended with an error and the
                engine can go on stepping the others.
            EngineUnusable: the step's fault also took the runner's KV cache.
        """
        out = self.scheduler.schedule()
        if not out.chunks:
            return []
        try:
            self._encode(out.to_encode)
            return self._run(out.chunks)
        except Exception as e:
            failed = self._fail(out.chunks)
            if not self.runner.usable():
                raise EngineUnusable(f"the runner lost its KV cache: {e}") from e
            raise StepFailed(failed, e) from e

    def _run(self, scheduled: Sequence[ScheduledChunk]) -> list[Request]:
        chunks = [self._chunk(c, self.blocks.page_table(c.request)) for c in scheduled]
        requests = [c.request for c in scheduled]
        if self.step_hook is not None:
            self.step_hook(requests)
        sampling, mode = pack_sampling(
            requests,
            len(requests),
            self.vocab_size,
            [r.seed for r in requests],
            self._token_masks(scheduled),
        )
        sampled = self.runner.execute(chunks, sampling, mode)
        finished = []
        token_row = 0
        for row, chunk in enumerate(scheduled):
            request = chunk.request
            if request.params.prompt_logprobs is not None:
                _record_prompt_logprobs(request, chunk, sampled, token_row)
            token_row += chunk.num_tokens
            request.num_computed_tokens = chunk.end
            if request.mm_inputs:
                self.scheduler.release_images(request)
            if chunk.end < request.num_tokens:
                continue  # a prompt chunk: the prompt is not all in the cache yet
            token = int(sampled.tokens[row])
            if request.params.logprobs is not None:
                _record_logprobs(request, sampled, row)
            if self.accept_token(request, token):
                finished.append(request)
        return finished

    def accept_token(self, request: Request, token: int) -> bool:
        """Appends a drawn token and ends the request if it stops there; True if it ended."""
        request.append_token(token)
        if request.grammar is not None and not self._advance_grammar(request, token):
            return True
        request.check_stop(self._detokenize(request, token))
        if request.finished:
            if self.finish_hook is not None:
                self.finish_hook(request)
            self.scheduler.finish(request, request.status)
        return request.finished

    def _token_masks(self, scheduled: Sequence[ScheduledChunk]) -> np.ndarray | None:
        """i32[rows, ceil(V / 32)]: the step's token masks; None where no row draws under one."""
        matchers, fixed = [], []
        for row, chunk in enumerate(scheduled):
            request = chunk.request
            if chunk.end < request.num_tokens:
                continue  # a prompt chunk: its draw is discarded
            if request.grammar is not None:
                matchers.append((request.grammar, row))
            if request.allowed_mask is not None:
                fixed.append((request.allowed_mask, row))
        if not matchers and not fixed:
            return None
        if self._masks is None:
            self._masks = TokenMasks(self.vocab_size)
        return self._masks.fill(len(scheduled), matchers, fixed)

    def _advance_grammar(self, request: Request, token: int) -> bool:
        """Feeds the drawn token to the request's grammar; False if that ended the request in
        an error (the grammar refused a token its own mask allowed)."""
        assert request.grammar is not None
        try:
            consume(request.grammar, token)
        except GrammarError:
            logger.exception("request %s: its grammar refused a token", request.request_id)
            self.scheduler.finish(request, RequestStatus.FINISHED_ERROR)
            return False
        request.grammar_done = request.grammar.is_stopped()
        return True

    def _fail(self, scheduled: Sequence[ScheduledChunk]) -> list[Request]:
        """Ends the unfinished requests of a failed step with an error; returns them."""
        failed = []
        for chunk in scheduled:
            request = chunk.request
            if request.finished:  # it ended in this step before the fault: its pages are good
                continue
            self.blocks.forget_from(request, chunk.start)
            self.scheduler.finish(request, RequestStatus.FINISHED_ERROR)
            failed.append(request)
        return failed


def _record_logprobs(request: Request, sampled: SampledTokens, row: int) -> None:
    """The sampled token's logprob and the top `params.logprobs` alternatives."""
    k = request.params.logprobs
    k = sampled.top_ids.shape[1] if k == -1 else k
    entry = {
        int(t): Logprob(float(lp), rank)
        for rank, (t, lp) in enumerate(
            zip(sampled.top_ids[row, :k], sampled.top_logprobs[row, :k], strict=True), start=1
        )
    }
    token, logprob = int(sampled.tokens[row]), float(sampled.logprobs[row])
    entry[token] = Logprob(logprob, int(sampled.ranks[row]))
    request.logprobs.append(entry)
    request.cumulative_logprob += logprob


def _record_prompt_logprobs(
    request: Request, chunk: ScheduledChunk, sampled: SampledTokens, first_row: int
) -> None:
    """Logprobs of prompt tokens start+1 .. end (position 0 has none), once each."""
    logprobs, ranks = sampled.prompt_logprobs, sampled.prompt_ranks
    top_ids, top_logprobs = sampled.prompt_top_ids, sampled.prompt_top_logprobs
    # The step computed these because this request asked (SamplingMode.prompt_logprobs).
    assert logprobs is not None and ranks is not None
    assert top_ids is not None and top_logprobs is not None
    if not request.prompt_logprobs:
        request.prompt_logprobs.append(None)
    k = request.params.prompt_logprobs
    for i in range(chunk.num_tokens):
        position = chunk.start + i + 1  # the prompt position this row predicts
        if position >= request.num_prompt_tokens:
            break
        if position < len(request.prompt_logprobs):
            continue  # recorded before a preemption
        row = first_row + i
        width = top_ids.shape[1] if k == -1 else k
        entry = {
            int(t): Logprob(float(lp), rank)
            for rank, (t, lp) in enumerate(
                zip(
                    top_ids[row, :width],
                    top_logprobs[row, :width],
                    strict=True,
                ),
                start=1,
            )
        }
        token = request.prompt_token_ids[position]
        entry[token] = Logprob(float(logprobs[row]), int(ranks[row]))
        request.prompt_logprobs.append(entry)


def _tokenize_bad_words(tokenizer, words: list[str]) -> list[list[int]]:
    """Each bad word's token sequences: as written and after a space (as it follows another
    word), without special tokens; duplicates once."""
    sequences: list[list[int]] = []
    for word in words:
        for text in (word, " " + word.lstrip()):
            ids = list(tokenizer.encode(text, add_special_tokens=False))
            if ids and ids not in sequences:
                sequences.append(ids)
    return sequences


def _check_supported(params: SamplingParams) -> None:
    """Refuse options the engine would otherwise silently ignore."""
    unsupported = [
        name
        for name, active in (("n > 1 (use LLM.generate, which expands it)", params.n > 1),)
        if active
    ]
    if unsupported:
        raise ValueError(f"not supported by this engine yet: {', '.join(unsupported)}")
