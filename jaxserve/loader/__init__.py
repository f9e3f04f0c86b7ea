"""Loading Hugging Face checkpoints from a local directory."""

from jaxserve.loader.checkpoint import HFCheckpoint, open_checkpoint
from jaxserve.loader.weights import load_params, tensor_rules

__all__ = ["HFCheckpoint", "load_params", "open_checkpoint", "tensor_rules"]
