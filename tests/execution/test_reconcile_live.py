"""Reconciliation after a private reconnect, end to end: the trading tree, the live venue and
the simulator on loopback, the connection dropped with an order in flight.

Each case holds the order's outcome back from the bot (the ``executions`` channel stalled, or
the request delayed in the simulator), drops every WebSocket, and checks what the executor
believes afterwards, that each fill is published once (by its trade id), and the
``execution.reconciled`` audit event; the simulator's own record says what it received.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal

import attrs
import httpx
import pytest
import trio
from trio_websocket import open_websocket_url

from arbitrade.execution import (
    NOT_RECEIVED_REASON,
    RECONCILED_KIND,
    ExecutionReport,
    LiveVenue,
    OrderRequest,
    VenueConnection,
)
from arbitrade.kraken import AddOrder, AddOrderAck, KrakenTransportError
from arbitrade.messages import (
    TOPIC_OPPORTUNITIES,
    AuditEvent,
    CycleFinished,
    Fill,
    Leg,
    OrderState,
    OrderUpdate,
    PortfolioSnapshot,
    Side,
)
from arbitrade.sim import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    MarketSettings,
    SimConfig,
    Simulator,
    serve_simulator,
)
from arbitrade.sim._book import Side as BookSide
from arbitrade.sim._orders import Order
from tests.execution.test_live import LIVE, SIMULATORS, simulated_live
from tests.execution.tree import Trading, trading_tree
from tests.risk.builders import make_opportunity
from tests.sim._helpers import private, receive_until, send

SYMBOL = "BTC/USD"
QTY = Decimal("0.01")
TIMEOUT = 15.0


@attrs.frozen
class Rig:
    """A trading tree on a live venue on a simulator whose market stands still."""

    sim: Simulator
    venue: LiveVenue
    trading: Trading
    crossing: Decimal
    """A buy price that fills at once."""
    resting: Decimal
    """A buy price far below the book: an IOC order there is cancelled unfilled."""


@asynccontextmanager
async def live_rig() -> AsyncIterator[Rig]:
    market = MarketSettings(tick_seconds=0.02, mispricing_rate=0.0)
    config = SimConfig(symbols=("BTC/USD", "ETH/USD", "ETH/BTC"), market=market, ticking=False)
    async with trio.open_nursery() as nursery:
        running = await nursery.start(serve_simulator, config)
        settings = attrs.evolve(
            LIVE, kraken_rest_url=running.rest_url, kraken_ws_private_url=running.ws_private_url
        )
        venue = LiveVenue(settings)
        sim = running.simulator
        pair = sim.universe.pair(SYMBOL)
        tick = Decimal(1).scaleb(-pair.price_precision)
        book = sim.model.book(SYMBOL)
        ask = Decimal(book.best(BookSide.ASK) or 0).scaleb(-pair.price_precision)
        bid = Decimal(book.best(BookSide.BID) or 0).scaleb(-pair.price_precision)
        async with trading_tree(venue, balances={}) as trading:
            await trading.tap.expect(PortfolioSnapshot, lambda s: bool(s.balances), within=10)
            yield Rig(
                sim,
                venue,
                trading,
                (ask * Decimal("1.01")).quantize(tick),
                (bid * Decimal("0.9")).quantize(tick),
            )
        nursery.cancel_scope.cancel()


async def send_one_leg(rig: Rig, price: Decimal) -> str:
    """Publish a one-leg opportunity; return the order's cl_ord_id once it is pending."""
    leg = Leg(SYMBOL, Side.BUY, price, QTY, "USD", "BTC")
    opportunity = make_opportunity(
        strategy="stat_arb", legs=(leg,), book_ages=(0.0,), detected_at=trio.current_time()
    )
    await rig.trading.publish(TOPIC_OPPORTUNITIES, opportunity)
    pending = await rig.trading.tap.expect(
        OrderUpdate, lambda u: u.state is OrderState.PENDING, within=TIMEOUT
    )
    return pending.cl_ord_id


