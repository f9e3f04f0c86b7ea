"""Ragged paged attention: one call for a mixed batch of prefill chunks and decode tokens."""

from pallas_kernels.ragged_paged_attention.kv_write import write_kv_pages
from pallas_kernels.ragged_paged_attention.reference import (
    DEFAULT_MASK_VALUE,
    ragged_paged_attention_reference,
)

__all__ = ["DEFAULT_MASK_VALUE", "ragged_paged_attention_reference", "write_kv_pages"]
