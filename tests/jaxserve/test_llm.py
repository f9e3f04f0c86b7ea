"""The offline `LLM` API: prompt forms, outputs, batching options and bad input."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import platforms
from jaxserve import LLM, RequestOutput, SamplingParams, progress
from jaxserve.engine.packing import warmup_buckets
from jaxserve.errors import EngineBusyError, ModelConfigError
from jaxserve.model.llama import compute_logits
from pallas_kernels.matmul import XLA_MATMUL
from platforms.attention import import_kernel
from tests.tiny_models import TinySpec

pytestmark = pytest.mark.cpu

SPEC = TinySpec("llm-api", "Qwen2ForCausalLM", num_kv_heads=2, seed=3)
GREEDY = SamplingParams(temperature=0.0, max_tokens=12, ignore_eos=True)
LONG = [1, *range(40, 97)]  # 58 tokens


@pytest.fixture(scope="module")
def model_path(tiny_checkpoints):
    return tiny_checkpoints(SPEC)


@pytest.fixture(scope="module")
def llm(model_path):
    return LLM(model_path, max_model_len=128)


def tokens(outputs: list[RequestOutput]) -> list[list[int]]:
    return [o.outputs[0].token_ids for o in outputs]


def test_text_prompts_are_tokenized_and_decoded(llm):
    prompts = ["hello world", "the quick brown fox"]
    outputs = llm.generate(prompts, GREEDY, use_tqdm=False)
    tok = llm.get_tokenizer()
    for prompt, output in zip(prompts, outputs, strict=True):
        assert output.prompt == prompt
        assert output.prompt_token_ids == tok.encode(prompt)
        completion = output.outputs[0]
        assert len(completion.token_ids) == 12 and completion.finish_reason == "length"
        assert completion.text == tok.decode(completion.token_ids, skip_special_tokens=True)
        assert output.finished
    single = llm.generate("hello world", GREEDY, use_tqdm=False)
    assert tokens(single) == tokens(outputs[:1])


def test_prompt_forms_agree(llm):
    ids = llm.get_tokenizer().encode("hello jax")
    by_text = llm.generate({"prompt": "hello jax"}, GREEDY, use_tqdm=False)
    by_ids = llm.generate([{"prompt_token_ids": ids}], GREEDY, use_tqdm=False)
    assert tokens(by_text) == tokens(by_ids)
    assert by_ids[0].prompt is None and by_ids[0].prompt_token_ids == ids


def test_chat_uses_the_chat_template(llm):
    conversation = [{"role": "user", "content": "hello world"}]
    (reply,) = llm.chat(conversation, GREEDY, use_tqdm=False)
    text = "<s>user: hello world\nassistant:"
    assert reply.prompt == text
    assert reply.prompt_token_ids == llm.get_tokenizer().encode(text, add_special_tokens=False)
    assert reply.prompt_token_ids.count(1) == 1, "BOS must appear once"
    (plain,) = llm.generate({"prompt_token_ids": reply.prompt_token_ids}, GREEDY, use_tqdm=False)
    assert reply.outputs[0].token_ids == plain.outputs[0].token_ids
    replies = llm.chat([conversation, [{"role": "user", "content": "jax"}]], GREEDY, use_tqdm=False)
    assert len(replies) == 2 and replies[0].outputs[0].token_ids == reply.outputs[0].token_ids


def test_chat_template_options_reach_the_template(llm):
    template = (  # HF renders with trim_blocks: a newline right after a tag would go
        "{% if tools %}tools: {{ tools | map(attribute='function.name') | join(',') }}"
        "{{ '\\n' }}{% endif %}{% if mood %}mood: {{ mood }}{{ '\\n' }}{% endif %}"
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}{{ '\\n' }}{% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}"
    )
    tools = [{"type": "function", "function": {"name": "get_time"}}]
    conversation = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hel"}]
    (reply,) = llm.chat(
        conversation,
        GREEDY,
        use_tqdm=False,
        chat_template=template,
        chat_template_kwargs={"mood": "calm"},
        tools=tools,
        add_generation_prompt=False,
        continue_final_message=True,
    )
    assert reply.prompt == "tools: get_time\nmood: calm\nuser: hi\nassistant: hel"
    with pytest.raises(ValueError, match="continue_final_message needs add_generation_prompt"):
        llm.chat(conversation, GREEDY, use_tqdm=False, continue_final_message=True)


def test_per_prompt_sampling_params(llm):
    params = [SamplingParams(temperature=0, max_tokens=n, ignore_eos=True) for n in (3, 7)]
    outputs = llm.generate(["hello", "world"], params, use_tqdm=False)
    assert [len(t) for t in tokens(outputs)] == [3, 7]


def test_stop_token_ids_end_generation(llm):
    free = tokens(llm.generate({"prompt_token_ids": LONG}, GREEDY, use_tqdm=False))[0]
    stop_token = free[4]
    cut = free.index(stop_token)
    params = SamplingParams(temperature=0, max_tokens=12, stop_token_ids=[stop_token])
    (output,) = llm.generate({"prompt_token_ids": LONG}, params, use_tqdm=False)
    assert output.outputs[0].token_ids == free[: cut + 1]
    assert output.outputs[0].finish_reason == "stop"
    assert output.outputs[0].stop_reason == stop_token


def test_chunked_prefill_and_batch_limits_do_not_change_tokens(model_path, llm):
    prompts = [
        {"prompt_token_ids": LONG},
        {"prompt_token_ids": [1, 9, 8]},
        {"prompt_token_ids": LONG[:30]},
    ]
    expected = tokens(llm.generate(prompts, GREEDY, use_tqdm=False))
    small = LLM(
        model_path,
        max_model_len=128,
        max_num_batched_tokens=8,
        page_size=8,
        max_num_seqs=2,
        skip_tokenizer_init=True,
    )
    assert tokens(small.generate(prompts, GREEDY, use_tqdm=False)) == expected
    assert small.engine.blocks.num_free_blocks == small.engine.blocks.capacity


def test_bfloat16_compute(model_path):
    llm = LLM(model_path, dtype="bfloat16", max_model_len=64, skip_tokenizer_init=True)
    layers = llm.runner.params["layers"]
    assert (layers["w_qkv"] if "w_qkv" in layers else layers["wq"]).dtype == jnp.bfloat16
    assert llm.runner.kv_cache.k.dtype == jnp.bfloat16
    (output,) = llm.generate({"prompt_token_ids": [1, 2, 3]}, GREEDY, use_tqdm=False)
    assert len(output.outputs[0].token_ids) == 12


def test_kv_cache_sizing(model_path):
    llm = LLM(model_path, max_model_len=64, num_pages=9, skip_tokenizer_init=True)
    assert llm.runner.kv_cache.k.shape[1] == 9
    with pytest.raises(ModelConfigError, match="fewer than one sequence of max_model_len=64"):
        LLM(model_path, max_model_len=64, kv_cache_memory=1000, skip_tokenizer_init=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dtype": "float8"}, "dtype must be 'auto' or one of"),
        ({"page_size": 12}, "page_size must be a power of two"),
        ({"max_num_seqs": 0}, "max_num_seqs must be at least 1"),
        ({"max_model_len": 1}, "max_model_len must be at least 2"),
    ],
)
def test_bad_options_are_named(model_path, kwargs, message):
    with pytest.raises(ModelConfigError, match=message):
        LLM(model_path, **kwargs)


def test_bad_prompts_are_named(llm):
    with pytest.raises(ValueError, match="each prompt must be a string or a dict"):
        llm.generate([42], GREEDY)
    with pytest.raises(ValueError, match="got 1 sampling params for 2 prompts"):
        llm.generate(["a", "b"], [GREEDY])
    with pytest.raises(ValueError, match="max_model_len is 128"):
        llm.generate({"prompt_token_ids": [5] * 200}, GREEDY)
    # the engine is unharmed: the next call works and no pages leaked
    assert len(tokens(llm.generate("hello", GREEDY, use_tqdm=False))[0]) == 12
    assert llm.engine.blocks.num_free_blocks == llm.engine.blocks.capacity


def test_generate_refuses_while_another_holder_has_the_engine(llm):
    holder = "a test (release_engine() it)"
    llm.claim_engine(holder)
    try:
        with pytest.raises(EngineBusyError, match=r"in use by a test \(release_engine\(\) it\)"):
            llm.generate("hello", GREEDY, use_tqdm=False)
        with pytest.raises(EngineBusyError):
            llm.claim_engine("another test")
        with pytest.raises(RuntimeError, match="another test does not hold the engine"):
            llm.release_engine("another test")
        assert not llm.engine.has_unfinished()  # the refused call queued nothing
    finally:
        llm.release_engine(holder)
    (output,) = llm.generate("hello", GREEDY, use_tqdm=False)
    assert len(output.outputs[0].token_ids) == 12


def test_start_shows_its_stages_in_a_notebook(model_path, monkeypatch, capsys):
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    monkeypatch.setattr("jaxserve.llm.warmup_buckets", warmup_buckets)  # undo _compile_lazily
    llm = LLM(model_path, max_model_len=32, max_num_seqs=2, max_num_batched_tokens=16)
    llm.generate("hello", GREEDY)
    err = capsys.readouterr().err
    shapes = len(warmup_buckets(2, 16))
    assert "loading weights" in err
    assert "compiling shape buckets: 100%" in err and f"{shapes}/{shapes}" in err
    assert "generating: 100%" in err


def test_bfloat16_checkpoint_keeps_bfloat16_matrices_with_the_same_tokens(
    tiny_checkpoints, monkeypatch
):
    """Float32 compute over bfloat16-stored weights: exactly widened, so XLA (float32 weights)
    and the native kernel (bfloat16 weights) pick the same greedy tokens."""
    path = tiny_checkpoints(SPEC.with_dtype("bfloat16"))
    prompts = [{"prompt_token_ids": [1, 2, 3, 4, 5]}, {"prompt_token_ids": [7] * 20}]
    options = dict(max_model_len=64, max_num_seqs=4, skip_tokenizer_init=True, warmup=False)
    native = LLM(path, dtype="float32", **options)
    if "w_qkv" not in native.runner.params["layers"]:  # fused for the native kernel only
        pytest.skip("the native matmul kernel is unavailable here")
    assert native.runner.params["layers"]["w_qkv"].dtype == jnp.bfloat16
    assert native.runner.params["embed"].dtype == jnp.float32
    assert native.runner.params["layers"]["attn_norm"].dtype == jnp.float32
    want = [o.outputs[0].token_ids for o in native.generate(prompts, GREEDY, use_tqdm=False)]
    monkeypatch.setattr(platforms, "matmul_kernel", lambda *args, **kwargs: XLA_MATMUL)
    xla = LLM(path, dtype="float32", **options)
    assert xla.runner.params["layers"]["wq"].dtype == jnp.float32
    got = [o.outputs[0].token_ids for o in xla.generate(prompts, GREEDY, use_tqdm=False)]
    assert got == want


def test_tied_lm_head_gives_a_row_the_same_logits_alone_and_in_a_batch(tiny_checkpoints):
    """A tied checkpoint's logits come from the native kernel's transposed product for any
    number of rows: a sequence's logits row is bitwise the same alone and among 12 others (13
    rows, past the 8 that XLA's GEMM once took over at) or 40, and so is its greedy token."""
    module = import_kernel("pallas_kernels.matmul.cpu")[0]
    if module is None:
        pytest.skip("the native matmul kernel is unavailable here")
    path = tiny_checkpoints(TinySpec("llm-api-tied", "Qwen2ForCausalLM", tie=True, seed=3))
    llm = LLM(path, max_model_len=64, skip_tokenizer_init=True, warmup=False)
    cfg, params = llm.runner.cfg, llm.runner.params
    assert cfg.tie_word_embeddings and "lm_head" not in params
    logits_of = jax.jit(functools.partial(compute_logits, cfg=cfg, matmul=module.KERNEL))
    hidden = jnp.asarray(np.random.default_rng(0).standard_normal((40, cfg.hidden_size)))  # [T, E]
    hidden = hidden.astype(jnp.float32)
    for row in (0, 5, 12):
        alone = np.asarray(logits_of(params, hidden, jnp.asarray([row], jnp.int32)))  # [1, V]
        for batch in (13, 40):
            logits = np.asarray(logits_of(params, hidden, jnp.arange(batch, dtype=jnp.int32)))
            np.testing.assert_array_equal(logits[row], alone[0], err_msg=f"{batch} rows")
            assert logits[row].argmax() == alone[0].argmax()
