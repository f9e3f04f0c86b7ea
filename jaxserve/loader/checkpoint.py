"""Opening a local Hugging Face model directory: config, weight files, generation defaults."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from jaxserve.errors import CheckpointError
from jaxserve.loader.safetensors import SafetensorsFile
from jaxserve.model.config import ModelConfig

INDEX_FILE = "model.safetensors.index.json"

# A vision-language checkpoint's tensors, renamed as they are indexed so its text model reads
# as a text-only checkpoint's ("model.layers...", "lm_head.weight") and its image side lives
# under "model.visual." (Qwen2.5-VL), "model.vision_tower." and "model.multi_modal_projector."
# (LLaVA), whichever transformers release wrote it. First matching prefix wins.
VISION_LANGUAGE_PREFIXES = (
    ("model.language_model.", "model."),  # transformers 5 (and 4.52 on)
    ("language_model.model.", "model."),  # LLaVA before 4.52
    ("language_model.lm_head.", "lm_head."),
    ("vision_tower.vision_model.", "model.vision_tower."),
    ("model.vision_tower.vision_model.", "model.vision_tower."),
    ("vision_tower.", "model.vision_tower."),
    ("multi_modal_projector.", "model.multi_modal_projector."),
    ("visual.", "model.visual."),  # Qwen2.5-VL before 4.52
)


def canonical_name(name: str) -> str:
    """A vision-language checkpoint's tensor name as the loader reads it."""
    for old, new in VISION_LANGUAGE_PREFIXES:
        if name.startswith(old):
            return new + name[len(old) :]
    return name


@dataclasses.dataclass
class HFCheckpoint:
    """A validated model directory; tensors are read lazily through `tensor()`."""

    path: Path
    hf_config: dict[str, Any]
    config: ModelConfig
    generation_config: dict[str, Any]
    _files: dict[str, SafetensorsFile]  # tensor name -> the file holding it

    # The stored name of each tensor whose name the loader reads differs (`canonical_name`).
    _stored_names: dict[str, str] = dataclasses.field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self._files

    def tensor(self, name: str) -> np.ndarray:
        if name not in self._files:
            raise CheckpointError(f"missing tensor {name!r} in {self.path}")
        return self._files[name].get(self._stored_names.get(name, name))

    def shape(self, name: str) -> tuple[int, ...]:
        if name not in self._files:
            raise CheckpointError(f"missing tensor {name!r} in {self.path}")
        return self._files[name].shape(self._stored_names.get(name, name))

    @property
    def eos_token_ids(self) -> tuple[int, ...]:
        """End-of-sequence ids from generation_config.json, else config.json."""
        value = self.generation_config.get("eos_token_id")
        if value is None:
            return self.config.eos_token_ids
        return (int(value),) if isinstance(value, int) else tuple(int(v) for v in value)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{what} not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{what} {path} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{what} {path} must hold a JSON object")
    return data


def open_checkpoint(path: str | os.PathLike[str]) -> HFCheckpoint:
    """Validates a HF model directory and indexes its tensors (no weights read yet)."""
    root = Path(path)
    if not root.exists():
        raise CheckpointError(f"model directory not found: {root}")
    if not root.is_dir():
        raise CheckpointError(f"model path is not a directory: {root}")
    hf_config, config, generation_config = read_configs(root)
    files = _index_tensors(root)
    stored_names = {}
    if config.multimodal is not None:
        renamed = {}
        for name, file in files.items():
            canonical = canonical_name(name)
            if canonical in renamed:
                raise CheckpointError(
                    f"{root} holds tensor {canonical!r} under two names "
                    f"({stored_names.get(canonical, canonical)!r} and {name!r})"
                )
            renamed[canonical] = file
            if canonical != name:
                stored_names[canonical] = name
        files = renamed
    return HFCheckpoint(root, hf_config, config, generation_config, files, stored_names)


def read_configs(root: Path) -> tuple[dict[str, Any], ModelConfig, dict[str, Any]]:
    """A model directory's config.json (as read, and parsed) and generation_config.json ({}
    where there is none)."""
    hf_config = _read_json(root / "config.json", "config.json")
    gen_path = root / "generation_config.json"
    generation_config = _read_json(gen_path, "generation_config.json") if gen_path.exists() else {}
    return hf_config, ModelConfig.from_hf(hf_config), generation_config


def _index_tensors(root: Path) -> dict[str, SafetensorsFile]:
    index_path = root / INDEX_FILE
    if index_path.exists():
        weight_map = _read_json(index_path, INDEX_FILE).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise CheckpointError(f"{index_path} has no weight_map")
        opened: dict[str, SafetensorsFile] = {}
        files = {}
        for name, filename in weight_map.items():
            if filename not in opened:
                file_path = root / filename
                if not file_path.exists():
                    raise CheckpointError(
                        f"weight file {filename} listed in {INDEX_FILE} is missing from {root}"
                    )
                opened[filename] = SafetensorsFile(file_path)
            if name not in opened[filename]:
                raise CheckpointError(f"{INDEX_FILE} places {name!r} in {filename}, which lacks it")
            files[name] = opened[filename]
        return files
    paths = sorted(root.glob("*.safetensors"))
    if not paths:
        found = ", ".join(sorted(p.name for p in root.iterdir())) or "nothing"
        raise CheckpointError(f"no *.safetensors weight files in {root} (found: {found})")
    files = {}
    for file_path in paths:
        st = SafetensorsFile(file_path)
        files.update(dict.fromkeys(st.keys(), st))
    return files
