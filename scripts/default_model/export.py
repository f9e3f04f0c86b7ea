"""Writes the trained model as a Hugging Face `LlamaForCausalLM` directory, with its card."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from default_model.model import LlamaShape
from default_model.tokenizer import BOS, EOS, IM_END, IM_START, PAD


@dataclasses.dataclass(frozen=True)
class Figures:
    """What the model card reports."""

    num_params: int
    train_tokens: int
    held_out_tokens: int
    steps: int
    batch_size: int
    seq_len: int
    final_loss: float
    model_ppl: float
    unigram_ppl: float
    wall_minutes: float
    cpu_minutes: float
    command: str
    train_files: int
    held_out_files: int
    chat_examples: int
    python_version: str


def hf_tensors(params: dict, shape: LlamaShape) -> dict[str, np.ndarray]:
    """Our [in, out] layouts -> torch Linear's [out, in], under HF Llama's tensor names."""
    p = {name: np.asarray(value, np.float32) for name, value in params.items()}
    e, h, k, d = shape.hidden_size, shape.num_heads, shape.num_kv_heads, shape.head_dim
    out = {"model.embed_tokens.weight": p["embed"], "model.norm.weight": p["final_norm"]}
    for i in range(shape.num_layers):
        prefix = f"model.layers.{i}."
        out[prefix + "input_layernorm.weight"] = p["attn_norm"][i]
        out[prefix + "post_attention_layernorm.weight"] = p["mlp_norm"][i]
        out[prefix + "self_attn.q_proj.weight"] = p["wq"][i].reshape(e, h * d).T
        out[prefix + "self_attn.k_proj.weight"] = p["wk"][i].reshape(e, k * d).T
        out[prefix + "self_attn.v_proj.weight"] = p["wv"][i].reshape(e, k * d).T
        out[prefix + "self_attn.o_proj.weight"] = p["wo"][i].reshape(h * d, e).T
        out[prefix + "mlp.gate_proj.weight"] = p["w_gate"][i].T
        out[prefix + "mlp.up_proj.weight"] = p["w_up"][i].T
        out[prefix + "mlp.down_proj.weight"] = p["w_down"][i].T
    return {name: np.ascontiguousarray(value) for name, value in out.items()}


def hf_config(shape: LlamaShape, token_ids: dict[str, int]) -> dict:
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": shape.vocab_size,
        "hidden_size": shape.hidden_size,
        "intermediate_size": shape.intermediate_size,
        "num_hidden_layers": shape.num_layers,
        "num_attention_heads": shape.num_heads,
        "num_key_value_heads": shape.num_kv_heads,
        "head_dim": shape.head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": shape.max_position_embeddings,
        "rms_norm_eps": shape.rms_norm_eps,
        "rope_theta": shape.rope_theta,
        "rope_scaling": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "tie_word_embeddings": True,
        "initializer_range": shape.init_std,
        "bos_token_id": token_ids[BOS],
        "eos_token_id": token_ids[EOS],
        "pad_token_id": token_ids[PAD],
        "torch_dtype": "float32",
        "dtype": "float32",
        "use_cache": True,
    }


def write_checkpoint(
    out_dir: Path, params: dict, shape: LlamaShape, token_ids: dict[str, int]
) -> None:
    """config.json, generation_config.json and model.safetensors (float32, tied embeddings)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(hf_tensors(params, shape), out_dir / "model.safetensors", metadata={"format": "pt"})
    (out_dir / "config.json").write_text(json.dumps(hf_config(shape, token_ids), indent=2) + "\n")
    generation = {
        "bos_token_id": token_ids[BOS],
        # A completion ends at </s>; a chat reply at <|im_end|>.
        "eos_token_id": [token_ids[EOS], token_ids[IM_END]],
        "pad_token_id": token_ids[PAD],
    }
    (out_dir / "generation_config.json").write_text(json.dumps(generation, indent=2) + "\n")


