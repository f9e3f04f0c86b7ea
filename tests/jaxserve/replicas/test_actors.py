"""Ray stays optional: a clear error without it, and no module but `actors` imports it."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

import jaxserve.replicas
from benchmarks.replicas_routing import REPLICA_CONFIG
from jaxserve import cli
from jaxserve.distributed.config import DistributedConfig
from jaxserve.replicas.actors import INSTALL_HINT, ReplicaSet, ReplicasUnavailable, require_ray
from jaxserve.server.config import ConfigError, ServerConfig, load_config

ROOT = Path(__file__).resolve().parents[3]


def imports_ray_node(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] == "ray" for alias in node.names)
    return isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "ray"


def imports_ray(path: Path) -> bool:
    return any(imports_ray_node(node) for node in ast.walk(ast.parse(path.read_text())))


def test_only_the_actors_module_imports_ray():
    package = Path(jaxserve.replicas.__file__).parent
    importers = {path.name for path in package.rglob("*.py") if imports_ray(path)}
    assert importers == {"actors.py"}


def test_ray_is_imported_only_when_replicas_start():
    """Not at module level: the base install imports the front and the CLI without Ray."""
    tree = ast.parse((Path(jaxserve.replicas.__file__).parent / "actors.py").read_text())
    top_level = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    assert not any(imports_ray_node(node) for node in top_level)


def test_without_ray_replicas_ask_for_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails
    with pytest.raises(ReplicasUnavailable, match=INSTALL_HINT.replace("[", r"\[")):
        require_ray()
    with pytest.raises(ReplicasUnavailable, match="not installed"):
        ReplicaSet(ServerConfig(model="/models/tiny", replicas=2))


def test_without_httpx_replicas_ask_for_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "httpx", None)
    with pytest.raises(ReplicasUnavailable, match="httpx is not installed"):
        require_ray()


def test_jaxserve_run_without_ray_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)
    config = tmp_path / "replicas.yaml"
    config.write_text(yaml.safe_dump({"model": str(tmp_path), "replicas": 2}))
    assert cli.main(["run", str(config)]) == 2
    assert INSTALL_HINT in capsys.readouterr().err


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("replicas", 0, "replicas must be at least 1"),
        ("replicas", "2", "replicas must be int"),
        ("routing", "random", "routing must be one of"),
    ],
)
def test_bad_replica_settings_are_config_errors(key, value, message):
    with pytest.raises(ConfigError, match=message):
        ServerConfig(model="/models/tiny", **{key: value})


def test_the_shipped_replicas_config_loads():
    config = load_config(ROOT / "configs" / "replicas.yaml")
    assert (config.replicas, config.routing) == (2, "prefix")
    assert Path(config.model) == ROOT / "models" / "default"


def test_readme_shows_the_config_the_tests_serve():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Replicas on Ray") :]
    section = section[: section.index("\n##")]  # up to the next section or subsection
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", section, re.S)]
    assert blocks[-1] == {"model": "TINY_CHECKPOINT", **REPLICA_CONFIG}
    shipped = yaml.safe_load((ROOT / "configs" / "replicas.yaml").read_text())
    assert blocks[0].items() <= shipped.items()  # the keys shown are the file's


def test_replicas_and_distributed_do_not_combine():
    with pytest.raises(ConfigError, match="replicas and distributed cannot be combined"):
        ServerConfig(model="/models/tiny", replicas=2, distributed=DistributedConfig())
