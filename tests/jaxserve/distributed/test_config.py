"""The `distributed:` section: every bad key or value is named before anything starts."""

from __future__ import annotations

import pytest

from jaxserve.distributed.config import DistributedConfig, DistributedConfigError
from jaxserve.server.config import ConfigError, config_from_dict


def test_a_full_section_is_read():
    config = config_from_dict(
        {
            "model": "/m",
            "distributed": {
                "coordinator_address": "10.0.0.1:1234",
                "num_processes": 2,
                "process_id": 1,
                "heartbeat_timeout": 2.5,
            },
        }
    )
    assert config.distributed == DistributedConfig(
        coordinator_address="10.0.0.1:1234", num_processes=2, process_id=1, heartbeat_timeout=2.5
    )
    assert config_from_dict({"model": "/m"}).distributed is None


def test_keys_left_out_come_from_the_environment_and_the_command_line():
    section = DistributedConfig.from_mapping({"num_processes": 4})
    assert section.coordinator_address is None and section.process_id is None
    assert section.with_process_id(3).process_id == 3
    assert section.with_process_id(None) is section


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("leader", "distributed must be a mapping"),
        ({"processes": 2}, r"unknown distributed key\(s\) \['processes'\]; valid keys are"),
        ({"coordinator_address": "10.0.0.1"}, "must be 'host:port', got '10.0.0.1'"),
        ({"coordinator_address": "h:99999"}, "must be 'host:port'"),
        ({"num_processes": "2"}, r"num_processes must be int, got '2' \(str\)"),
        ({"num_processes": True}, "num_processes must be int"),
        ({"num_processes": 0}, "num_processes must be at least 1, got 0"),
        ({"process_id": -1}, "process_id must not be negative"),
        ({"num_processes": 2, "process_id": 2}, "process_id must be below num_processes=2"),
        ({"heartbeat_timeout": 0}, "heartbeat_timeout must be positive"),
        ({"heartbeat_timeout": None}, "heartbeat_timeout must be int or a number"),
        ({"initialization_timeout": 0.5}, "initialization_timeout must be int"),
    ],
)
def test_bad_sections_are_refused(section, message):
    with pytest.raises(DistributedConfigError, match=message):
        config_from_dict({"model": "/m", "distributed": section})


def test_the_server_config_names_a_wrong_type():
    with pytest.raises(ConfigError, match="distributed must be DistributedConfig or null"):
        from jaxserve.server.config import ServerConfig

        ServerConfig(model="/m", distributed={"num_processes": 2})


def test_a_model_split_over_some_processes_devices_only_is_refused(tiny_checkpoints, monkeypatch):
    from jaxserve import LLM
    from jaxserve.errors import ModelConfigError
    from tests.tiny_models import ARCH_CASES

    monkeypatch.setattr("jaxserve.llm.jax.process_count", lambda: 2)
    with pytest.raises(ModelConfigError, match=r"tensor_parallel_size=2 must span all 8 devices"):
        LLM(tiny_checkpoints(ARCH_CASES[0]), tensor_parallel_size=2, warmup=False)
