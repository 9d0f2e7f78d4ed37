"""Errors of the pair graph.

Exception tree::

    ValueError
    └── GraphError                 the graph cannot do what was asked
        └── UnknownPair            a symbol that is not in the graph (offline, skipped or new)
"""

from __future__ import annotations


class GraphError(ValueError):
    """The pair graph was asked something it cannot answer."""


class UnknownPair(GraphError):
    """``symbol`` is not a pair of the graph: not online, skipped at build time, or unknown.

    Book updates for such pairs are counted and ignored by the detector; this is raised only
    by lookups that promise an answer (``PairGraph.pair``).
    """

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        super().__init__(f"{symbol!r} is not a pair of the graph (offline, skipped or unknown)")
