"""Tokenizers and chat templates come from `transformers`."""

from __future__ import annotations

import logging
import os

from jaxserve.errors import CheckpointError

logger = logging.getLogger(__name__)


def load_tokenizer(path: str | os.PathLike[str]):
    """The HF fast tokenizer stored in a model directory."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(os.fspath(path))
    except Exception as e:  # transformers raises many types for a missing/broken tokenizer
        raise CheckpointError(
            f"could not load a tokenizer from {path}: {e} "
            "(pass skip_tokenizer_init=True to give prompt token ids only)"
        ) from None
