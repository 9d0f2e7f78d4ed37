"""Reconciliation after the whole process died (SIGKILL): the orders table is the only trace.

Orders are stored in a temporary DuckDB file as the sink would; a new trading tree is then
started on a scripted venue with what :func:`~arbitrade.execution.load_unfinished_orders`
finds, and the executor resolves them before it takes any new cycle.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing

import actors.testing
from actors import Lossless, Subscription, SupervisorSpec
from arbitrade.execution import (
    NOT_RECEIVED_REASON,
    PROCESS_RESTART_TRIGGER,
    RECONCILED_KIND,
    RECOVERED_KIND,
    ExecType,
    ExecutionReport,
    ExecutionSettings,
    LiveVenue,
    OrderRequest,
    ScriptedVenue,
    load_unfinished_orders,
    resolve_unfinished,
    run_trading_io,
    silent,
    trading_supervisor,
)
from arbitrade.messages import (
    TOPIC_AUDIT,
    TOPIC_OPPORTUNITIES,
    TOPIC_ORDERS,
    AuditEvent,
    OrderState,
    OrderUpdate,
    Side,
)
from arbitrade.persistence import Batch, DuckDBWriter, TableRows, mapping_for
from arbitrade.risk import RiskSettings
from arbitrade.sim import DEFAULT_API_KEY, SimConfig, serve_simulator
from arbitrade.sim._book import Side as BookSide
from tests.execution.test_actors import one_leg
from tests.execution.test_live import LIVE
from tests.execution.tree import RICH, WALL

D = Decimal


def stored(cl_ord_id: str, state: OrderState, filled: str = "0", at: float = 1.0) -> OrderUpdate:
    return OrderUpdate(
        cl_ord_id=cl_ord_id,
        cycle_id=f"cycle-{cl_ord_id}",
        symbol="BTC/USD",
        side=Side.BUY,
        order_type="limit",
        limit_price=D("50000"),
        qty=D("0.01"),
        filled_qty=D(filled),
        state=state,
        reason="",
        at=at,
        venue_order_id="",
    )


def store(path: Path, updates: Iterable[OrderUpdate]) -> None:
    """Commit ``updates`` to the ``orders`` table as the sink does, then close (as a kill
    after a commit leaves it: committed batches survive)."""
    mapping = mapping_for(OrderUpdate)
    assert mapping is not None
    rows = [mapping.to_row(update) for update in updates]
    writer = DuckDBWriter(path)
    writer.open()
    writer.write(Batch(uuid.uuid4().hex, 1, (TableRows.from_rows("orders", rows),)))
    writer.close()


def status(update: OrderUpdate, state: OrderState, cum: str) -> ExecutionReport:
    return ExecutionReport(
        update.cl_ord_id,
        ExecType.STATUS,
        state,
        update.symbol,
        update.side,
        update.qty,
        D(cum),
        at=0.0,
        venue_order_id=f"V-{update.cl_ord_id}",
        reason="ioc" if state is OrderState.CANCELLED else "",
    )


OPEN_THEN_CANCELLED = stored("a", OrderState.PENDING), stored("a", OrderState.OPEN, at=2.0)
NEVER_RECEIVED = stored("b", OrderState.PENDING)
FILLED = stored("c", OrderState.PENDING), stored("c", OrderState.FILLED, "0.01", at=2.0)
PARTLY_FILLED = stored("d", OrderState.PARTIALLY_FILLED, "0.004")


class TestLoadUnfinished:
    def test_load_when_orders_stored_returns_last_row_of_each_unfinished_one(
        self, tmp_path: Path
    ) -> None:
        """Each order's last stored row counts; terminal orders are left out."""
        path = tmp_path / "bot.duckdb"
        store(path, [*OPEN_THEN_CANCELLED, NEVER_RECEIVED, *FILLED, PARTLY_FILLED])
        unfinished = load_unfinished_orders(path)
        assert [(u.cl_ord_id, u.state) for u in unfinished] == [
            ("a", OrderState.OPEN),
            ("b", OrderState.PENDING),
            ("d", OrderState.PARTIALLY_FILLED),
        ]
        assert unfinished[2].filled_qty == D("0.004")

    def test_load_when_file_missing_returns_nothing(self, tmp_path: Path) -> None:
        """A first start (no database yet) has nothing to resume."""
        assert load_unfinished_orders(tmp_path / "none.duckdb") == ()


