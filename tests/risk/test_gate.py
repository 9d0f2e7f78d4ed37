"""The risk gate's state: decisions with audit rows, reservations, controls, daily loss."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from arbitrade.messages import (
    ControlChanged,
    OrderState,
    OrderUpdate,
    PortfolioSnapshot,
    RiskAccepted,
    RiskRejected,
    Side,
)
from arbitrade.risk import RiskGateCore, RiskSettings
from tests.risk.builders import finished, funded_gate, make_opportunity

D = Decimal
WALL = 1_790_000_000.0  # 2026-09-21 UTC, mid-day


def update(
    cl_ord_id: str, state: OrderState, *, cycle: str = "opp-1", reason: str = ""
) -> OrderUpdate:
    return OrderUpdate(
        cl_ord_id, cycle, "BTC/USD", Side.BUY, "limit", D(1), D(1), D(0), state, reason, 0.0
    )


class TestDecide:
    def test_decide_when_fine_accepts_with_audit_numbers(self) -> None:
        """An accepted opportunity yields RiskAccepted and a 'risk.accepted' audit row."""
        decision = funded_gate().decide(make_opportunity(), now=100.0, wall=WALL)
        assert isinstance(decision.verdict, RiskAccepted)
        assert decision.audit.kind == "risk.accepted"
        assert decision.audit.subject == "opp-1"
        detail = json.loads(decision.audit.detail)
        assert detail["reason"] == "accepted"
        assert D(detail["recomputed_profit"]) == D("13.92")
        assert D(detail["reserved"]["USD"]) == D(502)

    def test_decide_when_rejected_reports_reason_in_verdict_and_audit(self) -> None:
        """A rejection carries its code in RiskRejected and in a 'risk.rejected' audit row."""
        gate = RiskGateCore(RiskSettings())  # no portfolio seen: nothing available
        decision = gate.decide(make_opportunity(), now=100.0, wall=WALL)
        assert isinstance(decision.verdict, RiskRejected)
        assert decision.verdict.reason == "insufficient_balance"
        assert json.loads(decision.verdict.detail)["asset"] == "BTC"
        assert decision.audit.kind == "risk.rejected"
        assert json.loads(decision.audit.detail)["reason"] == "insufficient_balance"

    def test_decide_when_same_id_twice_rejects_duplicate(self) -> None:
        """One opportunity can never become two cycles."""
        gate = funded_gate()
        gate.decide(make_opportunity(), now=100.0, wall=WALL)
        decision = gate.decide(make_opportunity(), now=100.0, wall=WALL)
        assert isinstance(decision.verdict, RiskRejected)
        assert decision.verdict.reason == "duplicate"

    def test_decide_when_accepted_reserves_balances_for_next(self) -> None:
        """Accepted cycles hold their spend until they finish."""
        gate = funded_gate()
        gate.decide(make_opportunity(), now=100.0, wall=WALL)
        assert gate.available()["USD"] == D(100_000) - D("502.000")
        assert gate.open_cycles == 1
        assert gate.open_orders == 3

    def test_decide_when_reservations_exhaust_balance_rejects(self) -> None:
        """A second cycle that the first one's reservation leaves unfunded is refused."""
        gate = RiskGateCore(RiskSettings())
        gate.on_portfolio(
            PortfolioSnapshot(
                (("USD", D(600)), ("BTC", D(1)), ("ETH", D(1))), D(0), D(0), "USD", 0, WALL
            )
        )
        assert gate.decide(make_opportunity(id="a"), now=100.0, wall=WALL).accepted
        decision = gate.decide(make_opportunity(id="b"), now=100.0, wall=WALL)
        assert isinstance(decision.verdict, RiskRejected)
        assert decision.verdict.reason == "insufficient_balance"

    def test_decide_when_cycle_finishes_releases_reservation(self) -> None:
        """CycleFinished gives the reserved amounts back."""
        gate = funded_gate()
        gate.decide(make_opportunity(), now=100.0, wall=WALL)
        gate.on_cycle_finished(finished("opp-1", "1"), now=101.0, wall=WALL)
        assert gate.available()["USD"] == D(100_000)
        assert gate.open_cycles == 0

    def test_decide_when_accepted_charges_rate_counter_per_leg(self) -> None:
        """Each leg's add order costs 1 on its pair."""
        gate = funded_gate()
        gate.decide(make_opportunity(), now=100.0, wall=WALL)
        assert gate.rate_counter.snapshot(100.0) == {"BTC/USD": 1.0, "ETH/BTC": 1.0, "ETH/USD": 1.0}

    def test_decide_when_bursting_stops_at_rate_budget(self) -> None:
        """A burst on one pair is cut off before the counter reaches 80 % of 60."""
        gate = funded_gate(max_open_cycles=1000, max_open_orders=10_000)
        verdicts = [
            gate.decide(make_opportunity(id=f"o{i}"), now=100.0, wall=WALL) for i in range(60)
        ]
        accepted = [d for d in verdicts if d.accepted]
        assert len(accepted) == 48
        last = verdicts[48].verdict
        assert isinstance(last, RiskRejected)
        assert last.reason == "rate_budget"

    def test_decide_when_counter_decays_accepts_again(self) -> None:
        """Budget returns as Kraken's counter decays."""
        gate = funded_gate(max_open_cycles=1000, max_open_orders=10_000)
        for i in range(48):
            gate.decide(make_opportunity(id=f"o{i}"), now=100.0, wall=WALL)
        later = make_opportunity(id="later", detected_at=102.0)
        assert gate.decide(later, now=102.0, wall=WALL).accepted


