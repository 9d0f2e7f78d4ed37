"""The RiskGate actor: the only way from an opportunity to the executor.

Inputs (forward them into its mailbox; see ``arbitrade.execution.run_trading_io``):
``Opportunity`` and stat-arb ``ClosePosition`` (``TOPIC_OPPORTUNITIES``), ``OrderUpdate``
(``TOPIC_ORDERS``), ``CycleFinished`` (``TOPIC_CYCLES``), ``PortfolioSnapshot``
(``TOPIC_PORTFOLIO``) and ``ControlChanged`` (``TOPIC_CONTROL``). The gate subscribes to
``BookStateChanged`` (``TOPIC_BOOK_STATE``) itself, on every start, so the subscription
exists before it asks the book feed (``book_feed``) what it missed: the routes above are made
only after the whole tree has started, and a restarted gate would miss the states announced
while it was down. Outputs: ``RiskAccepted``
sent to the executor (found by name when first needed) and published with ``RiskRejected`` on
``TOPIC_RISK_DECISIONS``; one ``AuditEvent`` per decision and control change on
``TOPIC_AUDIT``; a ``ControlChanged`` on ``TOPIC_CONTROL`` when the gate itself trips the kill
switch; ``CancelAllOrders`` to the executor when the kill switch asks for it.

On every start the gate asks the executor for the cycles it still trades
(:class:`~arbitrade.risk.GetCyclesInFlight`) and reserves for them again, so the open-cycle,
open-order and balance limits hold across a restart of the gate (its own crash, or the
executor's: the supervisor restarts them rest-for-one); one ``risk.restored`` audit event
lists them. When the executor does not answer within :data:`RESTORE_TIMEOUT` the gate starts
empty and logs ``risk_gate.restore_failed``. The controls (kill switch, pause, strategy mode,
risk settings changed at run time), today's PnL and the cool-downs survive in a
:class:`~arbitrade.risk.RiskMemory` when the wiring gives one (it does); without one they
start as configured. Nothing is accepted before the next portfolio snapshot (for want of
balances) and the modelled rate counter starts afresh (restored live orders are charged).

Book health starts unknown on every start (unknown books pass: see ``check_books_live``).
With a ``book_feed``, a linked task asks it for its live books and whether it lags
(:class:`~arbitrade.market.feeds.GetMarketState`, :class:`~arbitrade.market.feeds.GetFeedLag`,
each within :data:`CATCH_UP_TIMEOUT`) and fills in the books the bus has not spoken of yet
(``risk_gate.books_caught_up``); a feed that cannot be asked is logged as
``risk_gate.catch_up_failed`` and its books stay unknown until announced.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

import attrs
import trio

from actors import Actor, ActorError, Lossless, Ref
from arbitrade.market.feeds import FeedLag, GetFeedLag, GetMarketState, MarketState
from arbitrade.messages import (
    TOPIC_AUDIT,
    TOPIC_BOOK_STATE,
    TOPIC_CONTROL,
    TOPIC_RISK_DECISIONS,
    BookStateChanged,
    ControlChanged,
    CycleFinished,
    Opportunity,
    OrderUpdate,
    PortfolioSnapshot,
    RiskAccepted,
)
from arbitrade.risk._book_states import caught_up_states
from arbitrade.risk._gate import ACTOR_NAME, ControlOutcome, RiskGateCore
from arbitrade.risk._memory import RiskMemory
from arbitrade.risk._messages import CycleInFlight, GetCyclesInFlight
from arbitrade.risk._settings import RiskSettings
from arbitrade.strategy._stat_messages import ClosePosition

RESTORE_TIMEOUT: Final = 5.0
"""Seconds a starting gate waits for the executor's cycles in flight."""
CATCH_UP_TIMEOUT: Final = 10.0
"""Seconds a starting gate waits for each of the book feed's answers (it may be starting)."""


@attrs.frozen
class _BooksCaughtUp:
    """The book states a feed's answers imply, handed from the linked task to the loop."""

    states: tuple[BookStateChanged, ...]


@attrs.frozen
class GetRiskView:
    """Ask the gate for the :class:`RiskView` it would decide with now (dashboards, tests)."""


