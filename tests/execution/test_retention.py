"""Bounded memory of finished orders and cycles: the executor and the venues forget old ones."""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio
import trio.testing

from arbitrade.execution import (
    ExecType,
    ExecutionReport,
    ExecutionSettings,
    ExecutorCore,
    LiveVenue,
    OrderRequest,
    PaperVenue,
)
from arbitrade.execution._live import _Known
from arbitrade.execution._reconcile import ExecutorMemory
from arbitrade.execution._retention import RecentIds, Retention
from arbitrade.execution._venue import DUPLICATE_REASON
from arbitrade.messages import CycleFinished, OrderState, Side
from tests.execution.market import BOOKS, INSTRUMENTS
from tests.execution.test_executor_core import fill_report, run, submitted
from tests.execution.test_live import LIVE
from tests.execution.test_venues import BTC, FEE, drain
from tests.risk.builders import make_opportunity

D = Decimal


class TestRetention:
    def test_finish_when_over_limit_returns_oldest_first(self) -> None:
        """Past the limit, the keys that finished first are the ones to forget."""
        retention: Retention[str] = Retention(2)
        assert retention.finish("a") == []
        assert retention.finish("b") == []
        assert retention.finish("c") == ["a"]
        assert ("a" in retention, len(retention)) == (False, 2)

    def test_finish_when_key_noted_twice_keeps_its_place(self) -> None:
        """A second note of the same key neither moves it nor evicts anything."""
        retention: Retention[str] = Retention(2)
        retention.finish("a")
        retention.finish("b")
        assert retention.finish("a") == []
        assert retention.finish("c") == ["a"]

    def test_constructor_when_limit_below_one_raises(self) -> None:
        """The item that just finished must be kept: a limit of 0 is refused."""
        with pytest.raises(ValueError, match="at least 1"):
            Retention[str](0)

    def test_add_when_over_limit_drops_the_oldest_id(self) -> None:
        """Recent ids hold at most ``limit`` ids, the newest ones."""
        recent: RecentIds[int] = RecentIds(2)
        for index, key in enumerate("abc"):
            recent.add(key, index)
        assert ("a" in recent, recent.get("b"), recent.get("c"), len(recent)) == (False, 1, 2, 2)


def _executor(memory: ExecutorMemory) -> ExecutorCore:
    executor = ExecutorCore(ExecutionSettings(), to_wall=lambda t: 1_790_000_000 + t, memory=memory)
    executor.on_instruments(INSTRUMENTS)
    for top in BOOKS:
        executor.on_book(top)
    return executor


def _complete(executor: ExecutorCore, cycle_id: str, now: float) -> None:
    legs = submitted(executor.start_cycle(make_opportunity(id=cycle_id), now=now))
    finished = run(executor, [fill_report(s) for s in legs]).events
    assert any(isinstance(event, CycleFinished) for event in finished)


class TestExecutorMemoryBound:
    def test_memory_when_many_cycles_finish_keeps_at_most_the_bound(self) -> None:
        """After 20 finished cycles, 5 are kept with their 15 orders; the rest are forgotten."""
        memory = ExecutorMemory(finished_cycles_kept=5)
        executor = _executor(memory)
        for index in range(20):
            _complete(executor, f"opp-{index}", now=100.0 + index)
        assert sorted(memory.cycles) == sorted(f"opp-{index}" for index in range(15, 20))
        assert len(memory.orders) == 15
        assert {order.cycle_id for order in memory.orders.values()} == set(memory.cycles)

    def test_start_when_forgotten_cycle_id_comes_again_is_refused(self) -> None:
        """A forgotten cycle's id is still a duplicate: nothing is sent for it."""
        memory = ExecutorMemory(finished_cycles_kept=1)
        executor = _executor(memory)
        _complete(executor, "opp-a", now=100.0)
        _complete(executor, "opp-b", now=101.0)
        assert "opp-a" not in memory.cycles
        assert executor.start_cycle(make_opportunity(id="opp-a"), now=102.0).commands == []

    def test_memory_when_cycle_in_flight_never_forgets_it(self) -> None:
        """Only finished cycles are forgotten: one still trading stays, however many finish."""
        memory = ExecutorMemory(finished_cycles_kept=1)
        executor = _executor(memory)
        executor.start_cycle(make_opportunity(id="open"), now=100.0)
        for index in range(3):
            _complete(executor, f"opp-{index}", now=101.0 + index)
        assert set(memory.cycles) == {"open", "opp-2"}
        assert len(executor.open_orders()) == 3


def _order(cl_ord_id: str) -> OrderRequest:
    return OrderRequest(cl_ord_id, "BTC/USD", Side.BUY, D("0.01"), D("50010"), 10.0)


class TestPaperVenueBound:
    async def test_venue_when_many_orders_end_keeps_at_most_the_bound(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Of 30 filled orders 4 are kept; an old one is no record, yet still a duplicate."""
        venue = PaperVenue(taker_fee_rate=FEE, finished_orders_kept=4)
        async with trio.open_nursery() as nursery:
            await nursery.start(venue.run)
            for index in range(30):
                venue.observe_book(BTC)
                await venue.submit(_order(f"c{index}"))
            await drain(venue)
            assert len(venue._orders) == 4  # the bound under test
            assert await venue.query("c0") is None
            assert (await venue.query("c29")) is not None
            await venue.submit(_order("c0"))
            (again,) = await drain(venue)
            assert (again.order_status, again.reason) == (OrderState.REJECTED, DUPLICATE_REASON)
            assert again.venue_order_id == "P00000001"
            nursery.cancel_scope.cancel()


class TestLiveVenueBound:
    def test_venue_when_many_orders_end_forgets_ids_beyond_the_bound(self) -> None:
        """Terminal reports retire orders: Kraken ids of the oldest are dropped past the bound."""
        venue = LiveVenue(LIVE, finished_orders_kept=3)
        for index in range(10):
            known = _Known(_order(f"c{index}"))
            known.order_id = f"O{index}"
            venue._known[f"c{index}"] = known
            venue._by_order_id[f"O{index}"] = f"c{index}"
            venue._emit(
                ExecutionReport(
                    f"c{index}",
                    ExecType.TRADE,
                    OrderState.FILLED,
                    "BTC/USD",
                    Side.BUY,
                    D("0.01"),
                    D("0.01"),
                    at=1.0,
                )
            )
        assert sorted(venue._known) == ["c7", "c8", "c9"]
        assert sorted(venue._by_order_id) == ["O7", "O8", "O9"]
        assert "c0" in venue._retired