class TestProcessRestart:
    async def test_start_when_orders_left_unfinished_resolves_them_before_new_cycles(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Path
    ) -> None:
        """Each unfinished order is queried and ends as the exchange says (cancelled, never
        received, filled), audited as a reconnect is, before the first new order is sent."""
        path = tmp_path / "bot.duckdb"
        store(path, [*OPEN_THEN_CANCELLED, NEVER_RECEIVED, *FILLED, PARTLY_FILLED])
        unfinished = load_unfinished_orders(path)
        venue = ScriptedVenue(silent())
        venue.emit(status(OPEN_THEN_CANCELLED[1], OrderState.CANCELLED, "0"), deliver=False)
        venue.emit(status(PARTLY_FILLED, OrderState.FILLED, "0.01"), deliver=False)
        async with actors.testing.open_harness() as harness, trio.open_nursery() as nursery:
            await nursery.start(venue.run)
            audits = harness.bus.subscribe(TOPIC_AUDIT, Lossless(1000))
            orders = harness.bus.subscribe(TOPIC_ORDERS, Lossless(1000))
            tree = trading_supervisor(
                RiskSettings(),
                ExecutionSettings(),
                venue,
                initial_balances=RICH,
                wall_clock=lambda: WALL,
                unfinished_orders=unfinished,
            )
            await harness.start_tree(SupervisorSpec("root", [tree]))
            lookup = harness.registry.lookup
            await nursery.start(
                run_trading_io, harness.bus, lookup, venue, ExecutionSettings(), "root/trading"
            )
            queried_before_new = list(venue.queried)
            await harness.bus.publish(TOPIC_OPPORTUNITIES, one_leg(id="new"))
            with trio.fail_after(5):
                while not venue.submitted:  # noqa: ASYNC110 - virtual clock
                    await trio.sleep(0.01)
            events = drain(audits)
            updates = drain(orders)
            nursery.cancel_scope.cancel()
        assert queried_before_new == ["a", "b", "d"]
        recovered = [e for e in events if e.kind == RECOVERED_KIND]
        assert json.loads(recovered[0].detail)["orders"] == {
            "a": "open",
            "b": "pending",
            "d": "partially_filled",
        }
        details = {e.subject: json.loads(e.detail) for e in events if e.kind == RECONCILED_KIND}
        assert {k: d["resolution"] for k, d in details.items()} == {
            "a": "cancelled",
            "b": "not_received",
            "d": "filled",
        }
        assert {d["trigger"] for d in details.values()} == {PROCESS_RESTART_TRIGGER}
        final = {u.cl_ord_id: u for u in updates if u.cl_ord_id in "abd"}
        assert (final["a"].state, final["a"].venue_order_id) == (OrderState.CANCELLED, "V-a")
        assert (final["b"].state, final["b"].reason) == (OrderState.EXPIRED, NOT_RECEIVED_REASON)
        assert (final["d"].state, final["d"].filled_qty) == (OrderState.FILLED, D("0.01"))
        assert [o.cl_ord_id for o in venue.submitted if o.cl_ord_id in "abcd"] == []

    async def test_start_when_venue_unreachable_audits_and_leaves_order_as_stored(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Path
    ) -> None:
        """A query that cannot be made leaves the row alone and says so in the audit."""
        venue = ScriptedVenue(silent())
        venue.connected = False
        async with actors.testing.open_harness() as harness, trio.open_nursery() as nursery:
            await nursery.start(venue.run)
            audits = harness.bus.subscribe(TOPIC_AUDIT, Lossless(1000))
            orders = harness.bus.subscribe(TOPIC_ORDERS, Lossless(1000))
            tree = trading_supervisor(
                RiskSettings(),
                ExecutionSettings(),
                venue,
                initial_balances=RICH,
                wall_clock=lambda: WALL,
                unfinished_orders=(NEVER_RECEIVED,),
            )
            await harness.start_tree(SupervisorSpec("root", [tree]))
            await trio.sleep(0.1)
            events = drain(audits)
            updates = drain(orders)
            nursery.cancel_scope.cancel()
        (reconciled,) = [e for e in events if e.kind == RECONCILED_KIND]
        assert json.loads(reconciled.detail)["resolution"] == "unreachable"
        assert [u for u in updates if u.cl_ord_id == "b"] == []


def drain(subscription: Subscription) -> list[Any]:
    """Everything the subscription holds now."""
    events: list[Any] = []
    while True:
        try:
            events.append(subscription.receive_nowait())
        except trio.WouldBlock:
            return events


@pytest.mark.slow
class TestProcessRestartOnSimulator:
    async def test_resolve_when_new_process_finds_order_closed_names_it_cancelled(
        self,
    ) -> None:
        """A new process's live venue never saw the order, yet finds it by ``cl_ord_id``
        among Kraken's closed orders: the stored PENDING row ends CANCELLED."""
        config = SimConfig(symbols=("BTC/USD",), ticking=False)
        async with trio.open_nursery() as nursery:
            running = await nursery.start(serve_simulator, config)
            settings = attrs.evolve(
                LIVE,
                kraken_rest_url=running.rest_url,
                kraken_ws_private_url=running.ws_private_url,
            )
            book = running.simulator.model.book("BTC/USD")
            pair = running.simulator.universe.pair("BTC/USD")
            bid = D(book.best(BookSide.BID) or 0).scaleb(-pair.price_precision)
            price = (bid * D("0.9")).quantize(D(1).scaleb(-pair.price_precision))
            order = OrderRequest(
                "before-kill-1", "BTC/USD", Side.BUY, D("0.01"), price, trio.current_time() + 5
            )
            async with trio.open_nursery() as first_process:
                old = LiveVenue(settings)
                await first_process.start(old.run)
                await old.submit(order)
                with trio.fail_after(10):
                    while not running.simulator.engine.find_orders(  # noqa: ASYNC110 - sockets
                        DEFAULT_API_KEY, cl_ord_ids=[order.cl_ord_id]
                    ):
                        await trio.sleep(0.01)
                first_process.cancel_scope.cancel()  # the kill: its memory is gone
            row = attrs.evolve(
                stored("x", OrderState.PENDING), cl_ord_id=order.cl_ord_id, limit_price=price
            )
            async with trio.open_nursery() as second_process:
                new = LiveVenue(settings)
                await second_process.start(new.run)
                events = await resolve_unfinished(new, [row], lambda now: WALL + now)
                second_process.cancel_scope.cancel()
            nursery.cancel_scope.cancel()
        updates = [e for e in events if isinstance(e, OrderUpdate)]
        audits = [e for e in events if isinstance(e, AuditEvent)]
        assert [a.kind for a in audits] == [RECOVERED_KIND, RECONCILED_KIND]
        assert json.loads(audits[1].detail)["resolution"] == "cancelled"
        (update,) = updates
        assert (update.state, update.filled_qty) == (OrderState.CANCELLED, D(0))
        assert update.venue_order_id != ""
