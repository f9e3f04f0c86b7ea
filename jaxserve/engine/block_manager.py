"""`BlockManager`: the KV page pool, reference counts and automatic prefix caching.

A block (page) of `block_size` tokens is identified, once full, by a chained hash of its
parent block's hash, its tokens, the content hashes of the images whose placeholder tokens it
holds and, for the first block, the request's `cache_salt`; so two requests share a block only
if everything before it is identical too (the same text with another image shares nothing
from the image on). Blocks whose last
owner finishes keep their hash and wait in the free queue, oldest first: a later request with
the same prefix revives them, and allocation evicts from the head (least recently freed).
Block 0 is never handed out (padding writes land there).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from jaxserve.engine.request import Request


@dataclasses.dataclass(eq=False)
class KVBlock:
    block_id: int
    ref_cnt: int = 0
    block_hash: bytes | None = None


def hash_block(
    parent: bytes | None, tokens: Sequence[int], salt: str | None, images: Sequence[str] = ()
) -> bytes:
    """The chained identity of one full block; `images`: the content hashes of the images
    whose embeddings some of its tokens stand for."""
    h = hashlib.blake2b(digest_size=16)
    h.update(parent or b"root")
    h.update(np.asarray(tokens, np.int64).tobytes())
    if parent is None and salt is not None:
        h.update(b"salt:" + salt.encode())
    for image in images:
        h.update(b"image:" + image.encode())
    return h.digest()


class BlockManager:
    def __init__(self, num_blocks: int, block_size: int, *, enable_prefix_caching: bool = True):
        if num_blocks < 2:
            raise ValueError(
                f"the KV pool needs at least 2 pages (one is reserved), got {num_blocks}"
            )
        self.block_size = block_size
        self.enable_prefix_caching = enable_prefix_caching
        self.blocks = [KVBlock(i) for i in range(num_blocks)]
        # Free blocks, eviction order first. Cached ones among them can still be revived.
        self._free: OrderedDict[int, KVBlock] = OrderedDict(
            (b.block_id, b) for b in self.blocks[1:]
        )
        self._cached: dict[bytes, KVBlock] = {}
        self._owned: dict[str, list[KVBlock]] = {}
        self.prefix_queries = 0  # prompt tokens looked up in the cache
        self.prefix_hits = 0  # of those, tokens found

    @property
    def capacity(self) -> int:
        return len(self.blocks) - 1

    @property
    def num_free_blocks(self) -> int:
        return len(self._free)

    @property
    def usage(self) -> float:
        return 1.0 - self.num_free_blocks / self.capacity

    def blocks_of(self, request: Request) -> list[KVBlock]:
        return self._owned.get(request.request_id, [])

    def page_table(self, request: Request) -> list[int]:
        return [b.block_id for b in self.blocks_of(request)]

    def _update_hashes(self, request: Request, num_tokens: int) -> None:
        """Extends `request.block_hashes` over its full blocks among the first `num_tokens`."""
        tokens = request.all_token_ids
        for i in range(len(request.block_hashes), num_tokens // self.block_size):
            parent = request.block_hashes[-1] if request.block_hashes else None
            start, end = i * self.block_size, (i + 1) * self.block_size
            images = [
                item.content_hash
                for item in request.mm_inputs
                if item.placeholder.offset < end and item.placeholder.end > start
            ]
            request.block_hashes.append(
                hash_block(parent, tokens[start:end], request.cache_salt, images)
            )

    def get_computed_blocks(self, request: Request) -> tuple[list[KVBlock], int]:
        """The longest cached prefix of a request that holds no blocks: (blocks, tokens).

        At least one token is always left to compute, since the step needs its logits.
        """
        if not self.enable_prefix_caching or request.params.prompt_logprobs is not None:
            return [], 0  # prompt logprobs need every prompt token computed
        self._update_hashes(request, request.num_tokens)
        limit = (request.num_tokens - 1) // self.block_size
        hits = []
        for block_hash in request.block_hashes[:limit]:
            block = self._cached.get(block_hash)
            if block is None:
                break
            hits.append(block)
        self.prefix_queries += request.num_tokens
        self.prefix_hits += len(hits) * self.block_size
        return hits, len(hits) * self.block_size

    def allocate_slots(
        self, request: Request, num_new_tokens: int, computed: Sequence[KVBlock] = ()
    ) -> bool:
        """Gives the request blocks for `num_new_tokens` more tokens after its computed ones.

        `computed` are prefix-cache hits from `get_computed_blocks` (new requests only).
        Returns False, changing nothing, when the pool cannot supply the blocks.
        """
        owned = self._owned.setdefault(request.request_id, [])
        num_computed = request.num_computed_tokens + len(computed) * self.block_size
        total = num_computed + num_new_tokens
        num_new_blocks = -(-total // self.block_size) - len(owned) - len(computed)
        revived = sum(1 for b in computed if b.ref_cnt == 0)
        if max(num_new_blocks, 0) + revived > len(self._free):
            if not owned:
                del self._owned[request.request_id]
            return False
        for block in computed:
            if block.ref_cnt == 0:
                del self._free[block.block_id]
            block.ref_cnt += 1
            owned.append(block)
        for _ in range(num_new_blocks):
            owned.append(self._pop_free())
        if self.enable_prefix_caching:
            self._cache_full_blocks(request, owned, total)
        return True

    def _pop_free(self) -> KVBlock:
        _, block = self._free.popitem(last=False)
        if block.block_hash is not None:  # evict: its contents are about to be overwritten
            if self._cached.get(block.block_hash) is block:
                del self._cached[block.block_hash]
            block.block_hash = None
        block.ref_cnt = 1
        return block

    def _cache_full_blocks(self, request: Request, owned: list[KVBlock], num_tokens: int) -> None:
        """Registers blocks that this step fills (their tokens are all known now)."""
        self._update_hashes(request, num_tokens)
        for block, block_hash in zip(
            owned, request.block_hashes[: num_tokens // self.block_size], strict=False
        ):
            if block.block_hash is None and block_hash not in self._cached:
                block.block_hash = block_hash
                self._cached[block_hash] = block

    def forget_from(self, request: Request, num_tokens: int) -> None:
        """Drops from the prefix cache the request's blocks past its first `num_tokens` tokens.

        A step that failed may have written some of them and not others, so no later request
        may reuse their contents; the blocks themselves stay the request's until `free`.
        """
        for block in self._owned.get(request.request_id, [])[num_tokens // self.block_size :]:
            if block.block_hash is not None and self._cached.get(block.block_hash) is block:
                del self._cached[block.block_hash]
            block.block_hash = None

    def free(self, request: Request) -> None:
        """Drops the request's hold on its blocks; the last block is the first evicted."""
        for block in reversed(self._owned.pop(request.request_id, [])):
            block.ref_cnt -= 1
            if block.ref_cnt == 0:
                self._free[block.block_id] = block
                if block.block_hash is None:  # nothing to keep: reuse it first
                    self._free.move_to_end(block.block_id, last=False)

    def reset_prefix_cache(self) -> bool:
        """Forgets every cached block not in use; False if some block is still owned."""
        if len(self._free) != self.capacity:
            return False
        for block in self.blocks:
            block.block_hash = None
        self._cached.clear()
        return True
