"""The graph of assets (nodes) and online pairs (two directed edges each), and its cycles.

Built once per instrument snapshot. Every pair gets the cycles through it precomputed, so a
book change only touches those. Edge ``2 * k`` sells pair ``k``'s base for its quote (hits
the bids), edge ``2 * k + 1`` buys the base with the quote (lifts the asks).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction

import attrs
import structlog

from arbitrade.graph._errors import UnknownPair
from arbitrade.graph._fees import FeeRates
from arbitrade.graph._sizing_types import LegBook
from arbitrade.messages import BookTop, Instrument, Side

log = structlog.get_logger(__name__)


@attrs.frozen
class GraphPair:
    """An online pair as the sizing needs it: integer steps at the book's precisions."""

    index: int
    instrument: Instrument
    fee_rate: Fraction
    """Taker fee as an exact fraction of the cost (0.004 is 0.40 %)."""
    qty_step: int
    """``qty_increment`` in lots (units of 10**-qty_precision); order sizes are multiples."""
    price_step: int
    """``price_increment`` in ticks (units of 10**-price_precision); limit prices are multiples."""
    qty_min: Fraction
    cost_min: Fraction

    @property
    def symbol(self) -> str:
        """The v2 symbol (``BTC/USD``)."""
        return self.instrument.symbol

    def leg_book(self, side: Side, top: BookTop, max_levels: int) -> LegBook:
        """What the sizing needs to take ``side`` of this pair from ``top``: the asks for a
        buy, the bids for a sell (at most ``max_levels``), and the pair's rules."""
        return LegBook(
            side=side,
            levels=(top.asks if side is Side.BUY else top.bids)[:max_levels],
            price_precision=top.price_precision,
            qty_precision=top.qty_precision,
            fee_rate=self.fee_rate,
            qty_step=self.qty_step,
            price_step=self.price_step,
            qty_min=self.qty_min,
            cost_min=self.cost_min,
        )


@attrs.frozen
class CycleLeg:
    """One step of a cycle: trade ``pair`` on ``side``, spending ``from_asset``."""

    pair: int
    symbol: str
    side: Side
    from_asset: str
    to_asset: str


@attrs.frozen
class Cycle:
    """A directed cycle of distinct assets starting and ending in ``home``.

    ``ring`` identifies the cycle up to rotation: the same ring seen from two homes is two
    ``Cycle`` values with one ``ring``.
    """

    ring: int
    home: str
    legs: tuple[CycleLeg, ...]


def _steps(increment: Decimal, precision: int) -> int | None:
    """``increment`` in units of 10**-precision, or None when it is not a positive whole number."""
    scaled = increment.scaleb(precision)
    if scaled <= 0 or scaled != scaled.to_integral_value():
        return None
    return int(scaled)


def _reason_to_skip(instrument: Instrument) -> str:
    if not instrument.online:
        return f"status {instrument.status}"
    if instrument.base == instrument.quote:
        return "base equals quote"
    if instrument.price_precision < 0 or instrument.qty_precision < 0:
        return "negative precision"
    if _steps(instrument.qty_increment, instrument.qty_precision) is None:
        return f"qty_increment {instrument.qty_increment} is off the qty_precision grid"
    if _steps(instrument.price_increment, instrument.price_precision) is None:
        return f"price_increment {instrument.price_increment} is off the price_precision grid"
    if instrument.qty_min < 0 or instrument.cost_min < 0:
        return "negative minimum"
    return ""


