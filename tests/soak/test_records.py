"""The soak's bookkeeping: the fault plan, the row counter, nonce and client-order-id rules."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from actors import ChildStarted
from arbitrade.messages import AuditEvent, Fill, Side
from arbitrade.soak import FaultKind, fault_plan
from arbitrade.soak._database import repeated_ids
from arbitrade.soak._faults import stallable_channels
from arbitrade.soak._kill import nonce_problems
from arbitrade.soak._observe import RowCounter


def _fill() -> Fill:
    return Fill(
        "e", "c", "y", "BTC/USD", Side.BUY, Decimal(1), Decimal(1), Decimal(0), "USD", "t", 0.0
    )


class TestFaultPlan:
    def test_plan_when_seeded_twice_is_the_same(self) -> None:
        """The same seed gives the same faults with the same parameters."""
        first = list(itertools.islice(fault_plan(5), 30))
        assert first == list(itertools.islice(fault_plan(5), 30))
        assert first != list(itertools.islice(fault_plan(6), 30))

    def test_plan_when_one_round_is_taken_fires_every_kind_once(self) -> None:
        """Every kind fires before any fires twice."""
        round_ = [f.kind for f in itertools.islice(fault_plan(1), len(FaultKind))]
        assert sorted(round_) == sorted(FaultKind)

    def test_plan_when_only_some_channels_are_subscribed_stalls_only_those(self) -> None:
        """A bot without a trade feed never gets a trade stall (nothing could see it)."""
        stallable = stallable_channels(("ticker",))
        assert stallable == ("book", "ticker", "heartbeat", "executions")
        stalls = [
            f.channel
            for f in itertools.islice(fault_plan(3, stallable=stallable), 40 * len(FaultKind))
            if f.kind is FaultKind.STALLED_CHANNEL
        ]
        assert set(stalls) == set(stallable)

    def test_plan_when_stallable_names_an_unknown_channel_raises(self) -> None:
        """A channel the simulator cannot stall is a programming error, said at once."""
        with pytest.raises(ValueError, match="ohlc"):
            next(fault_plan(1, stallable=("book", "ohlc")))


class TestRowCounter:
    def test_count_when_sink_has_not_started_ignores_only_earlier_restart_events(self) -> None:
        """Restart-log events before the sink's start are not expected in DuckDB."""
        counter = RowCounter()
        counter.count(ChildStarted("root/persistence/db_writer", "db_writer", 0.5))
        counter.count(_fill())  # another topic's drain may run first: still counted
        counter.count(ChildStarted("root/persistence/persistence_sink", "persistence_sink", 1.0))
        counter.count(ChildStarted("root/trading/executor", "executor", 1.5))
        counter.count(AuditEvent("k", "a", "s", "{}", 0.0, 0.0))
        counter.count(object())
        assert counter.published == {"supervisor_events": 2, "fills": 1, "audit_events": 1}


class TestNoncesAndIds:
    def test_problems_when_a_start_reuses_a_nonce_are_reported(self) -> None:
        """A start whose first nonce is not above the last start's last is a problem."""
        seen = [(1, 100, True), (1, 105, True), (2, 105, False), (2, 106, True)]
        problems = nonce_problems(seen)
        assert any("refused" in p for p in problems)
        assert any("start 2 began at 105" in p for p in problems)

    def test_problems_when_nonces_increase_across_starts_are_none(self) -> None:
        """Strictly increasing nonces over starts are fine."""
        assert nonce_problems([(1, 1, True), (1, 2, True), (2, 3, True)]) == []

    def test_repeated_ids_when_one_id_is_announced_under_two_cycles_are_found(self) -> None:
        """A client order id announced twice (another cycle, or again) is repeated."""
        rows = [("a", "tri-1"), ("b", "tri-2"), ("a", "tri-1"), ("c", "tri-3"), ("c", "tri-4")]
        assert repeated_ids(rows) == ("a", "c")
