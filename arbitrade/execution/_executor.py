"""The executor's logic without I/O: cycles in, venue commands and bus messages out.

Leg dispatch (a decision, kept here in ADR form until docs/adr has it):

    Context: a triangular opportunity exists on the books the bot saw a few hundred
    microseconds ago; on Kraken a mispriced level lasts milliseconds. Sending legs in
    sequence (leg 2 only after leg 1 filled) needs only the home currency but costs one
    exchange round trip (tens of milliseconds) per leg, during which the later legs' prices
    move away. Sending all legs at once needs the intermediate assets already in inventory.
    Decision: all legs go out at once, as IOC limit orders at the opportunity's prices, with
    Kraken's ``deadline`` so none can trade late. The inventory of every asset the cycle
    spends is kept on hand and the risk gate checks each leg's balance separately.
    Consequences: the opportunity is taken at the prices it was seen at or not at all; a
    broken cycle (a leg rejected or partly filled) leaves surpluses and deficits across
    assets rather than one stranded position, and the unwind restores every non-home asset
    to where it started, settling the difference in home currency.

What happens when a cycle breaks: once every order of the cycle is terminal, the net flow of
each non-home asset is computed from the fills; each leftover is planned by
:func:`~arbitrade.execution._unwind.plan_unwind` and either sent as an IOC order (round after
round, up to ``unwind_attempts``) or held with an ``execution.unwind_held`` alert. The cycle
finishes with ``completed``, ``rejected`` (nothing traded), ``broken_unwound`` or
``broken_held``; its PnL is every asset's net flow over all its fills valued at the prices
the cycle traded at (home flows as they are; see ``ExecutorCore._pnl``).

Reconciliation after every reconnect and after the executor's own restart: the rules are in
``_reconcile`` (what is believed, queried, resolved and audited); the core carries them out in
:meth:`ExecutorCore.on_connection`, :meth:`ExecutorCore.recover` and
:meth:`ExecutorCore.on_query_result`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

import attrs
import orjson
import structlog

from arbitrade.execution._ids import client_order_id
from arbitrade.execution._order import TrackedOrder
from arbitrade.execution._reconcile import (
    NOT_RECEIVED_REASON,
    RECONCILED_KIND,
    RECONNECT_TRIGGER,
    RECOVERED_KIND,
    RESTART_TRIGGER,
    Belief,
    ExecutorMemory,
    correction_detail,
)
from arbitrade.execution._settings import ExecutionSettings
from arbitrade.execution._unwind import HoldReason, UnwindPlan, fill_flows, plan_unwind
from arbitrade.execution._venue import (
    DUPLICATE_REASON,
    ExecType,
    ExecutionReport,
    OrderRequest,
    VenueConnection,
    split_symbol,
)
from arbitrade.messages import (
    AuditEvent,
    BookTop,
    CycleFinished,
    Fill,
    Instrument,
    Opportunity,
    OrderState,
    OrderUpdate,
    Side,
)
from arbitrade.risk import implied_home_values

log = structlog.get_logger(__name__)

ACTOR_NAME: Final = "executor"
LOCAL_EXPIRY_REASON: Final = "deadline_passed_before_sent"
HALTED_REASON: Final = "kill_switch"


PNL_QUANTUM = Decimal("1e-12")
"""Realised PnL is kept to 1e-12 of the home currency (far below any currency's cent)."""


@attrs.frozen
class Submit:
    """Hand this order to the venue."""

    order: OrderRequest


@attrs.frozen
class Cancel:
    """Ask the venue to cancel this order."""

    cl_ord_id: str


@attrs.frozen
class Query:
    """Ask the venue what it knows of this order; answer with ``on_query_result``."""

    cl_ord_id: str


type VenueCommand = Submit | Cancel | Query
type ExecutionEvent = OrderUpdate | Fill | CycleFinished | AuditEvent


@attrs.define
class Effects:
    """What one step produced: commands for the venue, then messages for the bus, in order."""

    commands: list[VenueCommand] = attrs.field(factory=list)
    events: list[ExecutionEvent] = attrs.field(factory=list)

    def extend(self, other: Effects) -> None:
        """Append ``other``'s commands and events."""
        self.commands.extend(other.commands)
        self.events.extend(other.events)


def _json(data: Mapping[str, object]) -> str:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS, default=str).decode()


