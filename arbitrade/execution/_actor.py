"""The Executor actor: runs the executor core against a venue and publishes what happens.

Inputs (mailbox): ``RiskAccepted`` and ``CancelAllOrders`` from the risk gate, and its
``GetCyclesInFlight`` on every start (answered with a ``CycleInFlight`` per unfinished
cycle); the venue's ``ExecutionReport`` and ``VenueConnection`` events, ``BookTop`` and
``InstrumentsLoaded`` (market data for unwinds; book tops are also shown to the venue, which
is how the paper venue sees the market), ``ControlChanged`` (the kill switch), and
``ExecutorTick`` (the stuck-order watchdog). All are forwarded by
:func:`~arbitrade.execution.run_trading_io`.
Outputs on the bus: ``OrderUpdate`` (``TOPIC_ORDERS``), ``Fill`` (``TOPIC_FILLS``),
``CycleFinished`` (``TOPIC_CYCLES``), ``AuditEvent`` (``TOPIC_AUDIT``).

Venue commands are carried out before anything is published, so publishing (which may wait
on a lossless subscriber) never delays an order. A ``VenueUnavailable`` from submit leaves the
order pending until the reconnect's query; from a query, the order is asked about again on
the next reconnect or watchdog round.

On a crash the supervisor restarts the executor; its cycles and orders live in an
:class:`~arbitrade.execution.ExecutorMemory` outside the actor (the wiring hands the same one to
every incarnation), so the new incarnation resumes them in ``on_start``: every order in flight
is queried and reconciled (``execution.reconciled`` audit events, trigger
``executor_restart``), one ``execution.recovered`` event lists what was resumed, and reports
that arrive for those orders are applied as before. Reports the venue sent while the actor was
down wait in its mailbox, which outlives the incarnation. Without a shared memory (an executor
built alone) a restart forgets every order, as before. Orders a previous process left
unfinished (``unfinished``, read from the ``orders`` table) are resolved by the first
incarnation's ``on_start`` (see ``_restart``), before it takes any new cycle.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Final

import attrs
import trio

from actors import Actor
from arbitrade.execution._errors import VenueUnavailable
from arbitrade.execution._executor import Cancel, Effects, ExecutorCore, Query, Submit
from arbitrade.execution._reconcile import ExecutorMemory
from arbitrade.execution._restart import resolve_unfinished
from arbitrade.execution._settings import ExecutionSettings
from arbitrade.execution._venue import ExecutionReport, Venue, VenueConnection
from arbitrade.messages import (
    TOPIC_AUDIT,
    TOPIC_CYCLES,
    TOPIC_FILLS,
    TOPIC_ORDERS,
    AuditEvent,
    BookTop,
    ControlChanged,
    CycleFinished,
    Fill,
    InstrumentsLoaded,
    OrderUpdate,
    RiskAccepted,
)
from arbitrade.risk import CancelAllOrders, CycleInFlight, GetCyclesInFlight

_TOPICS: Final = {
    OrderUpdate: TOPIC_ORDERS,
    Fill: TOPIC_FILLS,
    CycleFinished: TOPIC_CYCLES,
    AuditEvent: TOPIC_AUDIT,
}
_ON: Final = frozenset({"on", "true", "1", "yes", "engaged"})


@attrs.frozen
class ExecutorTick:
    """Time for the stuck-order watchdog."""


@attrs.frozen
class GetOpenOrders:
    """Ask the executor for the ``OrderUpdate`` of every order not yet terminal."""


class Executor(Actor[Any]):
    """The executor; see the module docstring.

    Args:
        settings: execution settings.
        venue: where orders go (already running: start it before the actor tree).
        wall_clock: Unix time source, read once at start (audit rows' ``at_wall``).
        memory: cycles and orders kept outside the actor; pass the same one to every
            incarnation (the wiring does) so a restart resumes them. A fresh one when None.
        unfinished: orders a previous process left not terminal (from the ``orders`` table,
            :func:`~arbitrade.execution.load_unfinished_orders`); the first incarnation
            resolves them at the venue in ``on_start``, before any new cycle.
    """

    def __init__(
        self,
        settings: ExecutionSettings,
        venue: Venue,
        *,
        wall_clock: Callable[[], float] = time.time,
        memory: ExecutorMemory | None = None,
        unfinished: Sequence[OrderUpdate] = (),
    ) -> None:
        self.venue = venue
        self._unfinished = tuple(unfinished)
        self._wall_clock = wall_clock
        self._wall_offset = 0.0
        self.core = ExecutorCore(
            settings, to_wall=lambda now: now + self._wall_offset, memory=memory
        )

    async def on_start(self) -> None:
        self._wall_offset = self._wall_clock() - trio.current_time()
        self.context.log.info(
            "executor.started",
            venue=self.venue.name,
            incarnation=self.core.memory.incarnations,
        )
        if self.core.memory.incarnations > 1:
            await self._carry_out(self.core.recover(trio.current_time()))
        elif self._unfinished:
            events = await resolve_unfinished(
                self.venue, self._unfinished, lambda now: now + self._wall_offset
            )
            for event in events:
                await self.context.bus.publish(_TOPICS[type(event)], event)

    async def receive(self, message: Any) -> object:
        core = self.core
        now = trio.current_time()
        if isinstance(message, BookTop):
            core.on_book(message)
            self.venue.observe_book(message)
        elif isinstance(message, RiskAccepted):
            await self._carry_out(core.start_cycle(message.opportunity, now))
        elif isinstance(message, ExecutionReport):
            await self._carry_out(core.on_report(message, now))
        elif isinstance(message, VenueConnection):
            self.context.log.warning(
                "executor.venue_connection", connected=message.connected, reason=message.reason
            )
            await self._carry_out(core.on_connection(message, now))
        elif isinstance(message, ExecutorTick):
            await self._carry_out(core.on_tick(now))
        elif isinstance(message, CancelAllOrders):
            self.context.log.warning("executor.cancel_all", reason=message.reason)
            await self._carry_out(core.cancel_all(message.reason, now))
        elif isinstance(message, ControlChanged):
            if message.setting == "kill_switch":
                core.set_halted(message.value.strip().lower() in _ON)
        elif isinstance(message, InstrumentsLoaded):
            core.on_instruments(message.instruments)
        elif isinstance(message, GetOpenOrders):
            return tuple(order.update(now) for order in core.open_orders())
        elif isinstance(message, GetCyclesInFlight):
            return tuple(
                CycleInFlight(cycle.opportunity, tuple(o.update(now) for o in cycle.orders()))
                for cycle in core.cycles.values()
                if not cycle.finished
            )
        else:
            self.context.log.warning("executor.unexpected_message", type=type(message).__name__)
        return None

    async def _carry_out(self, effects: Effects) -> None:
        """Venue commands first (in order), then the events, each on its topic."""
        venue, core = self.venue, self.core
        # a query's answer may add commands (a resubmission): the loop picks them up too
        for command in effects.commands:
            if isinstance(command, Submit):
                cl_ord_id = command.order.cl_ord_id
                try:
                    await venue.submit(command.order)
                except VenueUnavailable:
                    effects.extend(core.on_submit_failed(cl_ord_id, trio.current_time()))
                else:
                    core.on_submitted(cl_ord_id)
            elif isinstance(command, Cancel):
                try:
                    await venue.cancel(command.cl_ord_id)
                except VenueUnavailable:
                    self.context.log.warning(
                        "executor.cancel_not_sent", cl_ord_id=command.cl_ord_id
                    )
            elif isinstance(command, Query):
                try:
                    report = await venue.query(command.cl_ord_id)
                except VenueUnavailable:
                    self.context.log.warning("executor.query_failed", cl_ord_id=command.cl_ord_id)
                    continue
                effects.extend(core.on_query_result(command.cl_ord_id, report, trio.current_time()))
        publish = self.context.bus.publish
        for event in effects.events:
            await publish(_TOPICS[type(event)], event)
