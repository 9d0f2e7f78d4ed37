"""The pair-graph actor for backtests: book tops in, triangular opportunities out.

A stand-in until ``arbitrade.strategy.triangular`` ships its actor: it drives the graph's
:class:`~arbitrade.graph.CycleDetector` exactly as that actor is specified to (build the
:class:`~arbitrade.graph.PairGraph` on each instrument snapshot, feed it every book top,
suspend books that resync) and publishes each :class:`~arbitrade.messages.Opportunity` on
``TOPIC_OPPORTUNITIES``, where the risk gate takes it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import trio

from actors import Actor
from arbitrade.graph import CycleDetector, FeeRates, GraphSettings, PairGraph
from arbitrade.graph.capital import resize_to_capital
from arbitrade.messages import (
    TOPIC_OPPORTUNITIES,
    BookHealth,
    BookStateChanged,
    BookTop,
    InstrumentsLoaded,
    Opportunity,
)


class TriangularDetector(Actor[Any]):
    """Detects triangular opportunities; see the module docstring.

    Args:
        settings: the graph's settings (homes, cycle length, minimum profit, staleness).
        fees: the taker fee of each pair (the same rates the venue charges).
        capital: the most home currency a cycle may start with; larger opportunities are
            re-sized within it (:func:`resize_to_capital`), or dropped when that leaves none.

    Book tops that arrive before the first instrument snapshot are dropped (there is no graph
    yet to place them in).
    """

    def __init__(
        self, settings: GraphSettings, fees: FeeRates, *, capital: Decimal | None = None
    ) -> None:
        self.settings = settings
        self.fees = fees
        self.capital = capital
        self.detector: CycleDetector | None = None
        self.tops: dict[str, BookTop] = {}
        self._graphs = 0

    async def receive(self, message: Any) -> object:
        detector = self.detector
        if type(message) is BookTop:
            self.tops[message.symbol] = message
            if detector is not None:
                found = detector.on_book_top(message)
                if found:
                    publish = self.context.bus.publish
                    for opportunity in found:
                        fitted = self._fit(opportunity, detector)
                        if fitted is not None:
                            await publish(TOPIC_OPPORTUNITIES, fitted)
        elif isinstance(message, InstrumentsLoaded):
            settings = self.settings
            self._graphs += 1
            graph = PairGraph(
                message.instruments,
                fees=self.fees,
                home_currencies=settings.home_currencies,
                max_cycle_length=settings.max_cycle_length,
            )
            self.detector = CycleDetector(
                graph,
                min_profit_bps=settings.min_profit_bps,
                max_book_age=settings.max_book_age,
                max_levels=settings.max_levels,
                clock=trio.current_time,
                # ids stay unique when a new snapshot rebuilds the graph
                id_prefix="tri-" if self._graphs == 1 else f"tri{self._graphs}-",
            )
            self.context.log.info(
                "triangular.graph_built", pairs=len(graph.pairs), cycles=graph.cycle_count
            )
        elif (
            isinstance(message, BookStateChanged)
            and detector is not None
            and message.health is not BookHealth.LIVE
        ):
            detector.suspend(message.symbol)
        return None

    def _fit(self, opportunity: Opportunity, detector: CycleDetector) -> Opportunity | None:
        if self.capital is None:
            return opportunity
        fitted = resize_to_capital(
            opportunity,
            self.capital,
            detector.graph,
            self.tops,
            max_levels=self.settings.max_levels,
            min_profit_bps=self.settings.min_profit_bps,
        )
        return fitted if isinstance(fitted, Opportunity) else None