class TestOrdersAndRate:
    def test_order_update_when_leg_seen_does_not_charge_twice(self) -> None:
        """Legs were charged at acceptance; their first update costs nothing more."""
        gate = funded_gate()
        gate.decide(make_opportunity(), now=100.0, wall=WALL)
        gate.on_order_update(update("leg-0", OrderState.PENDING), now=100.0)
        assert gate.rate_counter.value("BTC/USD", 100.0) == 1.0
        assert gate.open_orders == 3

    def test_order_update_when_unwind_order_charges_counter(self) -> None:
        """An order beyond the accepted legs (an unwind) costs 1 when first seen."""
        gate = funded_gate()
        gate.decide(make_opportunity(), now=100.0, wall=WALL)
        for index in range(4):
            gate.on_order_update(update(f"o{index}", OrderState.PENDING), now=100.0)
        assert gate.rate_counter.value("BTC/USD", 100.0) == 2.0
        assert gate.open_orders == 4

    def test_order_update_when_terminal_frees_slot(self) -> None:
        """A filled order no longer counts as open; later updates of it are ignored."""
        gate = funded_gate()
        gate.on_order_update(update("x", OrderState.OPEN, cycle="other"), now=100.0)
        gate.on_order_update(update("x", OrderState.FILLED, cycle="other"), now=100.0)
        gate.on_order_update(update("x", OrderState.FILLED, cycle="other"), now=100.0)
        assert gate.open_orders == 0
        assert gate.rate_counter.value("BTC/USD", 100.0) == 1.0

    def test_order_update_when_we_cancel_young_order_adds_penalty(self) -> None:
        """A client cancel of an order younger than 5 s adds 8."""
        gate = funded_gate()
        gate.on_order_update(update("x", OrderState.OPEN, cycle="other"), now=100.0)
        gate.on_order_update(
            update("x", OrderState.CANCELLED, cycle="other", reason="user_requested"), now=102.0
        )
        # the add order (1) decayed to 0 within 2 s; the cancel adds 8
        assert gate.rate_counter.value("BTC/USD", 102.0) == pytest.approx(8.0)

    def test_order_update_when_ioc_remainder_cancelled_adds_nothing(self) -> None:
        """The engine's own IOC cancel is not a client cancel."""
        gate = funded_gate()
        gate.on_order_update(update("x", OrderState.OPEN, cycle="other"), now=100.0)
        gate.on_order_update(
            update("x", OrderState.CANCELLED, cycle="other", reason="ioc"), now=100.0
        )
        assert gate.rate_counter.value("BTC/USD", 100.0) == 1.0