async def cycle_finished(rig: Rig) -> CycleFinished:
    """The one cycle's end (published before its reconciliation audit, so not ``expect``)."""
    await until(lambda: rig.trading.tap.all(CycleFinished), "the cycle finished")
    (finished,) = rig.trading.tap.all(CycleFinished)
    return finished


def learnt_order_id(rig: Rig, cl_ord_id: str) -> str:
    known = rig.venue._known.get(cl_ord_id)
    return known.order_id if known is not None else ""


def received(sim: Simulator, cl_ord_id: str) -> list[Order]:
    """The simulator's own record of orders it received under this id."""
    return sim.engine.find_orders(DEFAULT_API_KEY, cl_ord_ids=[cl_ord_id])


def lose_acks(venue: LiveVenue) -> None:
    """Every ``add_order`` reaches the exchange, but its acknowledgement is lost on the way
    back (as when the connection drops right after the order was accepted)."""
    ws = venue._ws
    send_and_wait = ws.add_order

    async def add_order_ack_lost(request: AddOrder) -> AddOrderAck:
        await send_and_wait(request)
        raise KrakenTransportError("add_order", "connection lost before the acknowledgement")

    ws.add_order = add_order_ack_lost  # type: ignore[method-assign]


async def until(condition: Callable[[], object], what: str) -> None:
    """Poll the network-bound ``condition`` (real sockets: no virtual clock to jump)."""
    with trio.fail_after(TIMEOUT):
        while not condition():  # noqa: ASYNC110 - state behind real sockets has no event
            await trio.sleep(0.01)


async def drop_and_reconcile(rig: Rig, cl_ord_id: str) -> dict[str, object]:
    """Drop every WebSocket, lift the faults, and return the order's reconciliation detail."""
    ws = rig.venue._ws
    drops = ws.statistics().disconnects
    rig.sim.drop_connections()
    # faults are lifted once the bot saw the close: nothing withheld reaches the old link
    await until(lambda: ws.statistics().disconnects > drops, "the bot saw the drop")
    rig.sim.set_faults(stalled_channels=[], ack_delay_seconds=0.0)
    audit = await rig.trading.tap.expect(
        AuditEvent,
        lambda a: a.kind == RECONCILED_KIND and a.subject == cl_ord_id,
        within=TIMEOUT,
    )
    detail: dict[str, object] = json.loads(audit.detail)
    return detail


