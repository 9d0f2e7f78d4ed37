"""Every record the simulator keeps while it runs stays at its cap however long the run."""

from __future__ import annotations

import pytest

from arbitrade.sim import DEFAULT_API_KEY, SimConfigError, Simulator
from arbitrade.sim._engine import OrderRequest
from arbitrade.sim._errors import EntriesForgotten
from arbitrade.sim._history import BoundedLog
from arbitrade.sim._orders import OrderRejected, OrderStatus
from tests.sim.conftest import small_config

KEY = DEFAULT_API_KEY


class _Clock:
    """A wall clock the test moves: one second per order keeps clear of the rate limits."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def _simulator(**changes: object) -> tuple[Simulator, _Clock]:
    clock = _Clock()
    return Simulator(small_config(ticking=False, **changes), clock=clock), clock


def _place_ioc(sim: Simulator, clock: _Clock, cl_ord_id: str) -> None:
    """A buy far below the market, immediate-or-cancel: accepted, then closed at once."""
    clock.now += 1.0
    request = OrderRequest(
        symbol="BTC/USD",
        side="buy",
        order_type="limit",
        qty="0.01",
        limit_price="100.0",
        time_in_force="ioc",
        cl_ord_id=cl_ord_id,
    )
    sim.place_order(KEY, request, transport="test", method="add_order", params={"n": cl_ord_id})


class TestBoundedLog:
    def test_append_when_past_keep_forgets_oldest_and_keeps_positions(self) -> None:
        """10,000 entries into a log keeping 100: 100 kept, positions still absolute."""
        log: BoundedLog[int] = BoundedLog(100)
        for number in range(10_000):
            log.append(number)
        assert (len(log), log.start, log.end) == (100, 9_900, 10_000)
        assert list(log) == list(range(9_900, 10_000))
        assert log.since(9_998) == [9_998, 9_999]
        assert log.since(10_000) == []
        assert log.last(3) == [9_997, 9_998, 9_999]
        assert log[-1] == 9_999

    def test_since_when_position_was_forgotten_raises_entries_forgotten(self) -> None:
        """A reader behind what is kept is told, never handed a list with a silent gap."""
        log: BoundedLog[int] = BoundedLog(3)
        for number in range(10):
            log.append(number)
        with pytest.raises(EntriesForgotten) as raised:
            log.since(6)
        assert (raised.value.position, raised.value.start) == (6, 7)

    def test_replace_when_position_kept_changes_that_entry_only(self) -> None:
        """replace() addresses an entry by absolute position."""
        log: BoundedLog[str] = BoundedLog(3)
        for text in "abcde":
            log.append(text)
        log.replace(3, "D")
        assert list(log) == ["c", "D", "e"]
        with pytest.raises(EntriesForgotten):
            log.replace(1, "B")

    def test_create_when_keep_below_one_raises_value_error(self) -> None:
        """A log must keep at least one entry."""
        with pytest.raises(ValueError, match="keep"):
            BoundedLog(0)


class TestSimulatorBounds:
    def test_trade_log_when_10k_trades_printed_stays_at_cap(self) -> None:
        """The public trade record keeps the last trades_keep trades and counts them all."""
        sim, _ = _simulator(trades_keep=500)
        while sim.trade_log.end < 10_000:
            sim.step()
        assert len(sim.trade_log) == 500
        assert sim.trade_log.start == sim.trade_log.end - 500

    def test_orders_when_many_closed_keep_the_last_closed_orders_keep(self) -> None:
        """Closed orders past the cap are forgotten oldest first; open orders never are."""
        sim, clock = _simulator(closed_orders_keep=50)
        clock.now += 1.0
        resting = sim.place_order(
            KEY,
            OrderRequest("BTC/USD", "buy", "limit", "0.01", "100.0", cl_ord_id="resting"),
            transport="test",
            method="add_order",
            params={},
        )
        assert resting is not None
        for number in range(1_000):
            _place_ioc(sim, clock, f"ioc-{number}")
        closed = [o for o in sim.engine.orders.values() if o.status is OrderStatus.CANCELED]
        assert len(closed) == 50
        assert [o.cl_ord_id for o in closed][-1] == "ioc-999"
        assert sim.engine.orders[resting.order_id].is_open
        assert sim.engine.find_orders(KEY, cl_ord_ids=["ioc-0"]) == []

    def test_executions_when_many_events_keep_the_last_executions_keep(self) -> None:
        """Executions events per key stay at their cap; the count of all goes on."""
        sim, clock = _simulator(executions_keep=64)
        for number in range(1_000):
            _place_ioc(sim, clock, f"ioc-{number}")
        events = sim.executions[KEY]
        assert len(events) == 64
        assert events.end >= 3_000  # pending_new, new, canceled per order
        assert events[-1]["cl_ord_id"] == "ioc-999"

    def test_received_orders_when_past_cap_keep_ids_and_drop_old_params(self) -> None:
        """Received requests stay at their cap; only the newest keep their parameters."""
        sim, clock = _simulator(received_orders_keep=200, received_params_keep=10)
        for number in range(2_000):
            _place_ioc(sim, clock, f"ioc-{number}")
        received = sim.received_orders
        assert (len(received), received[0].sequence, received[-1].sequence) == (200, 1_801, 2_000)
        assert all(r.params == {} for r in received[:-10])
        assert [r.params for r in received[-10:]] == [{"n": f"ioc-{n}"} for n in range(1990, 2000)]
        assert all(r.cl_ord_id and r.order_id and r.error is None for r in received)

    def test_received_orders_when_compacted_still_show_a_doubled_client_id(self) -> None:
        """The soak's "orders doubled" check reads ids and outcomes: both outlive params."""
        sim, clock = _simulator(received_params_keep=0)
        _place_ioc(sim, clock, "twice")
        _place_ioc(sim, clock, "twice")
        accepted = [
            r.cl_ord_id for r in sim.received_orders if r.error is None and r.order_id is not None
        ]
        assert accepted == ["twice", "twice"]

    def test_resting_queues_when_orders_cancelled_leave_no_empty_levels(self) -> None:
        """A price level's queue goes away with its last order (prices wander for ever)."""
        sim, clock = _simulator()
        for number in range(20):
            clock.now += 100.0  # past the cancel penalty window
            order = sim.place_order(
                KEY,
                OrderRequest("BTC/USD", "buy", "limit", "0.01", f"{100 + number}.0"),
                transport="test",
                method="add_order",
                params={},
            )
            assert order is not None
            clock.now += 100.0
            sim.cancel_order(KEY, order)
        assert sim.engine._resting == {}

    def test_tokens_when_many_expire_unused_are_forgotten(self) -> None:
        """Unused WebSocket tokens past their lifetime go when the next one is issued."""
        sim, clock = _simulator(token_ttl_seconds=10.0)
        for _ in range(1_000):
            sim.issue_token(KEY)
            clock.now += 1.0
        assert len(sim._tokens) <= 11

    def test_status_changes_when_many_keep_the_last_status_changes_keep(self) -> None:
        """Status changes are kept in order up to their cap."""
        sim, _ = _simulator(status_changes_keep=4)
        for status in ("maintenance", "online") * 10:
            sim.set_faults(system_status=status)
        assert (list(sim.status_changes), sim.status_changes.end) == (
            ["maintenance", "online", "maintenance", "online"],
            20,
        )

    def test_config_when_a_cap_is_zero_raises_sim_config_error(self) -> None:
        """A cap below one is refused naming the field."""
        with pytest.raises(SimConfigError, match="executions_keep"):
            small_config(executions_keep=0)

    def test_received_orders_when_rejected_count_toward_the_cap(self) -> None:
        """Rejected requests count toward the cap like accepted ones (they reached the exchange)."""
        sim, _ = _simulator(received_orders_keep=5)
        for _ in range(20):
            with pytest.raises(OrderRejected):
                sim.place_order(
                    KEY,
                    OrderRequest("BTC/USD", "buy", "limit", "5000", "100.0"),
                    transport="test",
                    method="add_order",
                    params={},
                )
        assert (len(sim.received_orders), sim.received_orders.end) == (5, 20)
