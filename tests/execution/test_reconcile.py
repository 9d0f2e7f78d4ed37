"""Reconciliation with a scripted venue: after a reconnect and after the executor's own crash.

The core is driven step by step (no I/O); the actor tests run the trading tree on a virtual
clock with a :class:`~arbitrade.execution.ScriptedVenue` whose reconnect replays a snapshot.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import attrs
import hypothesis
import hypothesis.strategies as st
import trio
import trio.testing

from arbitrade.execution import (
    NOT_RECEIVED_REASON,
    RECONCILED_KIND,
    RECOVERED_KIND,
    ExecType,
    ExecutionReport,
    ExecutorCore,
    ExecutorMemory,
    OrderRequest,
    Query,
    ScriptedVenue,
    TrackedOrder,
    VenueConnection,
    silent,
)
from arbitrade.messages import (
    TOPIC_OPPORTUNITIES,
    AuditEvent,
    CycleFinished,
    Fill,
    OrderState,
    OrderUpdate,
)
from arbitrade.messages import Side as MessageSide
from arbitrade.soak._checks import count_reconciliations
from tests.execution.test_actors import leg_report, one_leg, submitted_order, trade
from tests.execution.test_executor_core import (
    core,
    end_report,
    fill_report,
    of_type,
    submitted,
)
from tests.execution.tree import trading_tree
from tests.risk.builders import make_opportunity

D = Decimal
S = OrderState
E = ExecType


def reconnect(executor: ExecutorCore, snapshot: list[ExecutionReport], now: float) -> list[Query]:
    """Down, the snapshot's reports, up: return the queries the executor asks for."""
    executor.on_connection(VenueConnection(False, "dropped", now), now)
    for report in snapshot:
        executor.on_report(report, now)
    effects = executor.on_connection(VenueConnection(True, "reconnected", now), now)
    return [c for c in effects.commands if isinstance(c, Query)]


def status(report: ExecutionReport) -> ExecutionReport:
    """The same totals read back by a query."""
    return attrs.evolve(report, exec_type=ExecType.STATUS, exec_id="", last_qty=D(0))


def details(events: list[AuditEvent]) -> list[dict[str, Any]]:
    return [json.loads(e.detail) for e in events if e.kind == RECONCILED_KIND]


class TestReconnectCore:
    def test_reconnect_when_leg_filled_in_snapshot_audits_fill_once(self) -> None:
        """A fill seen first in the snapshot and again by the query counts once, audited."""
        executor = core()
        legs = submitted(executor.start_cycle(make_opportunity(), now=100.0))
        for leg in legs:
            executor.on_submitted(leg.order.cl_ord_id)
        filled = fill_report(legs[0])
        queries = reconnect(executor, [filled], now=101.0)
        assert [q.cl_ord_id for q in queries] == [leg.order.cl_ord_id for leg in legs]
        effects = executor.on_query_result(legs[0].order.cl_ord_id, status(filled), now=101.1)
        assert of_type(effects, Fill) == []
        (detail,) = details(of_type(effects, AuditEvent))
        assert detail["believed_state"] == "pending"
        assert (detail["resolution"], detail["fills_added"]) == ("filled", [filled.exec_id])
        order = executor.orders[legs[0].order.cl_ord_id]
        assert (order.state, order.filled_qty, len(order.fills)) == (S.FILLED, filled.cum_qty, 1)

    def test_reconnect_when_query_shows_cancel_ends_order_and_audits(self) -> None:
        """An order the exchange cancelled while we were away ends CANCELLED, audited."""
        executor = core()
        (leg, *_) = submitted(executor.start_cycle(make_opportunity(), now=100.0))
        executor.on_submitted(leg.order.cl_ord_id)
        reconnect(executor, [], now=101.0)
        cancelled = end_report(leg, E.STATUS, S.CANCELLED, reason="ioc")
        effects = executor.on_query_result(leg.order.cl_ord_id, cancelled, now=101.1)
        (detail,) = details(of_type(effects, AuditEvent))
        assert (detail["resolution"], detail["exchange_status"]) == ("cancelled", "cancelled")
        assert executor.orders[leg.order.cl_ord_id].state is S.CANCELLED

    def test_reconnect_when_order_still_open_keeps_tracking_without_audit(self) -> None:
        """An order the exchange still holds as we believed needs no correction."""
        executor = core()
        (leg, *_) = submitted(executor.start_cycle(make_opportunity(), now=100.0))
        opened = end_report(leg, E.NEW, S.OPEN)
        executor.on_report(opened, 100.05)
        reconnect(executor, [], now=101.0)
        effects = executor.on_query_result(leg.order.cl_ord_id, status(opened), now=101.1)
        assert details(of_type(effects, AuditEvent)) == []
        assert executor.orders[leg.order.cl_ord_id].state is S.OPEN

    def test_reconnect_when_sent_order_unknown_expires_it_never_resends(self) -> None:
        """Sent but unknown to the exchange: not placed, no resubmission, audited."""
        executor = core()
        (leg, *_) = submitted(executor.start_cycle(make_opportunity(), now=100.0))
        executor.on_submitted(leg.order.cl_ord_id)
        reconnect(executor, [], now=100.5)
        effects = executor.on_query_result(leg.order.cl_ord_id, None, now=100.6)
        assert submitted(effects) == []
        (update,) = of_type(effects, OrderUpdate)
        assert (update.state, update.reason) == (S.EXPIRED, NOT_RECEIVED_REASON)
        (detail,) = details(of_type(effects, AuditEvent))
        assert (detail["resolution"], detail["exchange_status"]) == ("not_received", "unknown")

    def test_reconnect_when_unsent_order_unknown_resends_it_once(self) -> None:
        """An order whose submit never left is sent again with the same id before its
        deadline (it is not a blind resend: nothing reached the exchange)."""
        executor = core()
        (leg, *_) = submitted(executor.start_cycle(make_opportunity(), now=100.0))
        reconnect(executor, [], now=100.5)
        effects = executor.on_query_result(leg.order.cl_ord_id, None, now=100.6)
        assert submitted(effects) == [leg]


