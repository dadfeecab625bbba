"""Replayed signatures: each TC3 signature of a state-changing action is accepted once.

A TC3 signature covers the timestamp, so it is only good for the clock-skew window around
X-TC-Timestamp; inside that window this cache remembers it and refuses it a second time. Read-only
actions (Describe*) are not checked: re-reading is harmless, and the SDK's identical polls within
one second carry identical signatures. This cache is per process and answers a replay to the same
node without a round trip; the store's nonces table (Store.first_use, migration 007) is consulted
next, so a replay to any other node sharing the store is refused as well.
"""

from __future__ import annotations

import heapq


class ReplayCache:
    """Signatures seen, each kept until its window closes (at most `limit`; the oldest go first)."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._until: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []

    def first_use(self, signature: str, until: float, now: float) -> bool:
        """Record `signature` as used until `until`; False when it was used already and is still live."""
        self._expire(now)
        if signature in self._until:
            return False
        while len(self._until) >= self.limit:
            _, oldest = heapq.heappop(self._heap)
            self._until.pop(oldest, None)
        self._until[signature] = until
        heapq.heappush(self._heap, (until, signature))
        return True

    def _expire(self, now: float) -> None:
        while self._heap and self._heap[0][0] < now:
            _, sig = heapq.heappop(self._heap)
            self._until.pop(sig, None)

    def __len__(self) -> int:
        return len(self._until)
