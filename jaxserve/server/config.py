"""`ServerConfig`: the YAML file behind `jaxserve run`, checked key by key before anything loads.

Every key has a default except `model`; an unknown key or a value of the wrong type is an error
that names the key and what it accepts, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from jaxserve.distributed.config import DistributedConfig
from jaxserve.errors import JaxserveError
from jaxserve.multimodal.media import MediaPolicy
from jaxserve.precision import KV_CACHE_DTYPES
from jaxserve.server.reasoning import PARSERS as REASONING_PARSERS
from jaxserve.server.tool_formats import TOOL_PARSERS

ATTENTION_BACKENDS = ("auto", "reference", "pallas", "pallas-interpret")
DTYPES = ("auto", "float32", "fp32", "bfloat16", "bf16", "float16", "half", "fp16")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
CHOICES: dict[str, tuple[str | None, ...]] = {
    "attention_backend": ATTENTION_BACKENDS,
    "dtype": DTYPES,
    "log_level": LOG_LEVELS,
    "scheduling_policy": ("fcfs", "priority"),
    "reasoning_parser": (None, *REASONING_PARSERS),
    "tool_call_parser": (None, *TOOL_PARSERS),
    "quantization": (None, "int8", "fp8"),
    "kv_cache_dtype": KV_CACHE_DTYPES,
    "routing": ("prefix", "round_robin"),
}
MEMORY_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
MEMORY_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
API_KEY_ENV = "JAXSERVE_API_KEY"


class ConfigError(JaxserveError, ValueError):
    """A server config file that cannot be served: names the key and the valid choices."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """What `jaxserve run` serves and how; README "Serving: jaxserve run" lists every key."""

    model: str
    served_model_name: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    dtype: str = "auto"
    max_model_len: int | None = None
    max_num_seqs: int = 64
    max_num_batched_tokens: int = 512
    page_size: int | None = None
    kv_cache_memory: int | str | None = None
    enable_prefix_caching: bool = True
    scheduling_policy: str = "fcfs"
    chat_template: str | None = None  # a Jinja template file, or the template itself
    reasoning_parser: str | None = None  # "qwen3" or "deepseek_r1": <think> apart
    # "hermes", "llama3_json" or "mistral": tool calls read out of chat replies
    tool_call_parser: str | None = None
    tensor_parallel_size: int = 1
    attention_backend: str = "auto"
    quantization: str | None = None  # "int8": weight-only, per output channel, at load
    kv_cache_dtype: str = "auto"  # "int8" or "fp8": half a bfloat16 cache's bytes per token
    seed: int = 0
    api_key: str | None = None
    cors_origins: list[str] = dataclasses.field(default_factory=list)
    webui: bool = True
    log_level: str = "info"
    # Vision-language models: images per prompt, the encoder cache (embedding rows kept for
    # images sent again; off: each request encodes its own), encoder rows a step, the folders
    # `file://` image URLs may read (none by default) and whether http(s) URLs are fetched.
    max_images_per_prompt: int = 8
    encoder_cache_tokens: int = 16384
    enable_encoder_cache: bool = True
    max_num_encoder_tokens: int | None = None
    allowed_local_media_path: list[str] = dataclasses.field(default_factory=list)
    allow_http_media: bool = True
    media_fetch_timeout: float = 10.0
    max_waiting_requests: int = 1024
    max_request_bytes: int = 8 * 2**20
    drain_timeout: float = 30.0
    # One model over several processes (`jaxserve.distributed`): all run this config.
    distributed: DistributedConfig | None = None
    # Replicas on Ray (`jaxserve[ray]`): this many engines behind one endpoint, and how the
    # front picks one: "prefix" (where the prompt's prefix is cached) or "round_robin".
    replicas: int = 1
    routing: str = "prefix"
    # Prompts computed by a prefill engine in a Ray actor; this process decodes
    # (`jaxserve.disagg.serve`).
    disaggregated_prefill: bool = False

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            _check_type(field.name, getattr(self, field.name), _field_types()[field.name])
        for key, choices in CHOICES.items():
            if getattr(self, key) not in choices:
                raise ConfigError(
                    f"{key} must be one of {list(choices)}, got {getattr(self, key)!r}"
                )
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be in [0, 65535], got {self.port}")
        for key in (
            "max_num_seqs",
            "max_num_batched_tokens",
            "tensor_parallel_size",
            "max_images_per_prompt",
            "encoder_cache_tokens",
            "replicas",
        ):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be at least 1, got {getattr(self, key)}")
        for key in ("max_waiting_requests", "max_request_bytes", "drain_timeout"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key} must not be negative, got {getattr(self, key)}")
        if self.kv_cache_memory is not None:
            parse_memory(self.kv_cache_memory)  # fails early with the key named
        if self.replicas > 1 and self.distributed is not None:
            raise ConfigError(
                "replicas and distributed cannot be combined: replicas serve N copies of a "
                "model that fits one process; distributed spreads one model over processes"
            )
        if self.disaggregated_prefill and (self.replicas > 1 or self.distributed is not None):
            raise ConfigError(
                "disaggregated_prefill cannot be combined with replicas or distributed: it "
                "pairs one decoding server process with one prefill worker"
            )
        if self.max_num_encoder_tokens is not None and self.max_num_encoder_tokens < 1:
            raise ConfigError(
                f"max_num_encoder_tokens must be at least 1, got {self.max_num_encoder_tokens}"
            )
        if self.media_fetch_timeout <= 0:
            raise ConfigError(
                f"media_fetch_timeout must be positive, got {self.media_fetch_timeout}"
            )
        for folder in self.allowed_local_media_path:
            if not Path(folder).is_dir():
                raise ConfigError(f"allowed_local_media_path: {folder} is not a directory")

    @property
    def model_name(self) -> str:
        """The id clients send as `model`: `served_model_name`, else the model folder's name."""
        return self.served_model_name or Path(self.model).name

    @property
    def resolved_api_key(self) -> str | None:
        return self.api_key or os.environ.get(API_KEY_ENV) or None

    def llm_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `jaxserve.LLM` for this config."""
        return {
            "dtype": self.dtype,
            "max_model_len": self.max_model_len,
            "max_num_seqs": self.max_num_seqs,
            "max_num_batched_tokens": self.max_num_batched_tokens,
            "page_size": self.page_size,
            "kv_cache_memory": (
                None if self.kv_cache_memory is None else parse_memory(self.kv_cache_memory)
            ),
            "enable_prefix_caching": self.enable_prefix_caching,
            "scheduling_policy": self.scheduling_policy,
            "tensor_parallel_size": self.tensor_parallel_size,
            "attention_backend": self.attention_backend,
            "quantization": self.quantization,
            "kv_cache_dtype": self.kv_cache_dtype,
            "seed": self.seed,
            "limit_mm_per_prompt": {"image": self.max_images_per_prompt},
            "encoder_cache_tokens": self.encoder_cache_tokens,
            "enable_encoder_cache": self.enable_encoder_cache,
            "max_num_encoder_tokens": self.max_num_encoder_tokens,
            "allowed_local_media_path": self.allowed_local_media_path,
        }

    def media_policy(self) -> MediaPolicy:
        """What image URLs chat requests may name."""
        return MediaPolicy(
            allowed_local_media_paths=tuple(Path(p) for p in self.allowed_local_media_path),
            allow_http=self.allow_http_media,
            fetch_timeout_s=self.media_fetch_timeout,
        )


def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(ServerConfig)


def _type_name(expected: Any) -> str:
    if typing.get_origin(expected) in (types.UnionType, typing.Union):
        return " or ".join(_type_name(t) for t in typing.get_args(expected))
    if typing.get_origin(expected) is list:
        return f"a list of {_type_name(typing.get_args(expected)[0])}"
    return {type(None): "null", float: "a number"}.get(expected, getattr(expected, "__name__", ""))


def _matches(value: Any, expected: Any) -> bool:
    if typing.get_origin(expected) in (types.UnionType, typing.Union):
        return any(_matches(value, t) for t in typing.get_args(expected))
    if typing.get_origin(expected) is list:
        item = typing.get_args(expected)[0]
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if expected is type(None):
        return value is None
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _check_type(key: str, value: Any, expected: Any) -> None:
    if not _matches(value, expected):
        raise ConfigError(
            f"{key} must be {_type_name(expected)}, got {value!r} ({type(value).__name__})"
        )


def parse_memory(value: int | str) -> int:
    """Bytes from an int or a string such as "512MiB" or "2 GB"."""
    if isinstance(value, int):
        size = value
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", value)
        unit = match.group(2).lower() if match else ""
        if match is None or unit not in MEMORY_UNITS:
            raise ConfigError(
                f"kv_cache_memory must be bytes or a size like '512MiB' or '2GB' "
                f"(units {sorted(u for u in MEMORY_UNITS if u)}), got {value!r}"
            )
        size = int(float(match.group(1)) * MEMORY_UNITS[unit])
    if size < 1:
        raise ConfigError(f"kv_cache_memory must be positive, got {value!r}")
    return size


def config_from_dict(data: Any, *, base_dir: Path | None = None) -> ServerConfig:
    """Validates a parsed YAML mapping; a relative `model` is taken from `base_dir`."""
    if not isinstance(data, dict):
        raise ConfigError(f"the config must be a mapping of keys to values, got {data!r}")
    valid = [f.name for f in dataclasses.fields(ServerConfig)]
    unknown = sorted(str(k) for k in data if k not in valid)
    if unknown:
        raise ConfigError(f"unknown config key(s) {unknown}; valid keys are {valid}")
    if "model" not in data:
        raise ConfigError("the config needs a 'model' key: a Hugging Face model directory")
    model = data["model"]
    if isinstance(model, str) and base_dir is not None:
        model = str((base_dir / os.path.expanduser(model)).resolve())
    template = data.get("chat_template")
    if isinstance(template, str) and not _is_template_text(template):
        file = Path(os.path.expanduser(template))
        file = base_dir / file if base_dir is not None and not file.is_absolute() else file
        try:
            template = file.read_text()
        except OSError as e:
            raise ConfigError(f"chat_template: cannot read {file}: {e.strerror}") from None
    folders = data.get("allowed_local_media_path")
    if isinstance(folders, list) and base_dir is not None:
        folders = [
            str((base_dir / os.path.expanduser(f)).resolve()) if isinstance(f, str) else f
            for f in folders
        ]
        data = {**data, "allowed_local_media_path": folders}
    if data.get("distributed") is not None:
        data = {**data, "distributed": DistributedConfig.from_mapping(data["distributed"])}
    return ServerConfig(**{**data, "model": model, "chat_template": template})


def _is_template_text(value: str) -> bool:
    """A chat template written in the config rather than the name of its file."""
    return "{{" in value or "{%" in value


def load_config(path: str | os.PathLike[str], **overrides: Any) -> ServerConfig:
    """Reads a YAML config file; `overrides` (e.g. host and port from the command line) win."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as e:
        raise ConfigError(f"cannot read the config file {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {e}") from None
    if isinstance(data, dict):
        data = {**data, **{k: v for k, v in overrides.items() if v is not None}}
    return config_from_dict(data, base_dir=path.parent)
