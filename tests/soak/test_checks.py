"""The soak's checks on synthetic records: each catches what it exists to catch."""

from __future__ import annotations

from decimal import Decimal

from arbitrade.soak import (
    FaultKind,
    FaultRecord,
    OrderRecord,
    Verdict,
    check_doubled_orders,
    check_memory,
    check_pnl,
    check_recovery,
    check_rows_lost,
)
from arbitrade.soak._checks import check_trading, percentile, rss_slope


class TestDoubledOrders:
    def test_check_when_one_id_accepted_twice_fails(self) -> None:
        """An id the exchange accepted twice is a doubled order."""
        received = [OrderRecord("a", True), OrderRecord("b", True), OrderRecord("a", True)]
        check = check_doubled_orders(received)
        assert check.verdict is Verdict.FAIL
        assert "a x2" in check.detail

    def test_check_when_repeat_was_refused_passes(self) -> None:
        """A repeat the exchange refused (duplicate id) is not a doubled order."""
        received = [OrderRecord("a", True), OrderRecord("a", False)]
        assert check_doubled_orders(received).verdict is Verdict.PASS

    def test_check_when_no_order_reached_the_exchange_is_not_measurable(self) -> None:
        """No orders is never a pass."""
        assert check_doubled_orders([]).verdict is Verdict.NOT_MEASURABLE
        assert check_doubled_orders(None).verdict is Verdict.NOT_MEASURABLE


class TestRowsLost:
    def test_check_when_a_table_is_short_fails(self) -> None:
        """A published row missing from its table is lost."""
        check = check_rows_lost({"fills": 10, "orders": 5}, {"fills": 9, "orders": 5})
        assert check.verdict is Verdict.FAIL
        assert check.value == "1 of 15"
        assert "fills -1" in check.detail

    def test_check_when_tables_match_passes(self) -> None:
        """Every published row stored is a pass."""
        assert check_rows_lost({"fills": 3}, {"fills": 3}).verdict is Verdict.PASS

    def test_check_when_dead_letters_stand_in_passes(self) -> None:
        """A row stored as a dead letter (amount did not fit) is not lost."""
        assert check_rows_lost({"fills": 3}, {"fills": 2, "dead_letters": 1}).verdict is (
            Verdict.PASS
        )

    def test_check_when_nothing_was_published_is_not_measurable(self) -> None:
        """No traffic is never a pass."""
        assert check_rows_lost({}, {"fills": 0}).verdict is Verdict.NOT_MEASURABLE


class TestPnl:
    def test_check_when_realised_pnl_differs_from_cycles_fails(self) -> None:
        """The portfolio's realised PnL must move by the cycles' PnL exactly."""
        check = check_pnl(
            cycles_pnl=Decimal("1.5"),
            realised_pnl_change=Decimal("1.4"),
            fill_flows={},
            balance_change=None,
        )
        assert check.verdict is Verdict.FAIL

    def test_check_when_balances_differ_from_fills_fails(self) -> None:
        """A fee charged by the exchange but missing from the fills is a mismatch."""
        check = check_pnl(
            cycles_pnl=Decimal(0),
            realised_pnl_change=Decimal(0),
            fill_flows={"BTC": Decimal("0.1"), "USD": Decimal("-5000")},
            balance_change={"BTC": Decimal("0.1"), "USD": Decimal("-5008")},
        )
        assert check.verdict is Verdict.FAIL
        assert "USD" in check.detail

    def test_check_when_everything_reconciles_passes(self) -> None:
        """Equal sums are a pass."""
        check = check_pnl(
            cycles_pnl=Decimal("2"),
            realised_pnl_change=Decimal("2.000"),
            fill_flows={"USD": Decimal("2")},
            balance_change={"USD": Decimal("2")},
        )
        assert check.verdict is Verdict.PASS

    def test_check_when_nothing_traded_is_not_measurable(self) -> None:
        """No fills is never a pass."""
        check = check_pnl(
            cycles_pnl=None, realised_pnl_change=None, fill_flows=None, balance_change=None
        )
        assert check.verdict is Verdict.NOT_MEASURABLE


