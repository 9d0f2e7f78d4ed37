"""The trading tree (risk gate, executor, portfolio) through actors.testing and a scripted venue."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import trio
import trio.testing

from arbitrade.execution import (
    ExecType,
    ExecutionReport,
    GetPortfolio,
    OrderRequest,
    ScriptedVenue,
    fills_at_limit,
    rejects,
    silent,
)
from arbitrade.messages import (
    TOPIC_BOOK_TOP,
    TOPIC_CONTROL,
    TOPIC_CYCLES,
    TOPIC_INSTRUMENTS,
    TOPIC_OPPORTUNITIES,
    AuditEvent,
    ControlChanged,
    CycleFinished,
    Fill,
    InstrumentsLoaded,
    OrderState,
    OrderUpdate,
    PortfolioSnapshot,
)
from tests.execution.market import BOOKS, INSTRUMENTS
from tests.execution.tree import WALL, Trading, trading_tree
from tests.risk.builders import make_opportunity, triangle_legs

D = Decimal
S = OrderState
E = ExecType
FEE = D("0.004")


def one_leg(**changes: Any) -> Any:
    """A single buy of BTC/USD (stat_arb: no profit check), detected now."""
    return make_opportunity(
        strategy="stat_arb",
        legs=triangle_legs()[:1],
        book_ages=(0.0,),
        detected_at=trio.current_time(),
        **changes,
    )


def leg_report(
    order: OrderRequest, exec_type: ExecType, status: OrderState, cum: str, **extra: Any
) -> ExecutionReport:
    return ExecutionReport(
        order.cl_ord_id,
        exec_type,
        status,
        order.symbol,
        order.side,
        order.qty,
        D(cum),
        at=trio.current_time(),
        venue_order_id="V-1",
        **extra,
    )


def trade(order: OrderRequest, exec_id: str, qty: str, cum: str, **extra: Any) -> ExecutionReport:
    status = S.FILLED if D(cum) >= order.qty else S.PARTIALLY_FILLED
    return leg_report(
        order,
        E.TRADE,
        status,
        cum,
        exec_id=exec_id,
        last_qty=D(qty),
        last_price=order.limit_price,
        fee=D(qty) * order.limit_price * FEE,
        fee_asset="USD",
        **extra,
    )


async def submitted_order(trading: Trading, venue: ScriptedVenue) -> OrderRequest:
    """The first order, once published as PENDING (the executor submits before publishing)."""
    await trading.tap.expect(OrderUpdate, lambda u: u.state is S.PENDING)
    return venue.submitted[0]


def states_of(trading: Trading, cl_ord_id: str) -> list[OrderState]:
    """Every state published for the order so far."""
    return [u.state for u in trading.tap.all(OrderUpdate) if u.cl_ord_id == cl_ord_id]


class TestCycles:
    async def test_opportunity_when_legs_fill_completes_and_books_pnl(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Opportunity to fills: completed cycle, three fills, portfolio PnL and balances."""
        venue = ScriptedVenue(fills_at_limit(FEE))
        async with trading_tree(venue) as trading:
            await trading.publish(
                TOPIC_OPPORTUNITIES, make_opportunity(detected_at=trio.current_time())
            )
            finished = await trading.tap.expect(CycleFinished)
            assert finished.outcome == "completed"
            usd_flow = D(520) * (1 - FEE) - D(500) * (1 + FEE)
            assert finished.pnl == usd_flow - D("0.2") * D("0.05") * FEE * D(50000)
            assert len(trading.tap.all(Fill)) == 3
            await trading.tap.expect(PortfolioSnapshot, lambda s: s.realised_pnl_total != 0)
            snapshot = await trading.portfolio.ask(GetPortfolio())
            assert snapshot.realised_pnl_today == finished.pnl
            assert dict(snapshot.balances)["USD"] == D(100_000) + usd_flow

    async def test_cycle_when_leg_rejected_unwinds_back_to_home(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A rejected middle leg: leftovers unwound by IOC orders, outcome broken_unwound."""

        def handler(order: OrderRequest, at: float) -> list[ExecutionReport]:
            if order.symbol == "ETH/BTC":
                return list(rejects("EOrder:Insufficient funds")(order, at))
            return list(fills_at_limit(FEE)(order, at))

        venue = ScriptedVenue(handler)
        async with trading_tree(venue) as trading:
            await trading.publish(TOPIC_INSTRUMENTS, InstrumentsLoaded(INSTRUMENTS, 0.0))
            for book in BOOKS:
                await trading.publish(TOPIC_BOOK_TOP, book)
            await trading.publish(
                TOPIC_OPPORTUNITIES, make_opportunity(detected_at=trio.current_time())
            )
            finished = await trading.tap.expect(CycleFinished)
            assert finished.outcome == "broken_unwound"
            unwinds = [a for a in trading.tap.all(AuditEvent) if a.kind == "execution.unwind"]
            assert sorted(json.loads(a.detail)["symbol"] for a in unwinds) == ["BTC/USD", "ETH/USD"]
            assert len(venue.submitted) == 5


TRANSITIONS: list[Any] = [
    pytest.param(
        lambda o: [
            leg_report(o, E.NEW, S.OPEN, "0"),
            trade(o, "t1", "0.004", "0.004"),
            trade(o, "t2", "0.006", "0.01"),
        ],
        [S.PENDING, S.OPEN, S.PARTIALLY_FILLED, S.FILLED],
        id="open_partial_filled",
    ),
    pytest.param(
        lambda o: [
            leg_report(o, E.NEW, S.OPEN, "0"),
            leg_report(o, E.CANCELED, S.CANCELLED, "0", reason="ioc"),
        ],
        [S.PENDING, S.OPEN, S.CANCELLED],
        id="open_cancelled",
    ),
    pytest.param(
        lambda o: [leg_report(o, E.REJECTED, S.REJECTED, "0", reason="EOrder:Insufficient funds")],
        [S.PENDING, S.REJECTED],
        id="rejected",
    ),
    pytest.param(
        lambda o: [leg_report(o, E.NEW, S.OPEN, "0"), leg_report(o, E.EXPIRED, S.EXPIRED, "0")],
        [S.PENDING, S.OPEN, S.EXPIRED],
        id="open_expired",
    ),
    pytest.param(
        lambda o: [
            trade(o, "t1", "0.004", "0.004"),
            leg_report(o, E.CANCELED, S.CANCELLED, "0.004", reason="ioc"),
        ],
        [S.PENDING, S.PARTIALLY_FILLED, S.CANCELLED],
        id="partial_cancelled",
    ),
]


class TestOrderStates:
    @pytest.mark.parametrize(("script", "expected"), TRANSITIONS)
    async def test_order_when_venue_reports_publishes_each_transition(
        self,
        autojump_clock: trio.testing.MockClock,
        script: Callable[[OrderRequest], list[ExecutionReport]],
        expected: list[OrderState],
    ) -> None:
        """Each state change is one OrderUpdate on the orders topic, in order."""
        venue = ScriptedVenue(silent())
        async with trading_tree(venue) as trading:
            await trading.publish(TOPIC_OPPORTUNITIES, one_leg())
            order = await submitted_order(trading, venue)
            for report in script(order):
                venue.emit(report)
            await trading.tap.expect(CycleFinished)
            assert states_of(trading, order.cl_ord_id) == expected

    async def test_reports_when_duplicated_count_fills_once(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Duplicate execution reports change nothing: one Fill, one update per state."""
        venue = ScriptedVenue(silent())
        async with trading_tree(venue) as trading:
            await trading.publish(TOPIC_OPPORTUNITIES, one_leg())
            order = await submitted_order(trading, venue)
            fill = trade(order, "t1", "0.01", "0.01")
            for report in (leg_report(order, E.NEW, S.OPEN, "0"),) * 2 + (fill,) * 3:
                venue.emit(report)
            await trading.tap.expect(CycleFinished)
            assert len(trading.tap.all(Fill)) == 1
            states = [u.state for u in trading.tap.all(OrderUpdate)]
            assert states == [S.PENDING, S.OPEN, S.FILLED]

    async def test_fill_when_after_cancel_is_counted_and_alerted(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A late fill after CANCELLED still reaches fills, the portfolio and an alert."""
        venue = ScriptedVenue(silent())
        async with trading_tree(venue) as trading:
            await trading.publish(TOPIC_OPPORTUNITIES, one_leg())
            order = await submitted_order(trading, venue)
            venue.emit(leg_report(order, E.CANCELED, S.CANCELLED, "0", reason="user_requested"))
            await trading.tap.expect(CycleFinished)
            venue.emit(trade(order, "late", "0.01", "0.01"))
            await trading.tap.expect(AuditEvent, lambda a: a.kind == "execution.late_fill")
            await trio.sleep(0.01)  # the tap's other topics catch up
            assert [u.reason for u in trading.tap.all(OrderUpdate)][-1] == "late_fill"
            (fill,) = trading.tap.all(Fill)
            assert fill.qty == D("0.01")


class TestResubmission:
    async def test_submit_when_disconnected_resubmits_once_after_reconnect(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Orders not sent while down are queried, then sent exactly once on reconnect."""
        venue = ScriptedVenue(fills_at_limit(FEE))
        async with trading_tree(venue) as trading:
            venue.disconnect()
            await trading.publish(
                TOPIC_OPPORTUNITIES, make_opportunity(detected_at=trio.current_time())
            )
            await trading.tap.expect(OrderUpdate, lambda u: u.state is S.PENDING)
            await trio.sleep(0.5)
            assert venue.submitted == []
            venue.reconnect()
            await trading.tap.expect(CycleFinished, lambda c: c.outcome == "completed")
            ids = [order.cl_ord_id for order in venue.submitted]
            assert len(ids) == len(set(ids)) == 3
            assert len(venue.queried) == 3

    async def test_report_when_lost_in_disconnect_is_recovered_by_query_not_resubmit(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An order that traded while its reports were lost is never sent again."""
        venue = ScriptedVenue(silent())
        async with trading_tree(venue) as trading:
            await trading.publish(TOPIC_OPPORTUNITIES, one_leg())
            order = await submitted_order(trading, venue)
            venue.disconnect()
            venue.emit(
                leg_report(order, E.FILLED, S.FILLED, "0.01", cum_cost=D(500), cum_fee=D(2)),
                deliver=False,
            )
            venue.reconnect()
            finished = await trading.tap.expect(CycleFinished)
            assert finished.outcome == "completed"
            assert [o.cl_ord_id for o in venue.submitted] == [order.cl_ord_id]
            (fill,) = trading.tap.all(Fill)
            assert (fill.qty, fill.price, fill.fee) == (D("0.01"), D(50000), D(2))

    async def test_submit_when_lost_in_transit_is_treated_as_not_placed_never_resent(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A sent order the venue has no record of is not placed: never resent, audited."""
        venue = ScriptedVenue(fills_at_limit(FEE))
        async with trading_tree(venue) as trading:
            venue.lose_next(1)
            await trading.publish(TOPIC_OPPORTUNITIES, one_leg())
            pending = await trading.tap.expect(OrderUpdate, lambda u: u.state is S.PENDING)
            venue.disconnect()
            venue.reconnect()
            await trading.tap.expect(CycleFinished, lambda c: c.outcome == "rejected")
            audit = await trading.tap.expect(AuditEvent, lambda a: a.kind == "execution.reconciled")
            assert venue.submitted == []
            assert trading.tap.all(Fill) == []
            assert audit.subject == pending.cl_ord_id
            assert json.loads(audit.detail)["resolution"] == "not_received"

    async def test_order_when_stuck_past_deadline_is_queried_by_watchdog(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """No report at all: after deadline plus grace the executor asks the venue."""
        venue = ScriptedVenue(silent())
        async with trading_tree(venue) as trading:
            await trading.publish(TOPIC_OPPORTUNITIES, one_leg())
            order = await submitted_order(trading, venue)
            venue.emit(leg_report(order, E.EXPIRED, S.EXPIRED, "0"), deliver=False)
            await trading.tap.expect(CycleFinished, within=10.0)
            assert venue.queried == [order.cl_ord_id]


class TestKillSwitch:
    async def test_kill_switch_when_orders_open_cancels_them(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The operator's kill switch reaches the venue as a cancel of every open order."""
        venue = ScriptedVenue(silent())
        async with trading_tree(venue) as trading:
            await trading.publish(TOPIC_OPPORTUNITIES, one_leg())
            order = await submitted_order(trading, venue)
            venue.emit(leg_report(order, E.NEW, S.OPEN, "0"))
            await trading.tap.expect(OrderUpdate, lambda u: u.state is S.OPEN)
            await trading.publish(
                TOPIC_CONTROL, ControlChanged("kill_switch", "on", "off", "alice", 0.0, WALL)
            )
            await trading.tap.expect(AuditEvent, lambda a: a.kind == "execution.cancel_all")
            assert venue.cancelled == [order.cl_ord_id]
            await trading.publish(TOPIC_OPPORTUNITIES, one_leg(id="after"))
            await trading.tap.expect(
                AuditEvent, lambda a: a.subject == "after" and a.kind == "risk.rejected"
            )

    async def test_daily_loss_when_reached_cancels_open_orders(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A loss past the daily limit trips the kill switch and cancels what is open."""
        venue = ScriptedVenue(silent())
        async with trading_tree(venue) as trading:
            await trading.publish(TOPIC_OPPORTUNITIES, one_leg())
            order = await submitted_order(trading, venue)
            await trading.publish(
                TOPIC_CYCLES, CycleFinished("elsewhere", "broken_held", "USD", D(-150), D(0), 0.0)
            )
            echo = await trading.tap.expect(ControlChanged)
            assert echo.who == "risk_gate:daily_loss_limit"
            await trading.tap.expect(AuditEvent, lambda a: a.kind == "execution.cancel_all")
            assert venue.cancelled == [order.cl_ord_id]