@pytest.mark.slow
class TestReconcileOnSimulator:
    async def test_reconnect_when_order_filled_while_disconnected_emits_fill_once(
        self,
    ) -> None:
        """A fill the bot never saw arrives with the snapshot, by its trade id, exactly once."""
        async with live_rig() as rig:
            rig.sim.set_faults(stalled_channels=["executions"])
            cl_ord_id = await send_one_leg(rig, rig.crossing)
            await until(lambda: received(rig.sim, cl_ord_id), "the order reached the simulator")
            detail = await drop_and_reconcile(rig, cl_ord_id)
            finished = await cycle_finished(rig)
            await trio.sleep(0.2)  # anything doubled would be published by now
            fills = [f for f in rig.trading.tap.all(Fill) if f.cl_ord_id == cl_ord_id]
            (order,) = received(rig.sim, cl_ord_id)
            sim_trades = [fill.exec_id for fill in order.fills]
        assert finished.outcome == "completed"
        assert [f.exec_id for f in fills] == sim_trades
        assert sum(f.qty for f in fills) == QTY
        assert detail["believed_state"] == "pending"
        assert detail["resolution"] == "filled"
        assert detail["fills_added"] == sim_trades
        assert detail["trigger"] == "reconnect"

    async def test_reconnect_when_order_cancelled_while_disconnected_ends_it_without_fill(
        self,
    ) -> None:
        """An order the exchange closed unfilled while the bot was blind ends; no fill."""
        async with live_rig() as rig:
            rig.sim.set_faults(stalled_channels=["executions"])
            cl_ord_id = await send_one_leg(rig, rig.resting)
            # the bot knew it was placed (the ack and its Kraken id came back); only the
            # executions stream, which says how it ended, was lost
            await until(lambda: learnt_order_id(rig, cl_ord_id), "the add_order ack arrived")
            detail = await drop_and_reconcile(rig, cl_ord_id)
            finished = await cycle_finished(rig)
            fills = [f for f in rig.trading.tap.all(Fill) if f.cl_ord_id == cl_ord_id]
            (order,) = received(rig.sim, cl_ord_id)
        assert finished.outcome == "rejected"
        assert fills == []
        assert not order.is_open
        assert detail["resolution"] in {"cancelled", "expired"}
        assert detail["exchange_status"] in {"cancelled", "expired"}
        assert detail["fills_added"] == []

    async def test_reconnect_when_ack_lost_and_order_cancelled_resolves_cancelled(
        self,
    ) -> None:
        """An order whose ack was lost and that closed unfilled while the bot was blind is
        found by its ``cl_ord_id`` among the closed orders: cancelled, not "not received"."""
        async with live_rig() as rig:
            rig.sim.set_faults(stalled_channels=["executions"])
            lose_acks(rig.venue)
            cl_ord_id = await send_one_leg(rig, rig.resting)
            await until(lambda: received(rig.sim, cl_ord_id), "the order reached the simulator")
            (order,) = received(rig.sim, cl_ord_id)
            await until(lambda: not order.is_open, "the exchange closed the order")
            assert learnt_order_id(rig, cl_ord_id) == ""  # the bot never learnt Kraken's id
            detail = await drop_and_reconcile(rig, cl_ord_id)
            finished = await cycle_finished(rig)
            fills = [f for f in rig.trading.tap.all(Fill) if f.cl_ord_id == cl_ord_id]
            updates = [u for u in rig.trading.tap.all(OrderUpdate) if u.cl_ord_id == cl_ord_id]
            order_id = learnt_order_id(rig, cl_ord_id)
        assert finished.outcome == "rejected"
        assert fills == []
        assert updates[-1].state is OrderState.CANCELLED
        assert detail["resolution"] == "cancelled"
        assert detail["exchange_status"] == "cancelled"
        assert detail["fills_added"] == []
        assert order_id == order.order_id

    async def test_reconnect_when_ack_lost_and_order_filled_emits_fill_once(
        self,
    ) -> None:
        """An order whose ack was lost and that filled while the bot was blind ends filled:
        the snapshot's last fills bring its fill (by ``cl_ord_id``) and Kraken's id, once."""
        async with live_rig() as rig:
            rig.sim.set_faults(stalled_channels=["executions"])
            lose_acks(rig.venue)
            cl_ord_id = await send_one_leg(rig, rig.crossing)
            await until(lambda: received(rig.sim, cl_ord_id), "the order reached the simulator")
            (order,) = received(rig.sim, cl_ord_id)
            await until(lambda: not order.is_open, "the exchange filled the order")
            detail = await drop_and_reconcile(rig, cl_ord_id)
            finished = await cycle_finished(rig)
            await trio.sleep(0.2)  # anything doubled would be published by now
            fills = [f for f in rig.trading.tap.all(Fill) if f.cl_ord_id == cl_ord_id]
            sim_trades = [fill.exec_id for fill in order.fills]
        assert finished.outcome == "completed"
        assert [f.exec_id for f in fills] == sim_trades
        assert sum(f.qty for f in fills) == QTY
        assert detail["resolution"] == "filled"

    async def test_reconnect_when_order_never_received_treats_it_as_not_placed(
        self,
    ) -> None:
        """An order lost with the connection is not placed and never sent again."""
        async with live_rig() as rig:
            rig.sim.set_faults(ack_delay_seconds=60.0)  # the request waits unread in the sim
            cl_ord_id = await send_one_leg(rig, rig.crossing)
            ws = rig.venue._ws  # the request must have left before the drop
            await until(lambda: ws.statistics().pending_requests > 0, "add_order sent")
            detail = await drop_and_reconcile(rig, cl_ord_id)
            finished = await cycle_finished(rig)
            updates = [u for u in rig.trading.tap.all(OrderUpdate) if u.cl_ord_id == cl_ord_id]
            await trio.sleep(0.2)
            assert received(rig.sim, cl_ord_id) == []
        assert finished.outcome == "rejected"
        assert (updates[-1].state, updates[-1].reason) == (OrderState.EXPIRED, NOT_RECEIVED_REASON)
        assert detail["resolution"] == "not_received"
        assert detail["exchange_status"] == "unknown"