def write_tokenizer_config(out_dir: Path, template: str, model_max_length: int) -> None:
    """Rewrites tokenizer_config.json in the form every supported `transformers` reads.

    transformers 5 saves `tokenizer_class: TokenizersBackend` and a list under
    `extra_special_tokens`, which transformers 4.x (pyproject allows >= 4.56) cannot load;
    it also moves the chat template to its own file, where versions before 4.47 do not look.
    """
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",  # an alias of TokenizersBackend in v5
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": PAD,
        "additional_special_tokens": [IM_START, IM_END],
        "model_max_length": model_max_length,
        "clean_up_tokenization_spaces": False,
        "chat_template": template,
    }
    path = out_dir / "tokenizer_config.json"
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")


def directory_bytes(out_dir: Path) -> int:
    return sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())


def write_model_card(out_dir: Path, shape: LlamaShape, figures: Figures, samples: str) -> None:
    """README.md: what the model is, how it was made, how well it does, what it writes."""
    f = figures
    ratio = f.unigram_ppl / f.model_ppl
    text = f"""# jaxserve default model

A {f.num_params / 1e6:.2f}M-parameter Llama (`LlamaForCausalLM`) trained from scratch on the
Python {f.python_version} standard library, so that `configs/default.yaml` serves a model on a
fresh machine with no download. It writes text that looks like stdlib Python and, through its
chat template, answers questions about stdlib APIs with docstring-like text. It is a toy: it
does not understand code, and what it writes is often wrong.

## Architecture

| | |
|---|---|
| layers | {shape.num_layers} |
| hidden size | {shape.hidden_size} |
| attention heads / KV heads | {shape.num_heads} / {shape.num_kv_heads}, head dim {shape.head_dim} |
| MLP | SwiGLU, intermediate size {shape.intermediate_size} |
| norm | RMSNorm, eps {shape.rms_norm_eps} |
| positions | RoPE, theta {shape.rope_theta:g}; trained on {f.seq_len}-token windows |
| vocabulary | {shape.vocab_size} (byte-level BPE), embeddings tied to the output head |
| parameters | {f.num_params:,} (float32) |
| context | max_position_embeddings {shape.max_position_embeddings} |

Text much longer than the {f.seq_len}-token training windows is outside what it was trained on.

## Data

The `.py` files of the standard library found through `sysconfig.get_paths()["stdlib"]`,
leaving out tests, site-packages, idlelib, turtledemo, lib2to3, ensurepip, encodings and
generated tables. Files are split by a SHA-256 hash of their relative path:
{f.train_files} files for training ({f.train_tokens:,} tokens), {f.held_out_files} held out
({f.held_out_tokens:,} tokens). From the training files, {f.chat_examples:,} chat examples
were made: the user asks about a public documented function or class (for example "What does
os.path.join do?") and the assistant answers with its signature and docstring. Each batch of
{f.batch_size} windows holds a fixed number of chat windows so the template is trained every
step.

Tokenizer: byte-level BPE trained on the same training split with the `tokenizers` library.
Special tokens `<pad>` (0), `<s>` (1, BOS, added to plain prompts), `</s>` (2, end of a
document), `<|im_start|>` (3) and `<|im_end|>` (4, end of a chat turn). The chat template is
ChatML-style and starts with `<s>`; generation stops at `</s>` or `<|im_end|>`.

## Training

Written in pure JAX (`scripts/default_model/`), float32, seeded. AdamW (b2 0.95, weight decay
0.1 on matrices), linear warmup then cosine decay, gradient clipping at 1.0. {f.steps} steps
of {f.batch_size} x {f.seq_len} tokens; final training loss {f.final_loss:.3f}. On this
machine's 2 CPU cores it took {f.wall_minutes:.1f} min wall clock ({f.cpu_minutes:.1f} min of
process CPU time; the wall figure includes any time the shared machine paused the job).

Exact command, from the repository root:

```
{f.command}
```

## Held-out evaluation

Per-token perplexity on the held-out files, non-overlapping {f.seq_len}-token windows:

| model | perplexity |
|---|---|
| this model | **{f.model_ppl:.2f}** |
| unigram baseline (training-split token frequencies, add-one smoothing) | {f.unigram_ppl:.2f} |

The model's perplexity is {ratio:.1f}x lower than the unigram baseline's.

## Samples (greedy)

{samples}
"""
    (out_dir / "README.md").write_text(text)
