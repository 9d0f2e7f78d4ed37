"""Bounded records of what the simulator did: the last N entries, read by absolute position.

Every record the simulator keeps while it runs (trades printed, executions events per key,
status changes, order requests received) is a :class:`BoundedLog`: it keeps the latest
``keep`` entries and forgets the oldest, so memory stays flat however long the run. Readers
hold an absolute position (a cursor); a reader whose cursor fell behind what is kept is told
with :class:`EntriesForgotten` instead of silently skipping what it missed.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterator, Sequence
from typing import overload

from arbitrade.sim._errors import EntriesForgotten


class BoundedLog[T](Sequence[T]):
    """An append-only log that keeps its last ``keep`` entries.

    Positions are absolute: the first entry ever appended is position 0 and keeps that number
    after it is forgotten. ``start`` is the oldest position kept, ``end`` the next one to be
    written. As a sequence (``len``, indexing, iteration, ``==`` against a list) it shows only
    the entries kept, oldest first.
    """

    def __init__(self, keep: int) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self.keep = keep
        self._entries: collections.deque[T] = collections.deque(maxlen=keep)
        self._end = 0

    @property
    def start(self) -> int:
        """Absolute position of the oldest entry kept (``end`` when empty)."""
        return self._end - len(self._entries)

    @property
    def end(self) -> int:
        """Absolute position the next entry gets: how many were ever appended."""
        return self._end

    def append(self, entry: T) -> None:
        """Add one entry; the oldest is forgotten once ``keep`` are held."""
        self._entries.append(entry)
        self._end += 1

    def extend(self, entries: Sequence[T]) -> None:
        for entry in entries:
            self.append(entry)

    def replace(self, position: int, entry: T) -> None:
        """Put ``entry`` in place of the kept entry at absolute ``position``.

        Raises:
            EntriesForgotten: ``position`` is no longer kept.
            IndexError: ``position`` was never written.
        """
        if position < self.start:
            raise EntriesForgotten(position, self.start)
        if position >= self._end:
            raise IndexError(f"position {position} not written yet (end is {self._end})")
        self._entries[position - self._end] = entry

    def since(self, position: int) -> list[T]:
        """Entries from absolute ``position`` to the end, oldest first.

        A position at or past ``end`` gives an empty list.

        Raises:
            EntriesForgotten: ``position`` is older than ``start``: some entries the reader
                has not seen are gone (the reader fell more than ``keep`` entries behind).
        """
        if position < self.start:
            raise EntriesForgotten(position, self.start)
        count = self._end - position
        if count <= 0:
            return []
        # From the right: cheap for the usual reader, a few entries behind the end.
        newest = list(itertools.islice(reversed(self._entries), count))
        newest.reverse()
        return newest

    def last(self, count: int) -> list[T]:
        """The newest ``count`` entries kept (fewer if fewer are kept), oldest first."""
        if count <= 0:
            return []
        newest = list(itertools.islice(reversed(self._entries), count))
        newest.reverse()
        return newest

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return list(self._entries)[index]
        return self._entries[index]

    def __iter__(self) -> Iterator[T]:
        return iter(self._entries)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BoundedLog):
            return list(self._entries) == list(other._entries)
        if isinstance(other, list):
            return list(self._entries) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"BoundedLog(keep={self.keep}, start={self.start}, end={self.end})"
