"""The float screen: which rings through a pair may be profitable at the top of the books.

Each directed edge carries ``w = log(top rate net of the taker fee)``; a ring may be
profitable when the sum of its edges' weights exceeds ``log(1 + min_profit_bps / 10_000)``.
When pair ``k`` changes, only ``w[2k]`` and ``w[2k+1]`` change, so each ring through ``k`` is
tested as ``sum(other edges) > threshold - w[own edge]``. Rings are grouped per (edge, ring
length); small groups run through ``operator.itemgetter``/``map`` (C loops over a list),
large groups (the hub pairs: BTC/USD, EUR/USD...) through numpy gathers. The screen is
deliberately generous by ``TOLERANCE`` so float rounding can never hide a cycle that the exact
sizing would accept.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from operator import add, itemgetter
from typing import Final

import numpy as np
import numpy.typing as npt

from arbitrade.graph._pair_graph import PairGraph

TOLERANCE: Final = 1e-9
"""Slack on the log threshold; float error on a sum of four logs is ~1e-15."""

NUMPY_FROM: Final = 96
"""Groups with at least this many rings use numpy (measured crossover on CPython 3.12)."""

Getter = Callable[[list[float]], tuple[float, ...]]


def _getter(indices: Sequence[int]) -> Getter:
    if len(indices) == 1:
        only = indices[0]
        return lambda weights: (weights[only],)
    return itemgetter(*indices)


class ScreenGroup:
    """The rings that use one directed edge and have one length, as gather indices."""

    __slots__ = ("arrays", "edge", "getters", "ring_array", "rings", "use_numpy")

    def __init__(self, edge: int, rings: Sequence[int], others: Sequence[Sequence[int]]) -> None:
        self.edge = edge
        self.rings: tuple[int, ...] = tuple(rings)
        columns = list(zip(*others, strict=True))
        self.use_numpy = len(self.rings) >= NUMPY_FROM
        self.getters: tuple[Getter, ...] = tuple(_getter(column) for column in columns)
        self.arrays: tuple[npt.NDArray[np.intp], ...] = tuple(
            np.asarray(column, dtype=np.intp) for column in columns
        )
        self.ring_array: npt.NDArray[np.intp] = np.asarray(self.rings, dtype=np.intp)


def build_groups(graph: PairGraph) -> tuple[tuple[ScreenGroup, ...], ...]:
    """Per pair, its screen groups (at most four: two edges times two ring lengths)."""
    per_pair: list[tuple[ScreenGroup, ...]] = []
    for index, rings in enumerate(graph.rings_through_pair):
        buckets: dict[tuple[int, int], tuple[list[int], list[list[int]]]] = {}
        for ring_id in rings:
            ring = graph.rings[ring_id]
            own = next(edge for edge in ring if edge >> 1 == index)
            others = [edge for edge in ring if edge != own]
            ids, rest = buckets.setdefault((own, len(ring)), ([], []))
            ids.append(ring_id)
            rest.append(others)
        per_pair.append(
            tuple(ScreenGroup(own, ids, rest) for (own, _), (ids, rest) in sorted(buckets.items()))
        )
    return tuple(per_pair)


def screen(
    groups: Sequence[ScreenGroup],
    weights: list[float],
    weights_array: npt.NDArray[np.float64],
    threshold: float,
) -> list[int]:
    """Ring ids of ``groups`` whose weight sum exceeds ``threshold`` (already loosened)."""
    hits: list[int] = []
    for group in groups:
        limit = threshold - weights[group.edge]
        if limit == math.inf:  # own edge has no book or is suspended
            continue
        if group.use_numpy:
            arrays = group.arrays
            sums = weights_array[arrays[0]]
            for column in arrays[1:]:
                sums = sums + weights_array[column]
            found = np.flatnonzero(sums > limit)
            if found.size:
                hits.extend(group.ring_array[found].tolist())
            continue
        getters = group.getters
        if len(getters) == 2:
            values = list(map(add, getters[0](weights), getters[1](weights)))
        else:
            values = list(map(add, getters[0](weights), getters[1](weights)))
            for getter in getters[2:]:
                values = list(map(add, values, getter(weights)))
        if max(values) > limit:
            hits.extend(
                ring for ring, value in zip(group.rings, values, strict=True) if value > limit
            )
    return hits
