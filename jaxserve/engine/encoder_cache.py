"""`EncoderCache`: vision embeddings by image content hash, shared by every request.

An image is encoded once: its embeddings [N, E] stay here while some request still has
placeholder tokens of it to compute (the request pins it), and afterwards, unpinned, in
least-recently-used order until room is needed. A budget in embedding rows bounds the whole;
pinned entries are never evicted, so the scheduler asks `can_fit` before it schedules an image
to be encoded, and waits (computing the prompt up to the image) when the answer is no.

With `keep_unpinned=False` an entry leaves as soon as its last pin goes: each request encodes
its own images (the cache "off", for comparison), but an image still is not re-encoded between
two chunks of one prompt.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np


class EncoderCache:
    def __init__(self, capacity_tokens: int, *, keep_unpinned: bool = True):
        if capacity_tokens < 1:
            raise ValueError(f"the encoder cache needs room for 1 token, got {capacity_tokens}")
        self.capacity_tokens = capacity_tokens
        self.keep_unpinned = keep_unpinned
        self._entries: dict[str, np.ndarray] = {}
        self._unpinned: OrderedDict[str, None] = OrderedDict()  # eviction order, oldest first
        self._pins: dict[str, set[str]] = {}  # content hash -> the requests that hold it
        self.num_tokens = 0  # embedding rows held
        # Counters (exported in /metrics): images a request looked up (once per request and
        # image), those found here, images encoded and their rows.
        self.queries = 0
        self.hits = 0
        self.encoded_images = 0
        self.encoded_tokens = 0

    def __contains__(self, content_hash: str) -> bool:
        return content_hash in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def pinned_tokens(self) -> int:
        return sum(len(self._entries[h]) for h in self._pins if h in self._entries)

    def can_fit(self, num_tokens: int, pending: int = 0) -> bool:
        """Whether `num_tokens` more rows fit beside the pinned ones and `pending` rows already
        promised this step (unpinned entries can always be evicted)."""
        return self.pinned_tokens + pending + num_tokens <= self.capacity_tokens

    def get(self, content_hash: str) -> np.ndarray:
        """The embeddings of an image known to be here, marked as just used."""
        if content_hash in self._unpinned:
            self._unpinned.move_to_end(content_hash)
        return self._entries[content_hash]

    def put(self, content_hash: str, embeddings: np.ndarray) -> None:
        """Adds a freshly encoded image's embeddings [N, E], evicting unpinned entries (the
        least recently used first) as far as room requires."""
        if content_hash in self._entries:
            return
        self._entries[content_hash] = embeddings
        self.num_tokens += len(embeddings)
        self.encoded_images += 1
        self.encoded_tokens += len(embeddings)
        if content_hash not in self._pins:
            self._unpinned[content_hash] = None
        self._evict()

    def pin(self, content_hash: str, request_id: str) -> None:
        """`request_id` needs this image's embeddings until it `unpin`s it."""
        holders = self._pins.setdefault(content_hash, set())
        if request_id not in holders:
            self.queries += 1
            self.hits += content_hash in self._entries
        holders.add(request_id)
        self._unpinned.pop(content_hash, None)

    def unpin(self, content_hash: str, request_id: str) -> None:
        holders = self._pins.get(content_hash)
        if holders is None or request_id not in holders:
            return
        holders.discard(request_id)
        if holders:
            return
        del self._pins[content_hash]
        if content_hash in self._entries:
            self._unpinned[content_hash] = None
            self._evict()

    def _evict(self) -> None:
        while self._unpinned and (not self.keep_unpinned or self.num_tokens > self.capacity_tokens):
            content_hash, _ = self._unpinned.popitem(last=False)
            self.num_tokens -= len(self._entries.pop(content_hash))

    def clear(self) -> None:
        """Forgets every unpinned entry."""
        for content_hash in list(self._unpinned):
            self.num_tokens -= len(self._entries.pop(content_hash))
        self._unpinned.clear()
