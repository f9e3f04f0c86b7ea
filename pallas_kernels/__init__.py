"""Pallas kernels and their pure-jnp references. Imports only jax.

Shape legend used throughout: T query tokens (flattened over sequences), S sequences,
H query heads, K kv heads, D head dim, P pages, page_size tokens per page.
"""
