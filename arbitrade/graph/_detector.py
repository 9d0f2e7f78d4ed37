"""Incremental cycle detection: a book change re-evaluates only the cycles through its pair.

The detector holds the latest :class:`~arbitrade.messages.BookTop` of every pair, a float
weight per directed edge for the screen, and the set of rings currently passing the screen.
A change of a pair's best prices re-screens the rings through that pair; a change of
quantities or deeper levels only (the usual Kraken update) re-sizes the rings through the
pair that already pass. Rings that pass are sized exactly (:func:`size_cycle`) once per home
on them, and each accepted size becomes an :class:`~arbitrade.messages.Opportunity`.

A cycle reads one side of each of its pairs' books (bids to sell, asks to buy). A side whose
levels did not change keeps its :class:`LegBook` object, and a cycle whose leg books are all
the same objects as at its last sizing reuses that result: the same opportunity again (new
id and times), without paying for the exact arithmetic twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from time import monotonic

import attrs
import numpy as np
import structlog

from arbitrade.graph._pair_graph import Cycle, PairGraph
from arbitrade.graph._screen import TOLERANCE, build_groups, screen
from arbitrade.graph._sizing import (
    LegBook,
    SizedCycle,
    SizingRejected,
    basis_points,
    exact_decimal,
    size_cycle,
)
from arbitrade.messages import BookTop, Leg, Opportunity, Side

log = structlog.get_logger(__name__)

_LN10 = math.log(10)


@attrs.frozen
class DetectorStatistics:
    """Counters since the detector was made (read by ``/metrics`` and the dashboard)."""

    updates: int
    """Book tops handled for pairs of the graph."""
    ignored_updates: int
    """Book tops for symbols not in the graph, or whose precisions disagree with the instrument."""
    rescreens: int
    """Updates that moved a best price (or suspended a book) and so re-ran the screen."""
    rings_screened: int
    """Rings tested by the screen, in total."""
    sizings: int
    """Exact sizings run (one per ring, home and evaluation)."""
    opportunities: int
    """Opportunities produced."""
    suppressed_stale: int
    """Sizings skipped because a leg's book was older than ``max_book_age``."""
    rejected: tuple[tuple[str, int], ...]
    """Sizings that produced nothing, per :class:`SizingRejected` reason."""
    suspended_books: int
    """Books currently suspended (resyncing or reported stale)."""
    passing_rings: int
    """Rings currently passing the screen."""
    sizings_reused: int = 0
    """Of ``sizings``, those answered from the last sizing of the same cycle on unchanged
    leg books (no arithmetic run)."""