class TestReconnectActors:
    async def test_reconnect_when_fill_in_snapshot_publishes_it_once_and_audits(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A fill lost with the connection comes back in the snapshot: one Fill, one audit."""
        venue = ScriptedVenue(silent())
        async with trading_tree(venue) as trading:
            await trading.publish(TOPIC_OPPORTUNITIES, one_leg())
            order = await submitted_order(trading, venue)
            venue.disconnect()
            filled = trade(order, "T-1", "0.01", "0.01", cum_cost=D(500), cum_fee=D(2))
            venue.emit(filled, deliver=False)
            venue.reconnect(snapshot=[filled])
            audit = await trading.tap.expect(AuditEvent, lambda a: a.kind == RECONCILED_KIND)
            await trio.sleep(1.0)
            (finished,) = trading.tap.all(CycleFinished)
            fills = trading.tap.all(Fill)
        assert finished.outcome == "completed"
        assert [f.exec_id for f in fills] == ["T-1"]
        assert json.loads(audit.detail)["fills_added"] == ["T-1"]
        assert venue.submitted == [order]


class TestExecutorRestart:
    def test_recover_when_memory_has_open_orders_queries_them_and_audits(self) -> None:
        """A core on a used memory resumes the cycle: republishes and queries every order
        in flight."""
        memory = ExecutorMemory()
        first = ExecutorCore(core().settings, to_wall=lambda t: t, memory=memory)
        legs = submitted(first.start_cycle(make_opportunity(), now=100.0))
        for leg in legs:
            first.on_submitted(leg.order.cl_ord_id)
        second = ExecutorCore(first.settings, to_wall=lambda t: t, memory=memory)
        effects = second.recover(now=100.5)
        assert [c.cl_ord_id for c in effects.commands if isinstance(c, Query)] == [
            leg.order.cl_ord_id for leg in legs
        ]
        assert [u.cl_ord_id for u in of_type(effects, OrderUpdate)] == [
            leg.order.cl_ord_id for leg in legs
        ]
        (recovered,) = [e for e in of_type(effects, AuditEvent) if e.kind == RECOVERED_KIND]
        assert json.loads(recovered.detail)["cycles"] == ["opp-1"]
        result = second.on_query_result(legs[0].order.cl_ord_id, fill_report(legs[0]), 100.6)
        (detail,) = details(of_type(result, AuditEvent))
        assert detail["trigger"] == "executor_restart"

    def test_recover_when_memory_fresh_does_nothing(self) -> None:
        """A first start has nothing to resume and says nothing."""
        effects = core().recover(now=100.0)
        assert (effects.commands, effects.events) == ([], [])

    async def test_executor_when_crashed_with_order_in_flight_resumes_it(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """After a crash the executor still knows its order: the fill that came meanwhile
        is applied once and the cycle completes (it is not forgotten)."""
        venue = ScriptedVenue(silent())
        async with trading_tree(venue) as trading:
            await trading.publish(TOPIC_OPPORTUNITIES, one_leg())
            order = await submitted_order(trading, venue)
            venue.emit(leg_report(order, E.NEW, S.OPEN, "0"))
            await trading.tap.expect(OrderUpdate, lambda u: u.state is S.OPEN)
            await trading.harness.crash(trading.executor)
            filled = trade(order, "T-9", "0.01", "0.01", cum_cost=D(500), cum_fee=D(2))
            venue.emit(filled, deliver=False)  # lost while the executor was down
            recovered = await trading.tap.expect(
                AuditEvent, lambda a: a.kind == RECOVERED_KIND, within=5.0
            )
            audit = await trading.tap.expect(
                AuditEvent, lambda a: a.kind == RECONCILED_KIND, within=5.0
            )
            await trio.sleep(1.0)
            fills = [f for f in trading.tap.all(Fill) if f.cl_ord_id == order.cl_ord_id]
            finished = trading.tap.all(CycleFinished)
        assert json.loads(recovered.detail)["orders"] == {order.cl_ord_id: "open"}
        detail = json.loads(audit.detail)
        assert (detail["trigger"], detail["resolution"]) == ("executor_restart", "filled")
        assert sum(f.qty for f in fills) == D("0.01")
        assert len(fills) == 1
        assert [c.outcome for c in finished] == ["completed"]
        assert venue.queried == [order.cl_ord_id]


class TestSoakCount:
    def test_count_when_corrections_audited_groups_them_by_resolution(self) -> None:
        """The soak's figure counts each correction by resolution, and the recoveries."""

        def audit(kind: str, detail: str) -> AuditEvent:
            return AuditEvent(kind, "executor", "x", detail, 1.0, 2.0)

        events = [
            audit(RECONCILED_KIND, '{"resolution": "filled"}'),
            audit(RECONCILED_KIND, '{"resolution": "not_received"}'),
            audit(RECONCILED_KIND, '{"resolution": "filled"}'),
            audit(RECONCILED_KIND, "not json"),
            audit(RECOVERED_KIND, "{}"),
            audit("execution.unwind", "{}"),
        ]
        assert count_reconciliations(events) == (
            "4 (? 1, filled 2, not_received 1); executor recoveries 1"
        )
        assert count_reconciliations([]) == "0; executor recoveries 0"


class TestFillsNeverDoubled:
    @hypothesis.settings(max_examples=150, deadline=None)
    @hypothesis.given(data=st.data())
    def test_reports_when_replayed_in_any_order_count_each_lot_once(
        self, data: st.DataObject
    ) -> None:
        """Live trades, snapshot replays of them and status reads, in any order and
        repeated, add up to exactly what the exchange filled: never more, never twice."""
        lots = data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=4), label="lots")
        request = OrderRequest("c-1", "BTC/USD", MessageSide.BUY, D(sum(lots)), D(10), 1e9)
        order = TrackedOrder(request, "cycle", "leg", 0.0)
        trades, cum = [], 0
        for index, qty in enumerate(lots):
            cum += qty
            trades.append(
                ExecutionReport(
                    "c-1", E.TRADE, S.PARTIALLY_FILLED, "BTC/USD", MessageSide.BUY,
                    request.qty, D(cum), at=1.0, exec_id=f"T-{index}", last_qty=D(qty),
                    last_price=D(10), cum_cost=D(cum * 10),
                )
            )  # fmt: skip
        statuses = [status(trade) for trade in trades]
        stream = data.draw(
            st.lists(st.sampled_from(trades + statuses), min_size=1, max_size=12), label="stream"
        )
        for report in [*stream, *trades]:  # whatever came, the snapshot replays every trade
            order.apply(report)
        assert order.filled_qty == request.qty
        assert sum(fill.qty for fill in order.fills) == request.qty
        assert len({fill.exec_id for fill in order.fills}) == len(order.fills)

    def test_trade_without_cum_when_already_counted_by_status_never_overfills(self) -> None:
        """A replayed trade without totals cannot push an order past its quantity."""
        request = OrderRequest("c-2", "BTC/USD", MessageSide.BUY, D(2), D(10), 1e9)
        order = TrackedOrder(request, "cycle", "leg", 0.0)
        whole = ExecutionReport(
            "c-2", E.STATUS, S.FILLED, "BTC/USD", MessageSide.BUY, D(2), D(2), at=1.0,
            cum_cost=D(20),
        )  # fmt: skip
        order.apply(whole)
        replay = attrs.evolve(
            whole, exec_type=E.TRADE, cum_qty=D(0), exec_id="T-1", last_qty=D(2), last_price=D(10)
        )
        assert order.apply(replay) == []
        assert order.filled_qty == D(2)
