"""`disaggregated_prefill`: what cannot be served that way is refused, naming why."""

from __future__ import annotations

import sys
import types

import pytest

from jaxserve.disagg.serve import DisaggregationUnavailable, decode_remotely, ray_cluster
from jaxserve.server.config import ConfigError, config_from_dict


def test_without_ray_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with (
        pytest.raises(DisaggregationUnavailable, match=r"pip install 'jaxserve\[ray\]'"),
        ray_cluster(),
    ):
        pass


def test_a_vision_language_model_is_refused():
    llm = types.SimpleNamespace(config=types.SimpleNamespace(multimodal=object()), engine="own")
    with (
        pytest.raises(DisaggregationUnavailable, match="images are not handed off"),
        decode_remotely(llm, prefill=None),
    ):
        pass
    assert llm.engine == "own"


@pytest.mark.parametrize(
    "other", [{"replicas": 2}, {"distributed": {"num_processes": 2}}], ids=["replicas", "dist"]
)
def test_it_combines_with_neither_replicas_nor_distributed(other):
    with pytest.raises(ConfigError, match="disaggregated_prefill cannot be combined"):
        config_from_dict({"model": "/m", "disaggregated_prefill": True, **other})
    assert config_from_dict({"model": "/m", "disaggregated_prefill": True}).disaggregated_prefill