class TestRecovery:
    def test_check_when_a_fault_never_recovered_fails(self) -> None:
        """One unrecovered measurable fault fails the soak."""
        ok = FaultRecord(FaultKind.DROP_CONNECTIONS, 0.0, 0.0, recovered_at=0.5)
        stuck = FaultRecord(FaultKind.PERSISTENCE_THREAD_CRASH, 1.0, 1.0, "root/x")
        checks = check_recovery([ok, stuck])
        assert checks[0].verdict is Verdict.FAIL

    def test_check_when_p99_is_over_the_limit_fails(self) -> None:
        """Recovery slower than the limit at p99 fails."""
        records = [
            FaultRecord(FaultKind.MAINTENANCE, 0.0, 1.0, recovered_at=1.0 + t)
            for t in (0.1, 0.2, 3.0)
        ]
        checks = check_recovery(records, p99_limit=2.0)
        assert checks[0].verdict is Verdict.PASS
        assert checks[1].verdict is Verdict.FAIL

    def test_check_when_no_fault_could_be_measured_is_not_measurable(self) -> None:
        """Faults with nothing to show recovery do not count as recovered."""
        record = FaultRecord(FaultKind.GRAPH_ACTOR_CRASH, 0.0, 0.0, measurable=False)
        assert check_recovery([record])[0].verdict is Verdict.NOT_MEASURABLE

    def test_percentile_when_asked_for_p99_of_few_values_gives_the_largest(self) -> None:
        """Nearest rank: p99 of three values is the largest."""
        assert percentile([3.0, 1.0, 2.0], 99) == 3.0
        assert percentile([3.0, 1.0, 2.0], 50) == 2.0


class TestMemoryAndTrading:
    def test_check_when_rss_grows_over_a_long_run_fails(self) -> None:
        """A steady climb over twenty minutes is a leak, even under the ceiling."""
        samples = [(float(t), 100e6 + t * 10_000) for t in range(0, 1200, 10)]
        assert rss_slope(samples) == 36e6
        assert check_memory(samples).verdict is Verdict.FAIL

    def test_check_when_rss_grows_over_a_short_run_passes_on_peak(self) -> None:
        """A start-up climb in a short run is not judged as a leak."""
        samples = [(float(t), 100e6 + t * 10_000) for t in range(60)]
        check = check_memory(samples)
        assert check.verdict is Verdict.PASS
        assert "not judged" in check.detail

    def test_check_when_rss_is_flat_over_a_long_run_states_the_tolerance(self) -> None:
        """A flat run passes and says what flat means (the slope tolerance)."""
        samples = [(float(t), 200e6 + (t % 20) * 1e5) for t in range(0, 1200, 5)]
        check = check_memory(samples)
        assert check.verdict is Verdict.PASS
        assert "<= +20 MB/h" in check.detail

    def test_check_when_rss_climbs_only_during_warmup_passes(self) -> None:
        """Fill-up in the first five minutes, then flat: the slope after warm-up is judged."""
        samples = [(float(t), 100e6 + min(t, 300) * 200_000) for t in range(0, 1800, 10)]
        check = check_memory(samples)
        assert check.verdict is Verdict.PASS
        assert "after the 5 min warm-up" in check.value

    def test_check_when_peak_is_over_the_ceiling_fails(self) -> None:
        """Over 300 MB fails."""
        samples = [(0.0, 100e6), (1.0, 350e6), (2.0, 120e6)]
        assert check_memory(samples).verdict is Verdict.FAIL

    def test_check_when_no_market_is_wired_is_not_measurable(self) -> None:
        """A bot with no market data cannot be said to still trade."""
        check = check_trading(has_market=False, orders_last_minute=0, opportunities_last_minute=0)
        assert check.verdict is Verdict.NOT_MEASURABLE

    def test_check_when_market_flows_but_nothing_trades_fails(self) -> None:
        """Books but no orders or opportunities at the end is a failure."""
        check = check_trading(has_market=True, orders_last_minute=0, opportunities_last_minute=0)
        assert check.verdict is Verdict.FAIL
