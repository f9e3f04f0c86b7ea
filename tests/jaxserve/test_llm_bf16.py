"""bfloat16 compute against float32 on the same bfloat16 checkpoint: log-probabilities within a
bfloat16 tolerance, and the same greedy tokens where the logits are well apart."""

from __future__ import annotations

import numpy as np
import pytest

from jaxserve import LLM, SamplingParams
from tests.tiny_models import TinySpec

# Both forms of LM head (tied: the embeddings transposed; untied: its own matrix).
SPECS = [
    TinySpec("bf16-llama-tied", "LlamaForCausalLM", tie=True, dtype="bfloat16", seed=4),
    TinySpec("bf16-qwen2-untied", "Qwen2ForCausalLM", dtype="bfloat16", seed=5),
]
OPTIONS = dict(max_model_len=64, max_num_seqs=4, skip_tokenizer_init=True, warmup=False)
PROMPTS = [{"prompt_token_ids": [1, 2, 3, 4, 5, 6, 7, 8]}, {"prompt_token_ids": [9, 3] * 10}]
# bfloat16 keeps 8 significant bits: each matmul input is rounded to within 2^-9 of itself
# (relative), and a logit passes through about 8 such roundings in this 2-layer model; its
# error stays within 2% of the spread of the log-probabilities (measured: 0.5-1.5%).
LOGPROB_RTOL = 0.02


def _prompt_logprobs(llm: LLM) -> list[np.ndarray]:
    """[prompt positions - 1, V] log-probabilities of every vocabulary entry, per prompt."""
    params = SamplingParams(max_tokens=1, prompt_logprobs=-1, temperature=0.0)
    outs = llm.generate(PROMPTS, params, use_tqdm=False)
    tables = []
    for out in outs:
        rows = [row for row in out.prompt_logprobs if row is not None]
        vocab = max(max(row) for row in rows) + 1
        table = np.full((len(rows), vocab), -np.inf)
        for i, row in enumerate(rows):
            for token, logprob in row.items():
                table[i, token] = logprob.logprob
        tables.append(table)
    return tables


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_bfloat16_compute_is_within_bfloat16_tolerance_of_float32(tiny_checkpoints, spec):
    path = tiny_checkpoints(spec)
    f32, bf16 = LLM(path, dtype="float32", **OPTIONS), LLM(path, dtype="bfloat16", **OPTIONS)
    assert str(bf16.runner.kv_cache.k.dtype) == "bfloat16"
    assert str(f32.runner.kv_cache.k.dtype) == "float32"
    worst, compared, agreed = 0.0, 0, 0  # the largest error, as a share of its row's spread
    for want, got in zip(_prompt_logprobs(f32), _prompt_logprobs(bf16), strict=True):
        assert want.shape == got.shape
        spread = want.max(axis=1) - want.min(axis=1)  # [positions]
        worst = max(worst, float((np.abs(got - want).max(axis=1) / spread).max()))
        # The greedy token after each prefix, where float32's best two are well apart: more
        # than twice the tolerance, so bfloat16's rounding cannot swap them.
        top2 = np.sort(want, axis=1)[:, -2:]  # [positions, 2]
        apart = top2[:, 1] - top2[:, 0] > 2 * LOGPROB_RTOL * spread
        compared += int(apart.sum())
        agreed += int((want.argmax(axis=1) == got.argmax(axis=1))[apart].sum())
    assert 0 < worst <= LOGPROB_RTOL  # bfloat16 differs, but not by more than its rounding
    assert compared >= 8 and agreed == compared  # not vacuous