class TestDailyLossAndCooldown:
    def test_cycle_finished_when_loss_reaches_limit_trips_kill_switch(self) -> None:
        """The day's realised loss at the limit engages the kill switch and cancels orders."""
        gate = funded_gate(daily_loss_limit=D(50))
        gate.on_cycle_finished(finished("a", "-20"), now=100.0, wall=WALL)
        outcome = gate.on_cycle_finished(finished("b", "-30"), now=101.0, wall=WALL)
        assert gate.kill_switch
        assert outcome.echo is not None
        assert outcome.echo.who == "risk_gate:daily_loss_limit"
        assert outcome.audit is not None
        assert outcome.audit.kind == "control.kill_switch"
        assert json.loads(outcome.audit.detail)["realised_pnl_today"] == "-50"
        assert outcome.cancel is not None

    def test_decide_when_loss_limit_tripped_rejects_with_kill_switch(self) -> None:
        """After the trip, the kill switch is what refuses."""
        gate = funded_gate(daily_loss_limit=D(50))
        gate.on_cycle_finished(finished("a", "-60"), now=100.0, wall=WALL)
        decision = gate.decide(make_opportunity(), now=100.0, wall=WALL)
        assert isinstance(decision.verdict, RiskRejected)
        assert decision.verdict.reason == "kill_switch"
        assert json.loads(decision.verdict.detail)["cause"] == "daily_loss_limit"

    def test_decide_when_released_same_day_still_rejects_daily_loss(self) -> None:
        """Releasing the kill switch does not lift today's loss limit."""
        gate = funded_gate(daily_loss_limit=D(50))
        gate.on_cycle_finished(finished("a", "-60"), now=100.0, wall=WALL)
        gate.release("operator", 100.0, WALL)
        decision = gate.decide(make_opportunity(), now=100.0, wall=WALL)
        assert isinstance(decision.verdict, RiskRejected)
        assert decision.verdict.reason == "daily_loss_limit"

    def test_decide_when_next_day_begins_loss_counter_resets(self) -> None:
        """A new UTC day starts from zero realised PnL."""
        gate = funded_gate(daily_loss_limit=D(50))
        gate.on_cycle_finished(finished("a", "-60"), now=100.0, wall=WALL)
        gate.release("operator", 100.0, WALL)
        assert gate.decide(make_opportunity(), now=100.0, wall=WALL + 86_400).accepted

    def test_cycle_finished_when_broken_cools_down_its_pairs(self) -> None:
        """A failed cycle's pairs are refused for cooldown_seconds."""
        gate = funded_gate(cooldown_seconds=30.0)
        gate.decide(make_opportunity(id="first"), now=100.0, wall=WALL)
        gate.on_cycle_finished(finished("first", "-1", "broken_unwound"), now=100.0, wall=WALL)
        early = gate.decide(make_opportunity(id="early", detected_at=129.0), now=129.0, wall=WALL)
        late = gate.decide(make_opportunity(id="late", detected_at=130.0), now=130.0, wall=WALL)
        assert isinstance(early.verdict, RiskRejected)
        assert early.verdict.reason == "cooldown"
        assert late.accepted

    def test_cycle_finished_when_completed_starts_no_cooldown(self) -> None:
        """Success leaves the pairs open."""
        gate = funded_gate()
        gate.decide(make_opportunity(id="first"), now=100.0, wall=WALL)
        gate.on_cycle_finished(finished("first", "2"), now=100.0, wall=WALL)
        assert gate.decide(make_opportunity(id="next"), now=100.0, wall=WALL).accepted


def control(setting: str, value: str) -> ControlChanged:
    return ControlChanged(setting, value, "", "alice", 100.0, WALL)


