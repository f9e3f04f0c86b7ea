"""Tiny random checkpoints of every supported architecture, written by `transformers`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

VOCAB = 320


@dataclasses.dataclass(frozen=True)
class TinySpec:
    name: str
    architecture: str
    num_kv_heads: int = 2
    tie: bool = False
    dtype: str = "float32"
    rope_llama3: bool = False
    num_heads: int = 4
    intermediate_size: int = 96
    sliding_window: int | None = None
    longrope: bool = False  # Phi-3's RoPE scaling (positions here stay below its switch)
    num_layers: int = 2
    experts: int = 0  # a mixture of this many experts in every layer, two per token
    attention_bias: bool = False  # biases on q, k, v and o (a config key, not the family's)
    seed: int = 0

    def with_dtype(self, dtype: str) -> TinySpec:
        return dataclasses.replace(self, name=f"{self.name}-{dtype}", dtype=dtype)


ARCH_CASES = (
    TinySpec("llama-gqa-untied", "LlamaForCausalLM", num_kv_heads=2),
    TinySpec("llama3-mha-tied", "LlamaForCausalLM", num_kv_heads=4, tie=True, rope_llama3=True),
    TinySpec("mistral-gqa-window", "MistralForCausalLM", num_kv_heads=2, sliding_window=24, seed=1),
    TinySpec("qwen2-gqa-tied", "Qwen2ForCausalLM", num_kv_heads=2, tie=True),
    TinySpec("qwen3-mha-biased", "Qwen3ForCausalLM", num_kv_heads=4, attention_bias=True),
    TinySpec("phi3-gqa-longrope", "Phi3ForCausalLM", num_kv_heads=2, longrope=True, seed=2),
    # Local, global, local: a whole pattern of two and one layer past it; a window the
    # longest prompt crosses.
    TinySpec("gemma3-local-global", "Gemma3ForCausalLM", sliding_window=24, num_layers=3, seed=3),
    TinySpec("gemma2-softcap", "Gemma2ForCausalLM", sliding_window=24, num_layers=3, seed=7),
    TinySpec("mixtral-8-experts", "MixtralForCausalLM", experts=8, seed=4),
    TinySpec("qwen2moe-shared-expert", "Qwen2MoeForCausalLM", experts=4, seed=5),
    TinySpec("qwen3moe-renormalized", "Qwen3MoeForCausalLM", num_kv_heads=4, experts=6, seed=6),
    # Sinks, biases, the clamped SwiGLU, local and global layers, YaRN.
    TinySpec("gpt-oss-sinks", "GptOssForCausalLM", sliding_window=24, experts=4, seed=8),
)
CONFIG_CLASSES = {"Gemma3ForCausalLM": "Gemma3TextConfig"}

# Larger than transformers' default init so the logits are far apart: greedy decoding then
# has no near-ties for float rounding to flip.
INIT_STD = 0.35


def hf_config(spec: TinySpec):
    import transformers

    common = dict(
        vocab_size=VOCAB,
        hidden_size=64,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads,
        num_key_value_heads=spec.num_kv_heads,
        head_dim=16,
        max_position_embeddings=256,
        tie_word_embeddings=spec.tie,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
        initializer_range=INIT_STD,
        rms_norm_eps=1e-6,
    )
    if spec.sliding_window:
        common["sliding_window"] = spec.sliding_window
    if spec.attention_bias:
        common["attention_bias"] = True
    if spec.rope_llama3:
        common["rope_scaling"] = {
            "rope_type": "llama3",
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 32,
        }
        common["rope_theta"] = 500000.0
    if spec.longrope:
        half = 16 // 2  # head_dim / 2
        common["rope_parameters"] = {
            "rope_type": "longrope",
            "rope_theta": 10000.0,
            "short_factor": [1.0 + 0.25 * i for i in range(half)],
            "long_factor": [2.0 + 0.5 * i for i in range(half)],
        }
        common["original_max_position_embeddings"] = 128  # and 256 in all: attention factor
    if spec.architecture == "Gemma3ForCausalLM":
        common |= {
            "layer_types": ["sliding_attention", "full_attention", "sliding_attention"],
            "query_pre_attn_scalar": 24,
            "final_logit_softcapping": 30.0,
            "rope_parameters": {
                "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                "full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 1e6},
            },
        }
    if spec.architecture == "Gemma2ForCausalLM":
        common |= {
            "layer_types": ["sliding_attention", "full_attention", "sliding_attention"],
            "query_pre_attn_scalar": 24,
            "attn_logit_softcapping": 4.0,  # low enough to bend the tiny model's scores
            "final_logit_softcapping": 30.0,
        }
    elif spec.architecture == "GptOssForCausalLM":
        common |= {
            "num_local_experts": spec.experts,
            "num_experts_per_tok": 2,
            "intermediate_size": 32,
            "layer_types": ["sliding_attention", "full_attention"],
            "swiglu_limit": 3.0,  # within reach of the tiny model's activations
            "rope_parameters": {
                "rope_type": "yarn",
                "rope_theta": 150000.0,
                "factor": 4.0,
                "beta_fast": 32.0,
                "beta_slow": 1.0,
                "truncate": False,
                "original_max_position_embeddings": 64,
            },
        }
    elif spec.architecture == "MixtralForCausalLM":
        common |= {"num_local_experts": spec.experts, "num_experts_per_tok": 2}
    elif spec.experts:  # Qwen2-MoE (with its shared expert) and Qwen3-MoE
        common |= {"num_experts": spec.experts, "num_experts_per_tok": 2}
        common |= {"moe_intermediate_size": 32, "norm_topk_prob": spec.num_kv_heads == 4}
        if spec.architecture == "Qwen2MoeForCausalLM":
            common["shared_expert_intermediate_size"] = 48
    name = CONFIG_CLASSES.get(spec.architecture, spec.architecture.replace("ForCausalLM", "Config"))
    return getattr(transformers, name)(**common)


def write_tokenizer(path: Path) -> None:
    """A byte-level BPE tokenizer trained on a few sentences, vocabulary of `VOCAB` ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    text = [
        "the quick brown fox jumps over the lazy dog",
        "hello world, hello jax",
        "paged attention serves many requests at once",
    ] * 20
    tok.train_from_iterator(text, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    fast.chat_template = (
        "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}"
    )
    fast.save_pretrained(path)


def build_hf_model(spec: TinySpec):
    import torch
    import transformers

    torch.manual_seed(spec.seed)
    model = getattr(transformers, spec.architecture)(hf_config(spec))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))  # norms off 1 so the test sees them
            else:
                p.normal_(0.0, INIT_STD)
    return model.eval()


def write_tiny_checkpoint(path: Path, spec: TinySpec) -> None:
    import torch

    model = build_hf_model(spec)
    model.to(getattr(torch, spec.dtype))
    model.save_pretrained(path)
    write_tokenizer(path)


def load_hf_model(path: str, dtype: str = "float32"):
    """The checkpoint as a float32 HF model (upcast if stored in a narrower dtype)."""
    import torch
    import transformers

    model = transformers.AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return model.to(getattr(torch, dtype)).eval()
