"""The read model folds bus messages into what the pages show."""

from __future__ import annotations

from decimal import Decimal

from actors import ChildCrashed, ChildRestarted
from arbitrade.dashboard import Capacity, DashboardModel
from arbitrade.messages import BookHealth, OrderState, StrategyMode

from . import samples


class TestOpportunities:
    def test_apply_when_many_opportunities_keeps_newest_first_within_capacity(self) -> None:
        """Opportunities are listed newest first and only the newest N are kept."""
        model = DashboardModel(capacity=Capacity(opportunities=3))
        model.apply_all(samples.opportunity(n) for n in range(1, 6))
        assert [o.id for o in model.opportunities()] == ["opp-5", "opp-4", "opp-3"]
        assert model.counts.opportunities == 5

    def test_apply_when_type_unknown_returns_false_and_changes_nothing(self) -> None:
        """A message the dashboard does not show is ignored."""
        model = DashboardModel()
        assert model.apply("something else") is False
        assert model.opportunities() == ()


class TestBooks:
    def test_apply_when_checksum_mismatch_records_result_and_counts_resync(self) -> None:
        """A resync with a failed checksum is the book's last checksum result."""
        model = DashboardModel()
        model.apply(samples.book_state(health=BookHealth.RESYNCING, checksum_ok=False))
        status = model.book_status["BTC/USD"]
        assert (status.checksum_ok, status.resyncs, status.reason) == (
            False,
            1,
            "checksum mismatch",
        )

    def test_symbols_when_tops_and_states_seen_lists_each_once_sorted(self) -> None:
        """Symbols come from book tops and book states alike."""
        model = DashboardModel()
        model.apply_all([samples.book_top("ETH/USD"), samples.book_state("BTC/USD")])
        assert model.symbols() == ("BTC/USD", "ETH/USD")


class TestFeeds:
    def test_apply_when_feed_disconnected_marks_it_not_live(self) -> None:
        """Only live states count as live."""
        model = DashboardModel()
        model.apply_all([samples.feed("book"), samples.feed("ticker", "disconnected", "EOF")])
        assert model.feeds["book"].live
        assert not model.feeds["ticker"].live


class TestOrders:
    def test_orders_when_updated_keep_latest_state_most_recent_first(self) -> None:
        """Each order appears once, in its latest state, most recently updated first."""
        model = DashboardModel()
        model.apply_all(
            [
                samples.order("a", OrderState.OPEN),
                samples.order("b", OrderState.OPEN),
                samples.order("a", OrderState.FILLED),
            ]
        )
        assert [(o.cl_ord_id, o.state) for o in model.orders()] == [
            ("a", OrderState.FILLED),
            ("b", OrderState.OPEN),
        ]
        assert model.orders_by_state() == {"filled": 1, "open": 1}

    def test_orders_when_over_capacity_forget_least_recently_updated(self) -> None:
        """The order table is bounded."""
        model = DashboardModel(capacity=Capacity(orders=2))
        model.apply_all(samples.order(str(n)) for n in range(4))
        assert [o.cl_ord_id for o in model.orders()] == ["3", "2"]


class TestRestartLog:
    def test_restarts_when_filtered_by_path_keeps_subtree_newest_first(self) -> None:
        """A path filter keeps the actor and everything below it."""
        model = DashboardModel()
        model.apply_all(
            [
                ChildCrashed("root/feeds/book", "book", 1.0, error_type="OSError"),
                ChildRestarted("root/feeds/book", "book", 2.0, restart_count=1),
                ChildCrashed("root/risk", "risk", 3.0),
            ]
        )
        assert [e.at for e in model.restarts("root/feeds")] == [2.0, 1.0]
        assert [e.at for e in model.restarts("risk")] == [3.0]
        assert model.restart_counts["root/feeds/book"] == 1


class TestPortfolio:
    def test_apply_when_books_price_every_asset_adds_equity_point(self) -> None:
        """Equity values each balance at its book's mid in the home asset."""
        model = DashboardModel()
        model.apply(samples.book_top("BTC/USD", bid=640_000, ask=640_010))  # mid 64000.5
        model.apply(samples.portfolio(usd="1000", btc="0.01"))
        assert model.equity()[-1].equity == Decimal("1000") + Decimal("0.01") * Decimal("64000.5")
        assert model.unpriced_assets == ()

    def test_apply_when_asset_has_no_book_lists_it_and_adds_no_point(self) -> None:
        """An unpriced asset is reported, not silently valued at zero."""
        model = DashboardModel()
        model.apply(samples.portfolio())
        assert model.unpriced_assets == ("BTC",)
        assert model.equity() == ()

    def test_mid_price_when_only_inverse_book_exists_inverts_it(self) -> None:
        """USD/BTC is priced from a BTC/USD book."""
        model = DashboardModel()
        model.apply(samples.book_top("BTC/USD", bid=20, ask=20))  # mid 2.0
        assert model.mid_price("USD", "BTC") == Decimal("0.5")


class TestControls:
    def test_apply_when_kill_switch_engaged_by_risk_gate_shows_it_with_who(self) -> None:
        """Control changes from any component update the control state."""
        model = DashboardModel()
        model.apply(samples.control("kill_switch", "engaged", "released", who="risk"))
        assert model.controls.kill_switch
        assert model.controls.changed_by == "risk"

    def test_apply_when_strategy_mode_unknown_keeps_previous_mode(self) -> None:
        """A malformed control value never corrupts the state."""
        model = DashboardModel()
        model.apply(samples.control("strategy_mode", "nonsense"))
        assert model.controls.strategy_mode is StrategyMode.TRIANGULAR


class TestAudit:
    def test_audit_when_filtered_by_kind_prefix_keeps_matching_newest_first(self) -> None:
        """The kind filter is a prefix: 'control.' keeps every control change."""
        model = DashboardModel()
        model.apply_all(
            [
                samples.audit("risk.rejected", "opp-1"),
                samples.audit("control.kill_switch", "kill_switch"),
                samples.audit("risk.accepted", "opp-2"),
            ]
        )
        assert [e.subject for e in model.audit("risk.")] == ["opp-2", "opp-1"]
        assert [e.subject for e in model.audit("control.")] == ["kill_switch"]