@attrs.define
class Cycle:
    """One opportunity being traded: its legs, its unwind rounds, what is held."""

    opportunity: Opportunity
    legs: list[TrackedOrder]
    unwinds: list[TrackedOrder] = attrs.field(factory=list)
    rounds: int = 0
    held: dict[str, HoldReason] = attrs.field(factory=dict)
    finished: bool = False

    @property
    def id(self) -> str:
        """The cycle id (the opportunity id)."""
        return self.opportunity.id

    def orders(self) -> list[TrackedOrder]:
        """Legs then unwinds."""
        return [*self.legs, *self.unwinds]

    def fills(self) -> list[Fill]:
        """Every fill of every order of the cycle."""
        return [fill for order in self.orders() for fill in order.fills]


class ExecutorCore:
    """Order state machines per leg, cycles, unwinds and reconciliation; one actor owns it.

    ``to_wall`` turns a Trio time into Unix seconds (for audit rows). ``memory`` holds the
    cycles and orders (a fresh one when None); a core built on a memory an earlier core used
    resumes its cycles once :meth:`recover` is called.
    """

    def __init__(
        self,
        settings: ExecutionSettings,
        to_wall: Callable[[float], float],
        memory: ExecutorMemory | None = None,
    ) -> None:
        self.settings = settings
        self._to_wall = to_wall
        self.memory = memory if memory is not None else ExecutorMemory()
        self.memory.incarnations += 1
        self.cycles: dict[str, Cycle] = self.memory.cycles
        self.orders: dict[str, TrackedOrder] = self.memory.orders
        self._beliefs: dict[str, Belief] = self.memory.beliefs
        self.books: dict[str, BookTop] = {}
        self.instruments: dict[str, Instrument] = {}
        self.connected = True
        self._queried: set[str] = set()

    @property
    def halted(self) -> bool:
        """True while the kill switch holds: nothing new is sent."""
        return self.memory.halted

    @halted.setter
    def halted(self, halted: bool) -> None:
        self.memory.halted = halted

    # --- inputs ------------------------------------------------------------------------------
    def on_book(self, book: BookTop) -> None:
        """Remember the latest top of a book (unwind pricing)."""
        self.books[book.symbol] = book

    def on_instruments(self, instruments: Iterable[Instrument]) -> None:
        """Remember pairs' increments and minimums (unwind sizing)."""
        self.instruments.update({instrument.symbol: instrument for instrument in instruments})

    def open_orders(self) -> list[TrackedOrder]:
        """Orders not yet terminal."""
        return [order for order in self.orders.values() if not order.terminal]

    def start_cycle(self, opportunity: Opportunity, now: float) -> Effects:
        """Send every leg at once as an IOC limit order at the opportunity's price.

        A cycle id seen before is ignored (never traded twice). While halted by the kill
        switch the cycle finishes at once as ``rejected`` without sending anything.
        """
        effects = Effects()
        if self.memory.known_cycle(opportunity.id):
            log.warning("executor.duplicate_cycle", cycle_id=opportunity.id)
            return effects
        deadline = now + self.settings.order_deadline_seconds
        legs = [
            TrackedOrder(
                OrderRequest(
                    cl_ord_id=client_order_id(opportunity.id, "leg", index),
                    symbol=leg.symbol,
                    side=leg.side,
                    qty=leg.qty,
                    limit_price=leg.price,
                    deadline=deadline,
                ),
                opportunity.id,
                "leg",
                now,
            )
            for index, leg in enumerate(opportunity.legs)
        ]
        cycle = Cycle(opportunity, legs)
        self.cycles[opportunity.id] = cycle
        if self.halted:
            for order in legs:
                self.orders[order.cl_ord_id] = order
                effects.events.extend(order.expire_locally(now, HALTED_REASON))
            effects.extend(self._finish(cycle, "rejected", now))
            return effects
        for order in legs:
            self.orders[order.cl_ord_id] = order
            effects.events.append(order.update(now))
            effects.commands.append(Submit(order.request))
        return effects

    def on_submitted(self, cl_ord_id: str) -> None:
        """The venue took the order (it may still be refused by the market)."""
        order = self.orders.get(cl_ord_id)
        if order is not None:
            order.sent = True

    def on_submit_failed(self, cl_ord_id: str, now: float) -> Effects:
        """The order was not sent (venue unavailable): it waits for the reconnect's query."""
        log.warning("executor.submit_failed", cl_ord_id=cl_ord_id)
        return Effects()

    def on_report(self, report: ExecutionReport, now: float) -> Effects:
        """Fold a venue report into its order, then its cycle."""
        effects = Effects()
        order = self.orders.get(report.cl_ord_id)
        if order is None:
            log.warning("executor.unknown_report", cl_ord_id=report.cl_ord_id)
            return effects
        if report.exec_type is ExecType.REJECTED and report.reason == DUPLICATE_REASON:
            # our resubmission met the original: ask what became of it
            effects.commands.append(Query(order.cl_ord_id))
            return effects
        order.sent = True
        effects.events.extend(order.apply(report))
        cycle = self.cycles[order.cycle_id]
        if cycle.finished:
            if any(isinstance(event, Fill) for event in effects.events):
                effects.events.append(self._late_fill_alert(cycle, order, now))
            return effects
        effects.extend(self._advance(cycle, now))
        return effects

    def on_connection(self, change: VenueConnection, now: float) -> Effects:
        """Note beliefs when the venue goes down; on reconnect, reconcile every order in flight.

        Going down, the state of every order not yet terminal is noted as a :class:`Belief`.
        Coming back (the venue has replayed its snapshot first), each order noted or still
        open is queried; :meth:`on_query_result` resolves and audits it. Nothing is resent
        here.
        """
        effects = Effects()
        self.connected = change.connected
        if not change.connected:
            for order in self.open_orders():
                self._note_belief(order, RECONNECT_TRIGGER)
            return effects
        for order in self.open_orders():
            self._note_belief(order, RECONNECT_TRIGGER)
        for cl_ord_id in list(self._beliefs):
            effects.commands.append(Query(cl_ord_id))
            self._queried.add(cl_ord_id)
        return effects

    def recover(self, now: float) -> Effects:
        """After a restart on a used memory: reconcile every order in flight, finish cycles.

        Every order not yet terminal is published again as it stands (so the gate and the
        portfolio, restarted with the executor, see it live) and queried (and audited like a
        reconnect, with trigger :data:`RESTART_TRIGGER`); a cycle whose orders all ended
        while nobody watched moves on (finish or unwind). One ``execution.recovered`` audit
        event lists what was resumed; a memory without unfinished cycles produces nothing.
        """
        effects = Effects()
        unfinished = [cycle for cycle in self.cycles.values() if not cycle.finished]
        if not unfinished:
            return effects
        in_flight = self.open_orders()
        detail = {
            "incarnation": self.memory.incarnations,
            "cycles": [cycle.id for cycle in unfinished],
            "orders": {order.cl_ord_id: order.state.value for order in in_flight},
        }
        log.warning("executor.recovered", cycles=len(unfinished), orders=len(in_flight))
        effects.events.append(self._audit(RECOVERED_KIND, ACTOR_NAME, detail, now))
        for order in in_flight:
            self._note_belief(order, RESTART_TRIGGER)
            effects.events.append(order.update(now))
            effects.commands.append(Query(order.cl_ord_id))
            self._queried.add(order.cl_ord_id)
        for cycle in unfinished:
            effects.extend(self._advance(cycle, now))
        return effects

    def _note_belief(self, order: TrackedOrder, trigger: str) -> None:
        if order.cl_ord_id not in self._beliefs:
            self._beliefs[order.cl_ord_id] = Belief(
                order.state, order.filled_qty, len(order.fills), trigger
            )

    def on_query_result(
        self, cl_ord_id: str, report: ExecutionReport | None, now: float
    ) -> Effects:
        """Apply what the venue knows, then audit the correction if the order was in flight.

        ``report`` None means the venue has no record. An order whose submit never left this
        process is sent again (same id, before its deadline, not while halted); one that was
        sent is treated as not placed (EXPIRED, :data:`NOT_RECEIVED_REASON`) and its cycle
        moves on. A live order unknown to the venue is logged and kept (the watchdog asks
        again).
        """
        self._queried.discard(cl_ord_id)
        order = self.orders.get(cl_ord_id)
        belief = self._beliefs.pop(cl_ord_id, None)
        if order is None:
            return Effects()
        effects = self._resolve(order, report, now)
        if belief is not None:
            audit = self._correction(order, belief, report, now)
            if audit is not None:
                effects.events.append(audit)
        return effects

    def _resolve(self, order: TrackedOrder, report: ExecutionReport | None, now: float) -> Effects:
        if report is not None:
            return self.on_report(report, now)
        if order.terminal:
            return Effects()
        if order.state is not OrderState.PENDING:
            log.warning("executor.live_order_unknown_to_venue", cl_ord_id=order.cl_ord_id)
            return Effects()
        effects = Effects()
        if not order.sent and now < order.request.deadline and not self.halted:
            log.info("executor.resubmit", cl_ord_id=order.cl_ord_id)
            effects.commands.append(Submit(order.request))
            return effects
        if self.halted:
            reason = HALTED_REASON
        elif order.sent:
            reason = NOT_RECEIVED_REASON
            log.warning("executor.order_not_received", cl_ord_id=order.cl_ord_id)
        else:
            reason = LOCAL_EXPIRY_REASON
        effects.events.extend(order.expire_locally(now, reason))
        effects.extend(self._advance(self.cycles[order.cycle_id], now))
        return effects

    def _correction(
        self, order: TrackedOrder, belief: Belief, report: ExecutionReport | None, now: float
    ) -> AuditEvent | None:
        detail = correction_detail(order, belief, report)
        if detail is None:
            return None
        log.warning(
            "executor.reconciled",
            cl_ord_id=order.cl_ord_id,
            trigger=belief.trigger,
            believed=belief.state.value,
            resolution=detail["resolution"],
            fills_added=len(order.fills) - belief.fills,
        )
        return self._audit(RECONCILED_KIND, order.cl_ord_id, detail, now)

    def on_tick(self, now: float) -> Effects:
        """Query orders still open well past their deadline (a lost report or connection)."""
        effects = Effects()
        if not self.connected:
            return effects
        grace = self.settings.stuck_order_seconds
        for order in self.open_orders():
            if now > order.request.deadline + grace and order.cl_ord_id not in self._queried:
                self._queried.add(order.cl_ord_id)
                effects.commands.append(Query(order.cl_ord_id))
        return effects

    def cancel_all(self, reason: str, now: float) -> Effects:
        """Halt: cancel every open order and send nothing new until released."""
        self.halted = True
        effects = Effects()
        for order in self.open_orders():
            effects.commands.append(Cancel(order.cl_ord_id))
        detail = {"reason": reason, "cancelled": [o.cl_ord_id for o in self.open_orders()]}
        effects.events.append(self._audit("execution.cancel_all", "kill_switch", detail, now))
        return effects

    def set_halted(self, halted: bool) -> None:
        """Follow the kill switch: while halted no new order (leg or unwind) is sent."""
        self.halted = halted

    # --- cycles ------------------------------------------------------------------------------
    def _advance(self, cycle: Cycle, now: float) -> Effects:
        if cycle.finished or any(not order.terminal for order in cycle.orders()):
            return Effects()
        legs_filled = all(order.state is OrderState.FILLED for order in cycle.legs)
        if legs_filled and not cycle.unwinds:
            return self._finish(cycle, "completed", now)
        if not cycle.fills():
            return self._finish(cycle, "rejected", now)
        return self._unwind(cycle, now)

    def _leftovers(self, cycle: Cycle) -> dict[str, Decimal]:
        home = cycle.opportunity.home
        flows = fill_flows(cycle.fills())
        return {
            asset: amount
            for asset, amount in sorted(flows.items())
            if asset != home and amount != 0 and asset not in cycle.held
        }

    def _unwind(self, cycle: Cycle, now: float) -> Effects:
        effects = Effects()
        leftovers = self._leftovers(cycle)
        if not leftovers:
            return self._finish(cycle, self._broken_outcome(cycle), now)
        settings = self.settings
        home = cycle.opportunity.home
        references = self._reference_prices(cycle)
        round_number = cycle.rounds + 1
        deadline = now + settings.order_deadline_seconds
        for index, (asset, amount) in enumerate(leftovers.items()):
            symbol = f"{asset}/{home}"
            plan = plan_unwind(
                asset,
                amount,
                home,
                instrument=self.instruments.get(symbol),
                book=self.books.get(symbol),
                reference_price=references.get(asset),
                fee_rate=settings.taker_fee_rate,
                max_loss_bps=settings.unwind_max_loss_bps,
                max_loss_abs=settings.unwind_max_loss,
            )
            if plan.hold is None and self.halted:
                plan = attrs.evolve(plan, hold=HoldReason.HALTED)
            if plan.hold is None and cycle.rounds >= settings.unwind_attempts:
                plan = attrs.evolve(plan, hold=HoldReason.ATTEMPTS)
            if plan.hold is not None:
                cycle.held[asset] = plan.hold
                effects.events.append(self._hold_event(cycle, plan, now))
                continue
            assert plan.side is not None
            order = TrackedOrder(
                OrderRequest(
                    cl_ord_id=client_order_id(cycle.id, f"unwind{round_number}", index),
                    symbol=plan.symbol,
                    side=plan.side,
                    qty=plan.qty,
                    limit_price=plan.limit_price,
                    deadline=deadline,
                ),
                cycle.id,
                "unwind",
                now,
            )
            cycle.unwinds.append(order)
            self.orders[order.cl_ord_id] = order
            effects.events.append(order.update(now))
            effects.events.append(
                self._audit("execution.unwind", cycle.id, self._plan_detail(plan), now)
            )
            effects.commands.append(Submit(order.request))
        if effects.commands:
            cycle.rounds = round_number
        else:
            effects.extend(self._finish(cycle, self._broken_outcome(cycle), now))
        return effects

    @staticmethod
    def _reference_prices(cycle: Cycle) -> dict[str, Decimal]:
        """Home price per asset the cycle traded at: the average fill price of its legs on
        ASSET/HOME where there are any, else the value implied by the legs' prices."""
        home = cycle.opportunity.home
        references = implied_home_values(cycle.opportunity)
        totals: dict[str, tuple[Decimal, Decimal]] = {}
        for fill in (fill for order in cycle.legs for fill in order.fills):
            base, quote = split_symbol(fill.symbol)
            if quote == home:
                qty, cost = totals.get(base, (Decimal(0), Decimal(0)))
                totals[base] = (qty + fill.qty, cost + fill.qty * fill.price)
        for asset, (qty, cost) in totals.items():
            if qty > 0:
                references[asset] = cost / qty
        return references

    @classmethod
    def _pnl(cls, cycle: Cycle) -> Decimal:
        """Every asset's net flow valued in home at the prices the cycle traded at.

        Fees in any asset count; inventory the cycle leaves behind (dust, a held leftover,
        a stat-arb position) is valued at its reference price, so only what was truly paid
        (fees, spread, unwind slippage) or gained shows as realised. An asset without a
        reference price counts as nothing. Home flows are exact; the valuation of leftovers
        multiplies by prices, so the sum is rounded half-even to :data:`PNL_QUANTUM`.
        """
        home = cycle.opportunity.home
        references = cls._reference_prices(cycle)
        pnl = Decimal(0)
        for asset, amount in fill_flows(cycle.fills()).items():
            if asset == home:
                pnl += amount
            elif asset in references:
                pnl += amount * references[asset]
            else:
                log.warning("executor.unvalued_leftover", cycle_id=cycle.id, asset=asset)
        return pnl.quantize(PNL_QUANTUM, rounding=ROUND_HALF_EVEN)

    @staticmethod
    def _broken_outcome(cycle: Cycle) -> str:
        alerting = [reason for reason in cycle.held.values() if reason is not HoldReason.DUST]
        return "broken_held" if alerting else "broken_unwound"

    def _finish(self, cycle: Cycle, outcome: str, now: float) -> Effects:
        cycle.finished = True
        home = cycle.opportunity.home
        pnl = self._pnl(cycle)
        unwind_cost = self._unwind_cost(cycle)
        finished = CycleFinished(
            cycle_id=cycle.id,
            outcome=outcome,
            home=home,
            pnl=pnl,
            unwind_cost=unwind_cost,
            at=now,
        )
        log.info("executor.cycle_finished", cycle_id=cycle.id, outcome=outcome, pnl=str(pnl))
        self.memory.finish(cycle)  # may forget older finished cycles (the memory's bound)
        return Effects(events=[finished])

    @classmethod
    def _unwind_cost(cls, cycle: Cycle) -> Decimal:
        """Home lost by the unwind fills against the prices the cycle traded at."""
        references = cls._reference_prices(cycle)
        cost = Decimal(0)
        for order in cycle.unwinds:
            for fill in order.fills:
                asset = fill.symbol.partition("/")[0]
                reference = references.get(asset, fill.price) * fill.qty
                traded = fill.qty * fill.price
                if fill.side is Side.SELL:
                    cost += reference - (traded - fill.fee)
                else:
                    cost += (traded + fill.fee) - reference
        return cost.quantize(PNL_QUANTUM, rounding=ROUND_HALF_EVEN)

    # --- audit -------------------------------------------------------------------------------
    def _audit(
        self, kind: str, subject: str, detail: Mapping[str, object], now: float
    ) -> AuditEvent:
        return AuditEvent(kind, ACTOR_NAME, subject, _json(detail), now, self._to_wall(now))

    @staticmethod
    def _plan_detail(plan: UnwindPlan) -> dict[str, object]:
        return {
            "asset": plan.asset,
            "amount": plan.amount,
            "symbol": plan.symbol,
            "side": plan.side.value if plan.side else "",
            "qty": plan.qty,
            "limit_price": plan.limit_price,
            "best_price": plan.best_price,
            "reference_price": plan.reference_price,
            "max_loss": plan.max_loss,
            "hold": plan.hold.value if plan.hold else "",
        }

    def _hold_event(self, cycle: Cycle, plan: UnwindPlan, now: float) -> AuditEvent:
        kind = "execution.unwind_held" if plan.alert else "execution.dust"
        if plan.alert:
            log.warning(
                "executor.unwind_held",
                cycle_id=cycle.id,
                asset=plan.asset,
                amount=str(plan.amount),
                reason=plan.hold.value if plan.hold else "",
            )
        return self._audit(kind, cycle.id, self._plan_detail(plan), now)

    def _late_fill_alert(self, cycle: Cycle, order: TrackedOrder, now: float) -> AuditEvent:
        detail: dict[str, object] = {
            "cl_ord_id": order.cl_ord_id,
            "symbol": order.request.symbol,
            "filled_qty": order.filled_qty,
            "leftovers": {a: str(v) for a, v in self._leftovers(cycle).items()},
        }
        log.warning("executor.late_fill_after_cycle", cycle_id=cycle.id, cl_ord_id=order.cl_ord_id)
        return self._audit("execution.late_fill", cycle.id, detail, now)
