"""Each risk check as a pure function: the reason code and the numbers it reports."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arbitrade.risk import RejectReason, RiskSettings, RiskView, evaluate
from tests.risk.builders import RICH_BALANCES, make_opportunity, triangle_legs

D = Decimal
SETTINGS = RiskSettings()


def view(**changes: object) -> RiskView:
    """A view in which the default opportunity passes every check."""
    values: dict[str, object] = {"now": 100.0, "available": dict(RICH_BALANCES)}
    values.update(changes)
    return RiskView(**values)  # type: ignore[arg-type]


class TestEvaluate:
    def test_evaluate_when_everything_fine_passes(self) -> None:
        """A fresh, profitable, small, funded cycle passes every check."""
        assert evaluate(make_opportunity(), view(), SETTINGS) is None

    def test_evaluate_when_several_fail_reports_first_in_order(self) -> None:
        """The kill switch wins over every other reason."""
        rejection = evaluate(
            make_opportunity(book_ages=(9.0, 9.0, 9.0)), view(kill_switch=True), SETTINGS
        )
        assert rejection is not None
        assert rejection.reason is RejectReason.KILL_SWITCH

    @pytest.mark.parametrize(
        ("opportunity", "risk_view", "settings", "reason", "numbers"),
        [
            pytest.param(
                make_opportunity(),
                view(kill_switch=True, kill_cause="operator"),
                SETTINGS,
                RejectReason.KILL_SWITCH,
                {"cause": "operator"},
                id="kill_switch",
            ),
            pytest.param(
                make_opportunity(),
                view(paused=True),
                SETTINGS,
                RejectReason.PAUSED,
                {"strategy": "triangular"},
                id="paused",
            ),
            pytest.param(
                make_opportunity(),
                view(trading_enabled=False),
                SETTINGS,
                RejectReason.STRATEGY_OFF,
                {"strategy": "triangular"},
                id="trading_off",
            ),
            pytest.param(
                make_opportunity(),
                view(disabled_strategies=frozenset({"triangular"})),
                SETTINGS,
                RejectReason.STRATEGY_OFF,
                {"trading_enabled": "True"},
                id="strategy_off",
            ),
            pytest.param(
                make_opportunity(legs=(), book_ages=()),
                view(),
                SETTINGS,
                RejectReason.MALFORMED,
                {"problem": "no legs"},
                id="no_legs",
            ),
            pytest.param(
                make_opportunity(legs=triangle_legs(eth_qty="0")),
                view(),
                SETTINGS,
                RejectReason.MALFORMED,
                {"leg": "1"},
                id="zero_qty",
            ),
            pytest.param(
                make_opportunity(home="EUR"),
                view(),
                SETTINGS,
                RejectReason.HOME_MISMATCH,
                {"home": "EUR", "expected": "USD"},
                id="home",
            ),
            pytest.param(
                make_opportunity(),
                view(realised_pnl_today=D(-100)),
                SETTINGS,
                RejectReason.DAILY_LOSS,
                {"realised_pnl_today": "-100", "limit": "100"},
                id="daily_loss",
            ),
            pytest.param(
                make_opportunity(),
                view(cooldown_until={"ETH/BTC": 112.5}),
                SETTINGS,
                RejectReason.COOLDOWN,
                {"symbol": "ETH/BTC", "remaining_s": "12.5"},
                id="cooldown",
            ),
            pytest.param(
                make_opportunity(book_ages=(0.1, 1.9, 0.1)),
                view(now=100.2),
                SETTINGS,
                RejectReason.STALE_BOOK,
                {"leg": "1", "limit_s": "2.0"},
                id="stale_book",
            ),
            pytest.param(
                make_opportunity(legs=triangle_legs(eth_usd="2520")),
                view(),
                SETTINGS,
                RejectReason.MIN_PROFIT,
                {"min_bps": "5"},
                id="min_profit",
            ),
            pytest.param(
                make_opportunity(),
                view(),
                RiskSettings(max_cycle_notional=D(400)),
                RejectReason.CYCLE_NOTIONAL,
                {"notional": "500.00", "limit": "400"},
                id="cycle_notional",
            ),
            pytest.param(
                make_opportunity(),
                view(),
                RiskSettings(max_leg_notional=D(501)),
                RejectReason.LEG_NOTIONAL,
                {"leg": "0", "limit": "501"},
                id="leg_notional",
            ),
            pytest.param(
                make_opportunity(),
                view(open_cycles=3),
                SETTINGS,
                RejectReason.OPEN_CYCLES,
                {"open_cycles": "3", "limit": "3"},
                id="open_cycles",
            ),
            pytest.param(
                make_opportunity(),
                view(open_orders=10),
                SETTINGS,
                RejectReason.OPEN_ORDERS,
                {"open_orders": "10", "new_orders": "3"},
                id="open_orders",
            ),
            pytest.param(
                make_opportunity(),
                view(available={"USD": D(10_000), "BTC": D("0.01")}),
                SETTINGS,
                RejectReason.INSUFFICIENT_BALANCE,
                {"asset": "BTC", "available": "0.01"},
                id="balance",
            ),
            pytest.param(
                make_opportunity(),
                view(rate_counters={"ETH/USD": 47.5}),
                SETTINGS,
                RejectReason.RATE_BUDGET,
                {"symbol": "ETH/USD", "counter": "47.5", "budget": "48.0"},
                id="rate_budget",
            ),
        ],
    )
    def test_evaluate_when_limit_broken_rejects_with_reason_and_numbers(
        self,
        opportunity: object,
        risk_view: RiskView,
        settings: RiskSettings,
        reason: RejectReason,
        numbers: dict[str, str],
    ) -> None:
        """Each check names its reason and the numbers that decided it."""
        rejection = evaluate(opportunity, risk_view, settings)  # type: ignore[arg-type]
        assert rejection is not None
        assert rejection.reason is reason
        assert numbers.items() <= dict(rejection.numbers).items()

    def test_book_age_when_exactly_at_limit_passes(self) -> None:
        """The limit is inclusive."""
        opportunity = make_opportunity(book_ages=(2.0, 0.0, 0.0))
        assert evaluate(opportunity, view(now=100.0), SETTINGS) is None

    def test_cooldown_when_over_passes(self) -> None:
        """A cool-down that ended no longer blocks."""
        assert (
            evaluate(make_opportunity(), view(cooldown_until={"ETH/BTC": 100.0}), SETTINGS) is None
        )

    def test_rate_budget_when_just_under_passes(self) -> None:
        """47 + 1 stays within a budget of 48 (80 % of the starter maximum 60)."""
        assert evaluate(make_opportunity(), view(rate_counters={"ETH/USD": 47.0}), SETTINGS) is None

    def test_min_profit_when_strategy_overstates_uses_recomputation(self) -> None:
        """A cycle reported as 300 bps but losing after fees is refused."""
        opportunity = make_opportunity(legs=triangle_legs(eth_usd="2500"), profit_bps=D(300))
        rejection = evaluate(opportunity, view(), SETTINGS)
        assert rejection is not None
        assert rejection.reason is RejectReason.MIN_PROFIT
        assert rejection.numbers["reported_bps"] == "300"
