"""The model graph is the same function as Hugging Face's PyTorch implementation.

For every supported architecture (GQA and MHA, tied and untied embeddings, Llama 3 RoPE
scaling, Qwen2 biases, Qwen3 q/k norms, a Mistral sliding window, Phi-3's fused tensors and
longrope, Gemma 2's soft-capped attention, Gemma 3's local and global layers, Mixtral,
Qwen2-MoE's shared expert, Qwen3-MoE, gpt-oss's sinks, biases and experts), in float32 and
from checkpoints stored in bfloat16: prompt logits within 1e-4 relative error, and greedy
continuations of a batch of prompts of different lengths, the longest prefilled in chunks,
token-identical to `model.generate(do_sample=False)`.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jaxserve import LLM, SamplingParams
from jaxserve.engine.packing import SequenceChunk
from jaxserve.engine.request import Request
from tests.tiny_models import ARCH_CASES, load_hf_model

pytestmark = pytest.mark.cpu

# Different lengths; the longest crosses the Mistral case's sliding window and several pages.
PROMPTS = [[1, 5, 9, 33, 100, 7, 8], [1, 200, 3], [1, *range(3, 60)]]
NEW_TOKENS = 32
REL_TOL = 1e-4


def relative_error(ours: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(ours - ref) / np.linalg.norm(ref))


def prompt_logits(llm: LLM, prompt: list[int]) -> np.ndarray:
    """f32[len(prompt), V]: the logits after every prompt token, from one prefill."""
    blocks = llm.engine.blocks
    probe = Request("probe", list(prompt), SamplingParams(temperature=0), 1, frozenset())
    assert blocks.allocate_slots(probe, len(prompt))
    try:
        chunk = SequenceChunk(prompt, 0, blocks.page_table(probe))
        return llm.runner.logits([chunk], all_logits=True)
    finally:
        blocks.free(probe)


def hf_greedy(model, prompt: list[int]) -> list[int]:
    model.generation_config.eos_token_id = None  # run the full length, as ignore_eos does
    ids = torch.tensor([prompt])
    out = model.generate(
        ids,
        attention_mask=torch.ones_like(ids),
        do_sample=False,
        max_new_tokens=NEW_TOKENS,
        pad_token_id=0,
    )
    return out[0, len(prompt) :].tolist()


# Checkpoints stored in bfloat16 (read, upcast, compared with HF upcast the same way): the
# loader's dtype path, once for plain tensors, once for fused rows (Phi-3) and once for
# interleaved expert tensors (gpt-oss); the other architectures read the same way.
BFLOAT16_STORED = ("llama-gqa-untied", "phi3-gqa-longrope", "gpt-oss-sinks")


PARITY_CASES = [
    *ARCH_CASES,
    *(spec.with_dtype("bfloat16") for spec in ARCH_CASES if spec.name in BFLOAT16_STORED),
]


@pytest.mark.parametrize("spec", PARITY_CASES, ids=lambda s: s.name)
def test_matches_hugging_face(spec, tiny_checkpoints):
    path = tiny_checkpoints(spec)
    hf = load_hf_model(path)  # float32, upcast from the stored dtype
    # 24 tokens a step: the 57-token prompt is prefilled in three chunks, beside the others.
    llm = LLM(path, dtype="float32", max_model_len=128, max_num_batched_tokens=24)

    assert_matches_hugging_face(llm, hf)
    assert llm.engine.blocks.num_free_blocks == llm.engine.blocks.capacity, "pages leaked"


def assert_matches_hugging_face(llm: LLM, hf) -> None:
    """Prompt logits within `REL_TOL` of `hf`'s and greedy continuations token-identical."""
    with torch.no_grad():
        for prompt in PROMPTS:
            ref = hf(torch.tensor([prompt])).logits[0].numpy()
            top2 = np.sort(ref, axis=-1)[:, -2:]
            assert (top2[:, 1] - top2[:, 0]).min() > 1e-4, "test model has near-tied logits"
            err = relative_error(prompt_logits(llm, prompt), ref)
            assert err < REL_TOL, f"prompt of {len(prompt)} tokens: relative error {err:.2e}"

        outputs = llm.generate(
            [{"prompt_token_ids": p} for p in PROMPTS],
            SamplingParams(temperature=0.0, max_tokens=NEW_TOKENS, ignore_eos=True),
            use_tqdm=False,
        )
        for prompt, output in zip(PROMPTS, outputs, strict=True):
            assert output.prompt_token_ids == prompt
            completion = output.outputs[0]
            assert completion.finish_reason == "length"
            assert completion.token_ids == hf_greedy(hf, prompt)