class TestControls:
    def test_engage_when_operator_stops_everything_and_cancels(self) -> None:
        """Engaging rejects at once and asks for open orders to be cancelled."""
        gate = funded_gate()
        outcome = gate.apply_control(control("kill_switch", "on"), 100.0, WALL)
        assert outcome.cancel is not None
        assert outcome.cancel.reason == "kill_switch:operator:alice"
        assert outcome.echo is None  # the operator's own message is already on the bus
        decision = gate.decide(make_opportunity(), now=100.0, wall=WALL)
        assert isinstance(decision.verdict, RiskRejected)
        assert decision.verdict.reason == "kill_switch"

    def test_engage_when_already_engaged_changes_nothing(self) -> None:
        """Engaging twice produces no second change or audit row."""
        gate = funded_gate()
        gate.apply_control(control("kill_switch", "on"), 100.0, WALL)
        outcome = gate.apply_control(control("kill_switch", "engaged"), 100.0, WALL)
        assert (outcome.echo, outcome.audit, outcome.cancel) == (None, None, None)

    def test_engage_when_cancel_not_wanted_sends_no_cancel(self) -> None:
        """With cancel_open_orders_on_kill off, open orders are left alone."""
        gate = funded_gate(cancel_open_orders_on_kill=False)
        outcome = gate.apply_control(control("kill_switch", "on"), 100.0, WALL)
        assert outcome.cancel is None
        assert outcome.audit is not None

    def test_release_when_engaged_lets_orders_through(self) -> None:
        """Release reopens the gate and is audited."""
        gate = funded_gate(kill_switch_engaged=True)
        outcome = gate.apply_control(control("kill_switch", "off"), 100.0, WALL)
        assert outcome.audit is not None
        assert json.loads(outcome.audit.detail)["engaged"] is False
        assert gate.decide(make_opportunity(), now=100.0, wall=WALL).accepted

    def test_paused_when_on_rejects_with_paused(self) -> None:
        """A pause refuses new cycles without cancelling anything."""
        gate = funded_gate()
        outcome = gate.apply_control(control("paused", "true"), 100.0, WALL)
        assert outcome.cancel is None
        assert outcome.audit is not None
        decision = gate.decide(make_opportunity(), now=100.0, wall=WALL)
        assert isinstance(decision.verdict, RiskRejected)
        assert decision.verdict.reason == "paused"

    @pytest.mark.parametrize(
        ("mode", "accepted"),
        [
            ("off", set()),
            ("both", {"triangular", "stat_arb"}),
            ("triangular", {"triangular"}),
            ("stat_arb", {"stat_arb"}),
        ],
    )
    def test_strategy_mode_when_set_lets_only_its_strategies_through(
        self, mode: str, accepted: set[str]
    ) -> None:
        """The shared StrategyMode decides which strategies may trade."""
        gate = funded_gate()
        gate.apply_control(control("strategy_mode", mode), 100.0, WALL)
        passed = {
            strategy
            for strategy in ("triangular", "stat_arb")
            if gate.decide(make_opportunity(id=strategy, strategy=strategy), 100.0, WALL).accepted
        }
        assert passed == accepted

    def test_strategy_mode_when_off_rejects_with_strategy_off(self) -> None:
        """Mode off is the strategy_off reason."""
        gate = funded_gate()
        outcome = gate.apply_control(control("strategy_mode", "off"), 100.0, WALL)
        assert outcome.audit is not None
        assert outcome.audit.kind == "control.strategy_mode"
        decision = gate.decide(make_opportunity(), now=100.0, wall=WALL)
        assert isinstance(decision.verdict, RiskRejected)
        assert decision.verdict.reason == "strategy_off"

    def test_risk_setting_when_changed_applies_at_once(self) -> None:
        """risk.<field> changes a limit for the next decision and is audited."""
        gate = funded_gate()
        outcome = gate.apply_control(control("risk.max_cycle_notional", "100"), 100.0, WALL)
        assert outcome.audit is not None
        assert outcome.audit.kind == "control.risk_setting"
        assert gate.settings.max_cycle_notional == D(100)
        decision = gate.decide(make_opportunity(), now=100.0, wall=WALL)
        assert isinstance(decision.verdict, RiskRejected)
        assert decision.verdict.reason == "max_cycle_notional"

    @pytest.mark.parametrize(
        ("setting", "value"),
        [
            ("risk.max_cycle_notional", "-1"),
            ("risk.no_such", "1"),
            ("kill_switch", "maybe"),
            ("strategy_mode", "everything"),
        ],
    )
    def test_control_when_value_invalid_is_refused_and_audited(
        self, setting: str, value: str
    ) -> None:
        """A control that cannot be obeyed changes nothing and says why."""
        gate = funded_gate()
        outcome = gate.apply_control(control(setting, value), 100.0, WALL)
        assert outcome.audit is not None
        assert outcome.audit.kind == "control.refused"
        assert gate.settings == RiskSettings()
        assert not gate.kill_switch

    def test_control_when_not_for_gate_is_ignored(self) -> None:
        """Other settings produce nothing."""
        outcome = funded_gate().apply_control(control("dashboard.theme", "dark"), 100.0, WALL)
        assert outcome.audit is None


class TestStatArbAndCloses:
    def test_decide_when_stat_arb_has_no_certain_profit_skips_profit_check(self) -> None:
        """Only strategies with a recomputable profit face the minimum profit check."""
        gate = funded_gate()
        opportunity = make_opportunity(
            strategy="stat_arb",
            legs=make_opportunity().legs[:1],
            book_ages=(0.1,),
            profit_bps=D(0),
        )
        assert gate.decide(opportunity, now=100.0, wall=WALL).accepted

    def test_decide_when_closing_with_strategy_off_accepts(self) -> None:
        """Closing a position reduces risk: strategy mode off does not block it."""
        gate = funded_gate()
        gate.apply_control(control("strategy_mode", "off"), 100.0, WALL)
        assert gate.decide(make_opportunity(), now=100.0, wall=WALL, closing=True).accepted

    def test_decide_when_closing_under_kill_switch_rejects(self) -> None:
        """The kill switch stops every new order, closes included."""
        gate = funded_gate(kill_switch_engaged=True)
        decision = gate.decide(make_opportunity(), now=100.0, wall=WALL, closing=True)
        assert isinstance(decision.verdict, RiskRejected)
        assert decision.verdict.reason == "kill_switch"