class CycleDetector:
    """Finds, sizes and reports profitable cycles as book tops arrive.

    Not thread-safe; one owner (the pair-graph actor, or a test) calls it. Nothing here
    blocks or awaits.

    Staleness: a book suspended with :meth:`suspend` (resyncing after a checksum mismatch,
    reconnecting, reported stale) takes every ring through it out of the screen until its next
    book top; a book whose last change is older than ``max_book_age`` at evaluation time
    suppresses the sizing of cycles through it (counted in ``suppressed_stale``).
    """

    def __init__(
        self,
        graph: PairGraph,
        *,
        min_profit_bps: Decimal = Decimal(0),
        max_book_age: float = math.inf,
        max_levels: int = 25,
        clock: Callable[[], float] = monotonic,
        strategy: str = "triangular",
        id_prefix: str = "tri-",
    ) -> None:
        """Prepare the screen for ``graph``; no book is known yet, so nothing passes.

        ``clock`` gives the current time on the same clock as ``BookTop.received_at`` (the
        actor passes ``trio.current_time``). It is read only when something is sized.
        """
        self.graph = graph
        self.min_profit_bps = Fraction(min_profit_bps)
        self.max_book_age = max_book_age
        self.max_levels = max_levels
        self._clock = clock
        self._strategy = strategy
        self._id_prefix = id_prefix
        self._threshold = math.log1p(float(min_profit_bps) / 10_000) - TOLERANCE
        count = len(graph.pairs)
        self._weights: list[float] = [-math.inf] * (2 * count)
        self._weights_array = np.full(2 * count, -math.inf, dtype=np.float64)
        self._groups = build_groups(graph)
        self._sell_offset = [0.0] * count
        self._buy_offset = [0.0] * count
        for pair in graph.pairs:
            fee = float(pair.fee_rate)
            shift = pair.instrument.price_precision * _LN10
            self._sell_offset[pair.index] = math.log1p(-fee) - shift if fee < 1 else -math.inf
            self._buy_offset[pair.index] = shift - math.log1p(fee)
        self._books: list[BookTop | None] = [None] * count
        self._best: list[tuple[int, int]] = [(0, 0)] * count
        self._suspended: set[int] = set()
        self._leg_books: dict[int, LegBook] = {}
        self._sized: dict[tuple[int, str], tuple[list[LegBook], SizedCycle | SizingRejected]] = {}
        self._reused = 0
        self._passing: set[int] = set()
        self._passing_by_pair: list[set[int]] = [set() for _ in range(count)]
        self._current: dict[tuple[int, str], Opportunity] = {}
        self._rejected: dict[str, int] = {}
        self._warned: set[str] = set()
        self._sequence = 0
        self._updates = 0
        self._ignored = 0
        self._rescreens = 0
        self._rings_screened = 0
        self._sizings = 0
        self._opportunities = 0
        self._suppressed_stale = 0

    # -- input -------------------------------------------------------------------------------

    def on_book_top(self, top: BookTop) -> list[Opportunity]:
        """Take a book's new top levels; return the opportunities of the cycles through it.

        Each returned opportunity carries ``received_at`` of ``top``. A symbol not in the
        graph, or precisions that disagree with the instrument, is ignored (counted, warned
        once per symbol) and yields nothing. A suspended book becomes live again.
        """
        index = self.graph.index_of(top.symbol)
        if index is None:
            self._ignore(top.symbol, "graph.book_ignored", "not in the graph")
            return []
        instrument = self.graph.pairs[index].instrument
        if (
            top.price_precision != instrument.price_precision
            or top.qty_precision != instrument.qty_precision
        ):
            self._ignore(top.symbol, "graph.book_ignored", "precisions differ from instrument")
            return []
        self._updates += 1
        previous = self._books[index]
        self._books[index] = top
        bids, asks = top.bids, top.asks
        # Keep the leg book of a side whose visible levels did not change (see module doc).
        # Only a ring passing before this update can reuse a sizing, so without one the
        # comparison is not worth its cost.
        depth = self.max_levels
        reusable = previous is not None and self._passing_by_pair[index]
        if not reusable or previous.bids[:depth] != bids[:depth]:  # type: ignore[union-attr]
            self._leg_books.pop(2 * index, None)
        if not reusable or previous.asks[:depth] != asks[:depth]:  # type: ignore[union-attr]
            self._leg_books.pop(2 * index + 1, None)
        best = (bids[0][0] if bids else 0, asks[0][0] if asks else 0)
        if best == self._best[index] and index not in self._suspended:
            if not self._passing_by_pair[index]:
                return []
            return self._evaluate(sorted(self._passing_by_pair[index]), top.received_at)
        self._best[index] = best
        self._suspended.discard(index)
        sell = math.log(best[0]) + self._sell_offset[index] if best[0] > 0 else -math.inf
        buy = self._buy_offset[index] - math.log(best[1]) if best[1] > 0 else -math.inf
        return self._rescreen(index, sell, buy, top.received_at)

    def suspend(self, symbol: str) -> None:
        """Take no decision on ``symbol``'s book until its next book top (resync, staleness).

        Unknown symbols are ignored.
        """
        index = self.graph.index_of(symbol)
        if index is None or index in self._suspended:
            return
        self._suspended.add(index)
        self._best[index] = (0, 0)
        self._rescreen(index, -math.inf, -math.inf, 0.0)

    # -- output ------------------------------------------------------------------------------

    def current_opportunities(self) -> list[Opportunity]:
        """The latest opportunity of each (ring, home) as of its last evaluation, ring order."""
        return [self._current[key] for key in sorted(self._current)]

    def statistics(self) -> DetectorStatistics:
        """A snapshot of the counters."""
        return DetectorStatistics(
            updates=self._updates,
            ignored_updates=self._ignored,
            rescreens=self._rescreens,
            rings_screened=self._rings_screened,
            sizings=self._sizings,
            opportunities=self._opportunities,
            suppressed_stale=self._suppressed_stale,
            rejected=tuple(sorted(self._rejected.items())),
            suspended_books=len(self._suspended),
            passing_rings=len(self._passing),
            sizings_reused=self._reused,
        )

    def leg_books(self, opportunity: Opportunity) -> tuple[LegBook, ...]:
        """The books the legs of ``opportunity`` (one of this detector's, just returned) were
        sized on: the same objects for as long as those sides of the books do not change.

        Raises:
            KeyError: a leg's pair is not in the graph or has no book yet.
        """
        books = []
        for leg in opportunity.legs:
            index = self.graph.index_of(leg.symbol)
            if index is None or self._books[index] is None:
                raise KeyError(leg.symbol)
            books.append(self._leg_book(2 * index + (leg.side is Side.BUY)))
        return tuple(books)

    # -- internals ---------------------------------------------------------------------------

    def _ignore(self, symbol: str, event: str, reason: str) -> None:
        self._ignored += 1
        if symbol not in self._warned:
            self._warned.add(symbol)
            log.warning(event, symbol=symbol, reason=reason)

    def _rescreen(
        self, index: int, sell: float, buy: float, received_at: float
    ) -> list[Opportunity]:
        self._rescreens += 1
        weights = self._weights
        weights[2 * index] = sell
        weights[2 * index + 1] = buy
        self._weights_array[2 * index] = sell
        self._weights_array[2 * index + 1] = buy
        groups = self._groups[index]
        for group in groups:
            self._rings_screened += len(group.rings)
        hits = screen(groups, weights, self._weights_array, self._threshold)
        before = self._passing_by_pair[index]
        if not hits and not before:
            return []
        found = set(hits)
        rings = self.graph.rings
        for ring in before - found:
            self._passing.discard(ring)
            for edge in rings[ring]:
                self._passing_by_pair[edge >> 1].discard(ring)
            for cycle in self.graph.cycles_of_ring[ring]:
                self._current.pop((ring, cycle.home), None)
                self._sized.pop((ring, cycle.home), None)
        for ring in found - before:
            self._passing.add(ring)
            for edge in rings[ring]:
                self._passing_by_pair[edge >> 1].add(ring)
        if not found:
            return []
        return self._evaluate(sorted(found), received_at)

    def _leg_book(self, edge: int) -> LegBook:
        cached = self._leg_books.get(edge)
        if cached is not None:
            return cached
        pair = self.graph.pairs[edge >> 1]
        top = self._books[edge >> 1]
        assert top is not None  # a passing ring has books on every edge
        leg = pair.leg_book(Side.BUY if edge & 1 else Side.SELL, top, self.max_levels)
        self._leg_books[edge] = leg
        return leg

    def _evaluate(self, rings: list[int], received_at: float) -> list[Opportunity]:
        now = self._clock()
        books = self._books
        found: list[Opportunity] = []
        for ring in rings:
            edges = self.graph.rings[ring]
            ages = {edge: now - books[edge >> 1].received_at for edge in edges}  # type: ignore[union-attr]
            stale = max(ages.values()) > self.max_book_age
            for cycle in self.graph.cycles_of_ring[ring]:
                key = (ring, cycle.home)
                if stale:
                    self._suppressed_stale += 1
                    self._current.pop(key, None)
                    continue
                self._sizings += 1
                legs = [self._leg_book(2 * leg.pair + (leg.side is Side.BUY)) for leg in cycle.legs]
                last = self._sized.get(key)
                if last is not None and all(a is b for a, b in zip(last[0], legs, strict=True)):
                    self._reused += 1
                    result = last[1]
                else:
                    result = size_cycle(legs, self.min_profit_bps)
                    self._sized[key] = (legs, result)
                if isinstance(result, SizingRejected):
                    self._rejected[result] = self._rejected.get(result, 0) + 1
                    self._current.pop(key, None)
                    continue
                leg_ages = tuple(ages[2 * leg.pair + (leg.side is Side.BUY)] for leg in cycle.legs)
                opportunity = self._opportunity(cycle, result, leg_ages, received_at)
                self._current[key] = opportunity
                found.append(opportunity)
        self._opportunities += len(found)
        return found

    def _opportunity(
        self,
        cycle: Cycle,
        sized: SizedCycle,
        ages: tuple[float, ...],
        received_at: float,
    ) -> Opportunity:
        legs = []
        for leg, order in zip(cycle.legs, sized.legs, strict=True):
            instrument = self.graph.pairs[leg.pair].instrument
            legs.append(
                Leg(
                    symbol=leg.symbol,
                    side=leg.side,
                    price=Decimal(order.limit_ticks).scaleb(-instrument.price_precision),
                    qty=Decimal(order.qty_lots).scaleb(-instrument.qty_precision),
                    from_asset=leg.from_asset,
                    to_asset=leg.to_asset,
                )
            )
        self._sequence += 1
        return Opportunity(
            id=f"{self._id_prefix}{self._sequence}",
            strategy=self._strategy,
            home=cycle.home,
            legs=tuple(legs),
            start_amount=exact_decimal(sized.start),
            end_amount=exact_decimal(sized.end),
            profit=exact_decimal(sized.profit),
            profit_bps=basis_points(sized.profit, sized.start),
            book_ages=ages,
            received_at=received_at,
            detected_at=self._clock(),
        )
