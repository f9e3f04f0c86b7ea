"""The YAML config of `jaxserve run`: keys, types, choices, paths and the shipped default."""

from __future__ import annotations

from pathlib import Path

import pytest

from jaxserve.server.config import ConfigError, ServerConfig, load_config, parse_memory

REPO = Path(__file__).resolve().parents[3]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "serve.yaml"
    path.write_text(text)
    return path


def test_relative_model_is_taken_from_the_config_folder(tmp_path):
    (tmp_path / "configs").mkdir()
    path = write(tmp_path / "configs", "model: ../models/tiny\nport: 9000\n")
    config = load_config(path)
    assert config.model == str(tmp_path / "models" / "tiny")
    assert config.model_name == "tiny" and config.port == 9000
    assert load_config(path, port=1234, host=None).port == 1234, "command line wins"
    absolute = load_config(write(tmp_path, "model: /srv/m\nserved_model_name: chat\n"))
    assert absolute.model == "/srv/m" and absolute.model_name == "chat"


def test_defaults_and_engine_arguments(tmp_path):
    config = load_config(write(tmp_path, "model: m\nkv_cache_memory: 512MiB\n"))
    assert (config.host, config.port, config.webui, config.api_key) == (
        "127.0.0.1",
        8000,
        True,
        None,
    )
    kwargs = config.llm_kwargs()
    assert kwargs["kv_cache_memory"] == 512 * 2**20 and kwargs["attention_backend"] == "auto"
    assert kwargs["max_num_seqs"] == 64 and kwargs["enable_prefix_caching"] is True
    assert kwargs["scheduling_policy"] == "fcfs"
    by_priority = load_config(write(tmp_path, "model: m\nscheduling_policy: priority\n"))
    assert by_priority.llm_kwargs()["scheduling_policy"] == "priority"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model: m\nmax_num_seq: 4\n", r"unknown config key\(s\) \['max_num_seq'\]; valid keys"),
        ("model: m\nport: '80'\n", r"port must be int, got '80' \(str\)"),
        ("model: m\nenable_prefix_caching: 1\n", "enable_prefix_caching must be bool"),
        ("model: m\nmax_model_len: 1.5\n", "max_model_len must be int or null"),
        ("model: m\ncors_origins: '*'\n", "cors_origins must be a list of str"),
        ("model: m\ndtype: float8\n", r"dtype must be one of \['auto'"),
        ("model: m\nattention_backend: fast\n", "attention_backend must be one of"),
        ("model: m\nlog_level: loud\n", "log_level must be one of"),
        ("model: m\nscheduling_policy: lifo\n", "scheduling_policy must be one of"),
        ("model: m\nmax_num_seqs: 0\n", "max_num_seqs must be at least 1"),
        ("model: m\nport: 70000\n", "port must be in"),
        ("model: m\nkv_cache_memory: lots\n", "kv_cache_memory must be bytes or a size"),
        ("port: 80\n", "needs a 'model' key"),
        ("- model\n", "must be a mapping"),
        ("model: [oops\n", "is not valid YAML"),
    ],
)
def test_bad_configs_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def test_chat_template_from_a_file_or_inline(tmp_path):
    (tmp_path / "chat.jinja").write_text("{% for m in messages %}{{ m.content }}{% endfor %}")
    from_file = load_config(write(tmp_path, "model: m\nchat_template: chat.jinja\n"))
    assert from_file.chat_template == "{% for m in messages %}{{ m.content }}{% endfor %}"
    inline = load_config(write(tmp_path, "model: m\nchat_template: '{{ messages[0].content }}'\n"))
    assert inline.chat_template == "{{ messages[0].content }}"
    with pytest.raises(ConfigError, match="chat_template: cannot read"):
        load_config(write(tmp_path, "model: m\nchat_template: missing.jinja\n"))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path / "absent.yaml")


def test_memory_sizes():
    assert parse_memory(1000) == 1000
    assert parse_memory("2 GB") == 2 * 10**9 and parse_memory("1.5GiB") == 3 * 2**29
    with pytest.raises(ConfigError, match="must be positive"):
        parse_memory(0)


def test_api_key_from_the_environment(monkeypatch):
    monkeypatch.setenv("JAXSERVE_API_KEY", "from-env")
    assert ServerConfig(model="m").resolved_api_key == "from-env"
    assert ServerConfig(model="m", api_key="own").resolved_api_key == "own"


def test_shipped_default_config():
    config = load_config(REPO / "configs" / "default.yaml")
    assert config.model == str(REPO / "models" / "default")
    assert (config.host, config.port, config.webui) == ("127.0.0.1", 8000, True)


def test_readme_documents_every_key():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Serving: jaxserve run") :]
    for field in ServerConfig.__dataclass_fields__:
        assert f"`{field}`" in section, field
