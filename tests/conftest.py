"""Fixtures: tiny Hugging Face checkpoints written by `transformers` into `tmp_path`.

Also the portability matrix: a test marked `cpu`, `cuda`, `rocm` or `tpu` runs only where JAX's
default backend is that platform and is skipped, with the reason, everywhere else.
"""

from __future__ import annotations

import os

# Eight virtual CPU devices for the tensor-parallel tests; must precede JAX's backend start.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tests compile many tiny models: keep their programs out of the user's cache.
os.environ["JAXSERVE_COMPILATION_CACHE"] = ""

import pytest

from tests.tiny_models import ARCH_CASES, TinySpec, write_tiny_checkpoint

PLATFORM_MARKERS = frozenset({"cpu", "cuda", "rocm", "tpu"})


def pytest_collection_modifyitems(config, items):
    """Skips tests marked for platforms other than the one JAX runs on here."""
    wanted = {item: {m.name for m in item.iter_markers()} & PLATFORM_MARKERS for item in items}
    if not any(wanted.values()):
        return  # no marked test: don't start a JAX backend just to collect
    import jax

    import platforms

    here = platforms.platform_kind(jax.devices()[0])
    for item, kinds in wanted.items():
        if kinds and here not in kinds:
            needs = " or ".join(sorted(kinds))
            item.add_marker(pytest.mark.skip(reason=f"needs {needs}; this machine runs on {here}"))


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory):
    """Builds (once per session) the checkpoint for a `TinySpec`, cached by spec."""
    cache: dict[TinySpec, str] = {}

    def build(spec: TinySpec) -> str:
        if spec not in cache:
            path = tmp_path_factory.mktemp(spec.name)
            write_tiny_checkpoint(path, spec)
            cache[spec] = str(path)
        return cache[spec]

    return build


@pytest.fixture(params=ARCH_CASES, ids=lambda s: s.name)
def arch_spec(request) -> TinySpec:
    return request.param


@pytest.fixture(autouse=True)
def _compile_lazily(request, monkeypatch):
    """Tests build many tiny models: compile only the shapes a test runs, not all buckets.

    A test that exercises warm-up itself is marked `warmup`.
    """
    if "warmup" not in request.keywords:
        monkeypatch.setattr("jaxserve.llm.warmup_buckets", lambda *args: [])