class PairGraph:
    """Assets, online pairs and the home-anchored cycles through each pair.

    Instruments that are not online, or whose increments do not sit on their precision grid,
    are left out and listed in :attr:`skipped` with the reason (they cannot be traded, or
    their orders could not be rounded correctly). A second instrument with a symbol already
    seen is skipped too.

    Cycles are simple (no asset twice) and of length 3, or 3 and 4 when ``max_cycle_length``
    is 4. Each directed ring is kept once, with one :class:`Cycle` per home currency on it.
    """

    def __init__(
        self,
        instruments: Iterable[Instrument],
        *,
        fees: FeeRates,
        home_currencies: Sequence[str],
        max_cycle_length: int = 3,
    ) -> None:
        """Build the graph and enumerate its cycles.

        Raises:
            ValueError: ``max_cycle_length`` is not 3 or 4.
        """
        if max_cycle_length not in (3, 4):
            raise ValueError(f"max_cycle_length must be 3 or 4, got {max_cycle_length}")
        self.home_currencies: tuple[str, ...] = tuple(dict.fromkeys(home_currencies))
        self.max_cycle_length = max_cycle_length
        self.skipped: dict[str, str] = {}
        pairs: list[GraphPair] = []
        self._by_symbol: dict[str, int] = {}
        for instrument in instruments:
            reason = _reason_to_skip(instrument)
            if not reason and instrument.symbol in self._by_symbol:
                reason = "duplicate symbol"
            if reason:
                self.skipped[instrument.symbol] = reason
                continue
            qty_step = _steps(instrument.qty_increment, instrument.qty_precision)
            price_step = _steps(instrument.price_increment, instrument.price_precision)
            assert qty_step is not None  # checked above
            assert price_step is not None
            self._by_symbol[instrument.symbol] = len(pairs)
            pairs.append(
                GraphPair(
                    index=len(pairs),
                    instrument=instrument,
                    fee_rate=Fraction(fees.rate_for(instrument)),
                    qty_step=qty_step,
                    price_step=price_step,
                    qty_min=Fraction(instrument.qty_min),
                    cost_min=Fraction(instrument.cost_min),
                )
            )
        self.pairs: tuple[GraphPair, ...] = tuple(pairs)
        self.assets: frozenset[str] = frozenset(
            asset for pair in pairs for asset in (pair.instrument.base, pair.instrument.quote)
        )
        rings = self._enumerate_rings()
        self.rings: tuple[tuple[int, ...], ...] = tuple(rings)
        """Each ring as its directed edge ids, rotated so the smallest edge id comes first."""
        self.cycles_of_ring: tuple[tuple[Cycle, ...], ...] = tuple(
            self._home_rotations(ring_id, ring) for ring_id, ring in enumerate(self.rings)
        )
        through: list[list[int]] = [[] for _ in pairs]
        for ring_id, ring in enumerate(self.rings):
            for edge in ring:
                through[edge >> 1].append(ring_id)
        self.rings_through_pair: tuple[tuple[int, ...], ...] = tuple(map(tuple, through))
        if self.skipped:
            log.info("graph.pairs_skipped", count=len(self.skipped))

    # -- lookups -----------------------------------------------------------------------------

    def index_of(self, symbol: str) -> int | None:
        """The pair index of ``symbol``, or None when it is not in the graph."""
        return self._by_symbol.get(symbol)

    def pair(self, symbol: str) -> GraphPair:
        """The pair named ``symbol``.

        Raises:
            UnknownPair: the symbol is not in the graph.
        """
        index = self._by_symbol.get(symbol)
        if index is None:
            raise UnknownPair(symbol)
        return self.pairs[index]

    def edge_assets(self, edge: int) -> tuple[str, str]:
        """``(from_asset, to_asset)`` of a directed edge."""
        instrument = self.pairs[edge >> 1].instrument
        if edge & 1:
            return instrument.quote, instrument.base
        return instrument.base, instrument.quote

    def cycles_through(self, symbol: str) -> tuple[Cycle, ...]:
        """Every cycle (each ring once per home on it) that trades ``symbol``.

        Raises:
            UnknownPair: the symbol is not in the graph.
        """
        index = self.pair(symbol).index
        return tuple(
            cycle for ring in self.rings_through_pair[index] for cycle in self.cycles_of_ring[ring]
        )

    @property
    def cycle_count(self) -> int:
        """Number of cycles (rings times the homes on each)."""
        return sum(len(cycles) for cycles in self.cycles_of_ring)

    # -- construction ------------------------------------------------------------------------

    def _enumerate_rings(self) -> list[tuple[int, ...]]:
        out_edges: dict[str, list[tuple[int, str]]] = {asset: [] for asset in self.assets}
        edges_between: dict[tuple[str, str], list[int]] = {}
        for pair in self.pairs:
            for edge in (2 * pair.index, 2 * pair.index + 1):
                source, target = self.edge_assets(edge)
                out_edges[source].append((edge, target))
                edges_between.setdefault((source, target), []).append(edge)
        seen: set[tuple[int, ...]] = set()
        rings: list[tuple[int, ...]] = []

        def keep(path: tuple[int, ...]) -> None:
            start = path.index(min(path))
            ring = path[start:] + path[:start]
            if ring not in seen:
                seen.add(ring)
                rings.append(ring)

        for home in self.home_currencies:
            if home not in out_edges:
                continue
            for first, b in out_edges[home]:
                for second, c in out_edges[b]:
                    if c == home:
                        continue
                    for third in edges_between.get((c, home), ()):
                        keep((first, second, third))
                    if self.max_cycle_length < 4:
                        continue
                    for third, d in out_edges[c]:
                        if d in (home, b):
                            continue
                        for fourth in edges_between.get((d, home), ()):
                            keep((first, second, third, fourth))
        rings.sort()
        return rings

    def _home_rotations(self, ring_id: int, ring: tuple[int, ...]) -> tuple[Cycle, ...]:
        starts = [self.edge_assets(edge)[0] for edge in ring]
        cycles: list[Cycle] = []
        for home in self.home_currencies:
            if home not in starts:
                continue
            at = starts.index(home)
            rotated = ring[at:] + ring[:at]
            legs = []
            for edge in rotated:
                source, target = self.edge_assets(edge)
                legs.append(
                    CycleLeg(
                        pair=edge >> 1,
                        symbol=self.pairs[edge >> 1].symbol,
                        side=Side.BUY if edge & 1 else Side.SELL,
                        from_asset=source,
                        to_asset=target,
                    )
                )
            cycles.append(Cycle(ring=ring_id, home=home, legs=tuple(legs)))
        return tuple(cycles)
