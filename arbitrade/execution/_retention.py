"""Bounded memory of finished orders and cycles: keep the latest few, forget the rest.

The executor and the venues must remember an order or a cycle while it can still be spoken
of (reports, queries, a resubmission after a reconnect), but not for the life of the process:
a bot trading for days would hold every order it ever sent. :class:`Retention` keeps the keys
of finished things in the order they finished and says which to forget once more than its
limit are kept; :class:`RecentIds` remembers the ids forgotten last (cheap strings), so a
duplicate is still recognised for a long while after its order left memory.
"""

from __future__ import annotations

import collections
from collections.abc import Hashable


class Retention[K: Hashable]:
    """Keys of finished things, oldest first; at most ``limit`` of them.

    Raises:
        ValueError: ``limit`` is below 1 (the thing that just finished must stay).
    """

    __slots__ = ("_finished", "_marked", "limit")

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a retention keeps at least 1 finished item, got {limit}")
        self.limit = limit
        self._finished: collections.deque[K] = collections.deque()
        self._marked: set[K] = set()

    def __len__(self) -> int:
        return len(self._finished)

    def __contains__(self, key: object) -> bool:
        return key in self._marked

    def finish(self, key: K) -> list[K]:
        """Note that ``key`` finished; return the keys to forget now, oldest first.

        A key already noted is not noted twice (its place stays where it first finished).
        """
        if key in self._marked:
            return []
        self._finished.append(key)
        self._marked.add(key)
        evicted: list[K] = []
        while len(self._finished) > self.limit:
            old = self._finished.popleft()
            self._marked.discard(old)
            evicted.append(old)
        return evicted


class RecentIds[V]:
    """The last ``limit`` ids forgotten, each with a small value (a venue order id, say).

    Raises:
        ValueError: ``limit`` is below 0.
    """

    __slots__ = ("_ids", "limit")

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError(f"limit must be 0 or more, got {limit}")
        self.limit = limit
        self._ids: dict[str, V] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def get(self, key: str) -> V | None:
        """The value remembered for ``key``, or None when it was never added or aged out."""
        return self._ids.get(key)

    def add(self, key: str, value: V) -> None:
        """Remember ``key``; the oldest id is dropped once more than ``limit`` are held."""
        self._ids.pop(key, None)
        self._ids[key] = value
        while len(self._ids) > self.limit:
            del self._ids[next(iter(self._ids))]
