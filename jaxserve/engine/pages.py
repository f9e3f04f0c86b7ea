"""`PageAllocator`: hands out KV pages from a fixed pool; page 0 is never given out."""

from __future__ import annotations

from collections import deque


class PageAllocator:
    def __init__(self, num_pages: int):
        if num_pages < 2:
            raise ValueError(
                f"a KV cache needs at least 2 pages (one is reserved), got {num_pages}"
            )
        self.num_pages = num_pages
        self._free = deque(range(1, num_pages))

    @property
    def num_free(self) -> int:
        return len(self._free)

    @property
    def capacity(self) -> int:
        """Pages that can ever be allocated (all but the reserved page)."""
        return self.num_pages - 1

    def allocate(self, n: int) -> list[int] | None:
        """`n` pages, or None (and nothing taken) if fewer are free."""
        if n > len(self._free):
            return None
        return [self._free.popleft() for _ in range(n)]

    def free(self, pages: list[int]) -> None:
        self._free.extend(pages)
