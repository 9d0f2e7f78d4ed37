"""The pair-graph actor: book tops in, triangular (and longer) opportunities out.

It drives :class:`~arbitrade.graph.CycleDetector`: the graph is (re)built from each instrument
snapshot (online pairs only, with their precisions, lot sizes and minimums), every book top is
fed to the detector, which evaluates only the cycles through the changed pair, and every sized
:class:`~arbitrade.messages.Opportunity` is published on ``TOPIC_OPPORTUNITIES`` — where the
risk gate takes it — and logged as ``opportunity.found``. A book that resyncs or whose feed
stopped is suspended until its next top, so no decision is taken on it. A rebuilt graph (an
instrument update) starts from the latest top of every book that is not suspended.

A restarted graph catches up by asking the book feed (``book_feed``) for the universe and the
live books (:class:`~arbitrade.market.feeds.MarketState`): the feed publishes instruments only
when it (re)connects, so waiting for them would leave detection off until the next disconnect.

Inputs arrive through the bus (``Context.forward``): instruments and book states losslessly;
book tops losslessly too, so the publisher (the feed) feels backpressure rather than the graph
silently missing a change.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

import attrs
import trio

from actors import Actor, ActorCrashed, ActorNotFound, ActorStopped, AskTimeout, Lossless
from arbitrade.graph import (
    CycleDetector,
    DetectorStatistics,
    FeeRates,
    GraphSettings,
    LegBook,
    PairGraph,
)
from arbitrade.graph.capital import resize_to_capital
from arbitrade.market.feeds import GetMarketState, MarketState
from arbitrade.messages import (
    TOPIC_BOOK_STATE,
    TOPIC_BOOK_TOP,
    TOPIC_INSTRUMENTS,
    TOPIC_OPPORTUNITIES,
    BookHealth,
    BookStateChanged,
    BookTop,
    InstrumentsLoaded,
    Leg,
    Opportunity,
    Side,
)

INPUT_CAPACITY: Final = 10_000
CATCH_UP_TIMEOUT: Final = 10.0
"""Seconds to wait for the book feed's state on start (it may itself be starting)."""


@attrs.frozen
class GetGraphStatistics:
    """Ask the pair-graph actor for its detector's counters (``DetectorStatistics | None``).

    Frozen, as every message must be (the runtime's debug mode refuses mutable ones).
    """


@attrs.frozen
class _Fit:
    """What fitting a cycle to the capital changes in its opportunity."""

    legs: tuple[Leg, ...]
    start_amount: Decimal
    end_amount: Decimal
    profit: Decimal
    profit_bps: Decimal

    @classmethod
    def of(cls, fitted: Opportunity) -> _Fit:
        return cls(
            fitted.legs,
            fitted.start_amount,
            fitted.end_amount,
            fitted.profit,
            fitted.profit_bps,
        )