@pytest.mark.slow
class TestLiveVenueReconnect:
    async def test_reconnect_when_fill_missed_reports_down_snapshot_then_up(self) -> None:
        """The venue's events on a reconnect: down, the snapshot's fill, and only then up
        (so the executor's queries always follow the snapshot)."""
        async with simulated_live() as fixture:
            venue = fixture.venue
            assert isinstance(venue, LiveVenue)
            sim = SIMULATORS[-1]
            first = await venue.events.receive()
            assert isinstance(first, VenueConnection)
            sim.set_faults(stalled_channels=["executions"])
            order = OrderRequest(
                "snapshot-order-1",
                SYMBOL,
                Side.BUY,
                fixture.qty,
                fixture.crossing_buy_price,
                trio.current_time() + 5,
            )
            await venue.submit(order)
            await until(lambda: received(sim, order.cl_ord_id), "the order reached the simulator")
            drops = venue._ws.statistics().disconnects
            sim.drop_connections()
            await until(lambda: venue._ws.statistics().disconnects > drops, "the drop was seen")
            sim.set_faults(stalled_channels=[])
            events: list[object] = []
            with trio.fail_after(TIMEOUT):
                while not events or not _is_up(events[-1]):
                    events.append(await venue.events.receive())
            (placed,) = received(sim, order.cl_ord_id)
        kinds = [
            ("down" if not e.connected else "up")
            if isinstance(e, VenueConnection)
            else e.exec_type.value  # type: ignore[attr-defined]
            for e in events
        ]
        assert kinds == ["down", "trade", "up"]
        trade = events[1]
        assert isinstance(trade, ExecutionReport)
        assert trade.exec_id == placed.fills[0].exec_id
        assert trade.cum_qty == fixture.qty


def _is_up(event: object) -> bool:
    return isinstance(event, VenueConnection) and event.connected


@pytest.mark.slow
class TestExecutionsSnapshot:
    async def test_subscribe_when_snap_trades_sends_fills_then_open_orders(self) -> None:
        """As Kraken: ``snap_trades`` adds the latest fills (with ids and totals) to the
        snapshot; without it the snapshot holds open orders only."""
        config = SimConfig(symbols=("BTC/USD",), ticking=False)
        async with trio.open_nursery() as nursery:
            running = await nursery.start(serve_simulator, config)
            async with httpx.AsyncClient(base_url=running.rest_url) as client:
                answer = await private(
                    client, "GetWebSocketsToken", DEFAULT_API_KEY, DEFAULT_API_SECRET
                )
            token = answer["result"]["token"]
            add = {
                "order_type": "market",
                "side": "buy",
                "order_qty": 0.01,
                "symbol": "BTC/USD",
                "cl_ord_id": "snap-1",
                "token": token,
            }
            snapshots = []
            for snap_trades in (True, False):
                async with open_websocket_url(running.ws_private_url) as ws:
                    if snap_trades:
                        await send(ws, {"method": "add_order", "req_id": 1, "params": add})
                        await receive_until(ws, lambda m: m.get("method") == "add_order")
                    params = {"channel": "executions", "token": token, "snap_trades": snap_trades}
                    await send(ws, {"method": "subscribe", "params": params})
                    snapshots.append(
                        await receive_until(
                            ws, lambda m: m.get("channel") == "executions" and "sequence" in m
                        )
                    )
            nursery.cancel_scope.cancel()
        with_trades, without = snapshots
        assert with_trades["type"] == "snapshot"
        (fill,) = with_trades["data"]
        assert (fill["exec_type"], fill["cl_ord_id"], fill["order_status"]) == (
            "trade",
            "snap-1",
            "filled",
        )
        assert {"exec_id", "order_id", "last_qty", "cum_qty", "fees"} <= set(fill)
        assert without["data"] == []
