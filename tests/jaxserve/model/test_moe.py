"""The experts' MLP against a token-by-token loop, and the router's two conventions."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxserve.errors import ModelConfigError
from jaxserve.model.config import ModelConfig
from jaxserve.model.moe import MoEConfig, moe_mlp, route

pytestmark = pytest.mark.cpu


def naive(h, lp, moe):
    """Each token through its k experts one at a time, as the models' papers write it."""
    probs = jax.nn.softmax(h @ lp["router"], axis=-1)
    out = np.zeros_like(h)
    for t in range(h.shape[0]):
        best = np.argsort(-probs[t], kind="stable")[: moe.top_k]
        weights = probs[t, best] / (probs[t, best].sum() if moe.renormalize else 1.0)
        for x, w in zip(best, weights, strict=True):
            gate, up = h[t] @ lp["we_gate"][x], h[t] @ lp["we_up"][x]
            out[t] += w * ((jax.nn.silu(gate) * up) @ lp["we_down"][x])
    return out


@pytest.mark.parametrize("experts, top_k", [(4, 1), (8, 2), (16, 4), (8, 8)])
@pytest.mark.parametrize("renormalize", [True, False])
def test_moe_mlp_matches_a_token_loop(experts, top_k, renormalize):
    moe = MoEConfig(num_experts=experts, top_k=top_k, expert_size=24, renormalize=renormalize)
    rng = np.random.default_rng(experts * 10 + top_k)
    e, t = 16, 11  # some experts get no token when experts > t * top_k / 2
    lp = {
        "router": rng.normal(size=(e, experts)).astype(np.float32),
        "we_gate": rng.normal(size=(experts, e, 24)).astype(np.float32) / 4,
        "we_up": rng.normal(size=(experts, e, 24)).astype(np.float32) / 4,
        "we_down": rng.normal(size=(experts, 24, e)).astype(np.float32) / 4,
    }
    h = rng.normal(size=(t, e)).astype(np.float32)
    ours = jax.jit(lambda h, lp: moe_mlp(h, lp, moe, jax.nn.silu))(h, lp)
    np.testing.assert_allclose(np.asarray(ours), naive(h, lp, moe), rtol=2e-5, atol=2e-5)


def test_route_renormalizes_only_when_asked():
    logits = jnp.log(jnp.array([[0.5, 0.3, 0.2]]))
    for renormalize, expected in ((True, [0.625, 0.375]), (False, [0.5, 0.3])):
        moe = MoEConfig(num_experts=3, top_k=2, expert_size=1, renormalize=renormalize)
        weights, experts = route(logits, moe)
        np.testing.assert_allclose(np.asarray(weights[0]), expected, rtol=1e-6)
        assert list(np.asarray(experts[0])) == [0, 1]


BASE = {
    "architectures": ["Qwen2MoeForCausalLM"],
    "vocab_size": 100,
    "hidden_size": 64,
    "intermediate_size": 96,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_experts": 8,
    "num_experts_per_tok": 2,
    "moe_intermediate_size": 32,
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mlp_only_layers": [1]}, "dense layers among the sparse ones"),
        ({"decoder_sparse_step": 2}, "dense layers among the sparse ones"),
        ({"num_experts_per_tok": 9}, r"num_experts_per_tok must be in \[1, 8\]"),
    ],
)
def test_unsupported_expert_layouts_are_named(change, message):
    with pytest.raises(ModelConfigError, match=message):
        ModelConfig.from_hf({**BASE, **change})