class PairGraphActor(Actor[Any]):
    """Detects cycles on the live books; see the module docstring.

    Args:
        settings: homes, cycle length, minimum profit, staleness, depth walked.
        fees: the taker fee of each pair (the fee profile in ``config/fees.toml``).
        subscribe: take inputs from the bus (False in tests that send them directly).
        book_feed: name or path of the book feed to catch up from on start (None: do not).
        capital: the most home currency one cycle may start with (the risk gate's notional
            limit); a deeper opportunity is re-sized within it by the graph's own exact sizing
            (:func:`~arbitrade.graph.capital.resize_to_capital`), or dropped if that leaves none.
        run_id: makes this incarnation's token in opportunity ids (None: random). A backtest
            passes a deterministic one so its reports repeat; it must still give a new token
            to each incarnation, or ids (and client order ids) repeat after a restart.
    """

    def __init__(
        self,
        settings: GraphSettings,
        fees: FeeRates,
        *,
        subscribe: bool = True,
        capital: Decimal | None = None,
        book_feed: str | None = None,
        run_id: Callable[[], str] | None = None,
    ) -> None:
        self.settings = settings
        self.book_feed = book_feed
        self.fees = fees
        self.subscribe = subscribe
        self.capital = capital
        self.tops: dict[str, BookTop] = {}
        self._suspended: set[str] = set()
        self._run_id = run_id() if run_id is not None else uuid.uuid4().hex[:12]
        self.detector: CycleDetector | None = None
        # per cycle (legs' symbols and sides): the books of its last fit and what it gave
        self._fits: dict[tuple[tuple[str, Side], ...], tuple[tuple[LegBook, ...], _Fit | None]] = {}
        self._graphs = 0
        self._found = 0

    async def on_start(self) -> None:
        if self.subscribe:
            forward = self.context.forward
            forward(TOPIC_INSTRUMENTS, Lossless(100))
            forward(TOPIC_BOOK_STATE, Lossless(INPUT_CAPACITY))
            forward(TOPIC_BOOK_TOP, Lossless(INPUT_CAPACITY))
        if self.book_feed is not None:
            # A linked task: on the first start the feed starts after us and answers then.
            self.context.start_soon(self._ask_feed, self.book_feed)

    async def _ask_feed(self, feed: str) -> None:
        try:
            state = await self.context.lookup(feed).ask(GetMarketState(), timeout=CATCH_UP_TIMEOUT)
        except (ActorNotFound, AskTimeout, ActorStopped, ActorCrashed) as error:
            self.context.log.warning("graph.catch_up_failed", feed=feed, error=str(error))
            return
        if isinstance(state, MarketState):
            await self.context.ref.send(state)

    async def receive(self, message: Any) -> object:
        detector = self.detector
        if type(message) is BookTop:
            self.tops[message.symbol] = message
            if self._suspended:
                self._suspended.discard(message.symbol)
            if detector is not None:
                found = detector.on_book_top(message)
                if found:
                    await self._publish(found)
        elif isinstance(message, InstrumentsLoaded):
            found = self._build(message)
            if found:
                await self._publish(found)
        elif isinstance(message, BookStateChanged):
            if message.health is not BookHealth.LIVE:
                self._suspended.add(message.symbol)
                if detector is not None:
                    detector.suspend(message.symbol)
        elif isinstance(message, GetGraphStatistics):
            return self.statistics()
        elif isinstance(message, MarketState):
            found = self._catch_up(message)
            if found:
                await self._publish(found)
        return None

    def _catch_up(self, state: MarketState) -> list[Opportunity]:
        """Take what the book feed knew when asked, without going back on anything newer
        that already came through the bus (the bus may have overtaken the answer)."""
        found: list[Opportunity] = []
        if self.detector is None and state.instruments is not None:
            found += self._build(state.instruments)
        detector = self.detector
        for top in state.tops:
            known = self.tops.get(top.symbol)
            if top.symbol in self._suspended or (
                known is not None and known.received_at >= top.received_at
            ):
                continue
            self.tops[top.symbol] = top
            if detector is not None:
                found += detector.on_book_top(top)
        self.context.log.info("graph.caught_up", books=len(state.tops))
        return found

    def statistics(self) -> DetectorStatistics | None:
        """The detector's counters (None before the first instrument snapshot)."""
        return self.detector.statistics() if self.detector is not None else None

    def _build(self, message: InstrumentsLoaded) -> list[Opportunity]:
        """A graph and detector for ``message``'s universe, primed with the latest top of
        every book that is not suspended; returns what those books already offer."""
        settings = self.settings
        self._graphs += 1
        graph = PairGraph(
            message.instruments,
            fees=self.fees,
            home_currencies=settings.home_currencies,
            max_cycle_length=settings.max_cycle_length,
        )
        # ids stay unique across restarts, rebuilt graphs and processes: client order ids are
        # derived from them, so a repeat could double an order on the exchange
        prefix = f"tri-{self._run_id}-{self._graphs}-"
        self._fits.clear()
        self.detector = detector = CycleDetector(
            graph,
            min_profit_bps=settings.min_profit_bps,
            max_book_age=settings.max_book_age,
            max_levels=settings.max_levels,
            clock=trio.current_time,
            id_prefix=prefix,
        )
        # An instrument update rebuilds the graph; a quiet book may not change again for
        # minutes, so start from what is known rather than from nothing.
        found: list[Opportunity] = []
        primed = 0
        for symbol, top in self.tops.items():
            if symbol not in self._suspended:
                primed += 1
                found += detector.on_book_top(top)
        self.context.log.info(
            "graph.built",
            pairs=len(graph.pairs),
            cycles=graph.cycle_count,
            homes=settings.home_currencies,
            books=primed,
        )
        return found

    def _fit(self, opportunity: Opportunity) -> Opportunity | None:
        """``opportunity`` within the capital: re-sized by the graph's exact sizing, or None.

        The fit is a function of the cycle's leg books (the detector keeps the same objects
        while a side is unchanged), so a cycle re-found on the same books reuses its last fit.
        """
        detector = self.detector
        capital = self.capital
        if capital is None or detector is None or opportunity.start_amount <= capital:
            return opportunity
        books = detector.leg_books(opportunity)
        key = tuple((leg.symbol, leg.side) for leg in opportunity.legs)
        last = self._fits.get(key)
        if last is not None and all(a is b for a, b in zip(last[0], books, strict=True)):
            fit = last[1]
        else:
            fitted = resize_to_capital(
                opportunity,
                capital,
                detector.graph,
                self.tops,
                max_levels=self.settings.max_levels,
                min_profit_bps=self.settings.min_profit_bps,
                leg_books=books,
            )
            fit = _Fit.of(fitted) if isinstance(fitted, Opportunity) else None
            self._fits[key] = (books, fit)
        if fit is None:
            return None
        return attrs.evolve(
            opportunity,
            legs=fit.legs,
            start_amount=fit.start_amount,
            end_amount=fit.end_amount,
            profit=fit.profit,
            profit_bps=fit.profit_bps,
        )

    async def _publish(self, found: list[Any]) -> None:
        # no schedule point per opportunity unless a subscriber is full (Context.publish)
        publish = self.context.publish
        log = self.context.log
        for candidate in found:
            opportunity = self._fit(candidate)
            if opportunity is None:
                continue
            self._found += 1
            # publish first: the log line is not on the tick-to-order path
            await publish(TOPIC_OPPORTUNITIES, opportunity)
            log.info(
                "opportunity.found",
                id=opportunity.id,
                cycle=" > ".join(f"{leg.side} {leg.symbol}" for leg in opportunity.legs),
                start=str(opportunity.start_amount),
                profit=str(opportunity.profit),
                profit_bps=str(opportunity.profit_bps),
                home=opportunity.home,
                latency_us=round(opportunity.latency * 1e6, 1),
            )
