"""Trains the small Llama that `configs/default.yaml` serves, from the Python standard library."""