class RiskGate(Actor[Any]):
    """Risk decisions as an actor; see the module docstring.

    Args:
        settings: the limits.
        executor: name (sibling) or path of the executor actor.
        wall_clock: Unix time source, read once at start to anchor Trio time to the calendar
            (the daily loss limit's UTC day).
        memory: controls and today's PnL kept outside the actor; pass the same one to every
            incarnation (the wiring does) so a restart keeps them. None: a restart starts
            from the configured state.
        book_feed: name or path of the book feed to catch up book states from on every
            start (None: do not; books stay unknown until the feed announces them).
    """

    def __init__(
        self,
        settings: RiskSettings,
        *,
        executor: str = "executor",
        wall_clock: Callable[[], float] = time.time,
        memory: RiskMemory | None = None,
        book_feed: str | None = None,
    ) -> None:
        self.core = RiskGateCore(settings)
        self._memory = memory
        self._resumed = memory is not None and self.core.load(memory)
        self._executor_name = executor
        self._executor: Ref[Any] | None = None
        self._wall_clock = wall_clock
        self._wall_offset = 0.0
        self._book_feed = book_feed

    async def on_start(self) -> None:
        self._wall_offset = self._wall_clock() - trio.current_time()
        # before anything can be missed: the catch-up below may only fill in what this misses
        self.context.forward(TOPIC_BOOK_STATE, Lossless())  # straight into the mailbox
        if self._book_feed is not None:
            # A linked task: on the first start the feed starts after the gate.
            self.context.start_soon(self._catch_up_books, self._book_feed)
        self.context.log.info(
            "risk_gate.started", kill_switch=self.core.kill_switch, resumed=self._resumed
        )
        await self._restore()

    async def _restore(self) -> None:
        """Reserve again for the executor's cycles in flight (see the module docstring)."""
        try:
            answer = await self._executor_ref().ask(GetCyclesInFlight(), timeout=RESTORE_TIMEOUT)
        except (ActorError, trio.TooSlowError) as error:  # not found, stopped, timed out
            self.context.log.warning("risk_gate.restore_failed", error=str(error))
            return
        cycles = [c for c in answer or () if isinstance(c, CycleInFlight)]
        now = trio.current_time()
        audit = self.core.restore_cycles(cycles, now, now + self._wall_offset)
        if audit is not None:
            self.context.log.warning(
                "risk_gate.restored",
                cycles=self.core.open_cycles,
                open_orders=self.core.open_orders,
            )
            await self.context.publish(TOPIC_AUDIT, audit)

    async def _catch_up_books(self, feed: str) -> None:
        """Ask ``feed`` for its live books and its lag; hand the states to the loop."""
        asked_at = trio.current_time()
        try:
            ref = self.context.lookup(feed)
            market = await ref.ask(GetMarketState(), timeout=CATCH_UP_TIMEOUT)
            lag = await ref.ask(GetFeedLag(), timeout=CATCH_UP_TIMEOUT)
        except (ActorError, trio.TooSlowError) as error:  # not found, stopped, timed out
            self.context.log.warning("risk_gate.catch_up_failed", feed=feed, error=str(error))
            return
        if not isinstance(market, MarketState):
            self.context.log.warning("risk_gate.catch_up_failed", feed=feed, error="no state")
            return
        lag = lag if isinstance(lag, FeedLag) else None
        await self.context.ref.send(_BooksCaughtUp(caught_up_states(market, lag, asked_at)))

    def _executor_ref(self) -> Ref[Any]:
        if self._executor is None:
            self._executor = self.context.lookup(self._executor_name)
        return self._executor

    async def receive(self, message: Any) -> object:
        now = trio.current_time()
        wall = now + self._wall_offset
        if isinstance(message, Opportunity):
            await self._decide(message, now, wall, closing=False)
        elif isinstance(message, ClosePosition):
            await self._decide(message.opportunity, now, wall, closing=True)
        elif isinstance(message, BookStateChanged):
            self.core.on_book_state(message)
        elif isinstance(message, OrderUpdate):
            self.core.on_order_update(message, now)
        elif isinstance(message, CycleFinished):
            await self._obey(self.core.on_cycle_finished(message, now, wall))
        elif isinstance(message, PortfolioSnapshot):
            self.core.on_portfolio(message)
        elif isinstance(message, ControlChanged):
            if not message.who.startswith(f"{ACTOR_NAME}:"):  # not our own echo
                await self._obey(self.core.apply_control(message, now, wall))
        elif isinstance(message, GetRiskView):
            return self.core.view(now, wall)
        elif isinstance(message, _BooksCaughtUp):
            filled = self.core.catch_up_books(message.states)
            self.context.log.info(
                "risk_gate.books_caught_up", answered=len(message.states), filled=filled
            )
        else:
            self.context.log.warning("risk_gate.unexpected_message", type=type(message).__name__)
        if self._memory is not None and isinstance(message, CycleFinished | ControlChanged):
            self.core.save(self._memory)
        return None

    async def _decide(
        self, opportunity: Opportunity, now: float, wall: float, *, closing: bool
    ) -> None:
        decision = self.core.decide(opportunity, now, wall, closing=closing)
        verdict = decision.verdict
        if isinstance(verdict, RiskAccepted):
            await self.context.tell(self._executor_ref(), verdict)  # first: the hot path
            self.context.log.info("risk.accepted", opportunity_id=opportunity.id)
        else:
            self.context.log.info(
                "risk.rejected", opportunity_id=opportunity.id, reason=verdict.reason
            )
        # no schedule point per event unless a subscriber is full (see Context.publish)
        publish = self.context.publish
        await publish(TOPIC_RISK_DECISIONS, verdict)
        await publish(TOPIC_AUDIT, decision.audit)

    async def _obey(self, outcome: ControlOutcome) -> None:
        if outcome.cancel is not None:
            await self.context.tell(self._executor_ref(), outcome.cancel)
        publish = self.context.publish
        if outcome.echo is not None:
            self.context.log.warning(
                "risk.control_changed",
                setting=outcome.echo.setting,
                value=outcome.echo.value,
                who=outcome.echo.who,
            )
            await publish(TOPIC_CONTROL, outcome.echo)
        if outcome.audit is not None:
            await publish(TOPIC_AUDIT, outcome.audit)
