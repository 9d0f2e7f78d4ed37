"""The pair model's position life: entries, exits, stops, cool-down, holding time, mode switches."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal
from typing import Any

import pytest

from arbitrade.messages import CycleFinished, Fill, Opportunity, Side
from arbitrade.strategy.stat_arb import (
    ClosePosition,
    PairModel,
    PositionState,
    ScreenResult,
)

from .stat_builders import INSTRUMENTS, PAIR, settings, top

WARM_UP = 30


def warmed_model(**values: Any) -> PairModel:
    """A model that has seen WARM_UP observations of a smooth pair (ratio near 1) by t=30."""
    counter = itertools.count(1)
    model = PairModel(PAIR, settings(**values), INSTRUMENTS, lambda: f"id-{next(counter)}")
    for t in range(WARM_UP):
        x = 30_000 * math.exp(0.01 * math.sin(t / 3))
        y = 3000 * math.exp(0.01 * math.sin(t / 3) + 0.001 * math.cos(t))
        model.on_book(top("BTC/USD", x, at=t), float(t))
        intents = model.on_book(top("ETH/USD", y, at=t), float(t))
        assert intents == [] or model.state is not PositionState.FLAT
    assert model.estimate is not None
    assert model.estimate.ratio > 0
    # Leave the model flat whatever the warm-up z-scores did.
    model.state, model.direction, model.intent_id = PositionState.FLAT, None, ""
    return model


def execute(model: PairModel, intent: Opportunity | ClosePosition, now: float) -> list[Any]:
    """Fill every leg completely and report the cycle finished, as the executor would."""
    opportunity = intent.opportunity if isinstance(intent, ClosePosition) else intent
    for index, leg in enumerate(opportunity.legs):
        model.on_fill(
            Fill(
                exec_id=f"{opportunity.id}-{index}",
                cl_ord_id=f"{opportunity.id}-{index}",
                cycle_id=opportunity.id,
                symbol=leg.symbol,
                side=leg.side,
                price=leg.price,
                qty=leg.qty,
                fee=Decimal(0),
                fee_asset="USD",
                liquidity="t",
                at=now,
            ),
            now,
        )
    finished = CycleFinished(opportunity.id, "completed", "USD", Decimal(0), Decimal(0), now)
    return model.on_cycle_finished(finished, now)


def opened(model: PairModel, z: float = 2.5, now: float = 100.0) -> Opportunity:
    [intent] = model.evaluate(now, now, z)
    assert isinstance(intent, Opportunity)
    assert execute(model, intent, now) == []
    assert model.state is PositionState.OPEN
    return intent


class TestEntriesAndExits:
    def test_evaluate_when_rich_spread_opens_short(self) -> None:
        """z at entry sends an Opportunity selling y and buying x; the pair is opening."""
        model = warmed_model()
        [intent] = model.evaluate(100.0, 99.5, 2.0)
        assert isinstance(intent, Opportunity)
        assert intent.strategy == "stat_arb"
        assert [(leg.symbol, leg.side) for leg in intent.legs] == [
            ("ETH/USD", Side.SELL),
            ("BTC/USD", Side.BUY),
        ]
        assert intent.received_at == 99.5
        assert model.state is PositionState.OPENING

    def test_evaluate_when_below_entry_stays_flat(self) -> None:
        """z just under entry sends nothing."""
        model = warmed_model()
        assert model.evaluate(100.0, 100.0, 1.99) == []
        assert model.state is PositionState.FLAT

    def test_cycle_finished_when_filled_holds_the_fills(self) -> None:
        """Holdings are what the fills add up to: y sold, x bought."""
        model = warmed_model()
        intent = opened(model)
        assert model.holdings["ETH/USD"] == -intent.legs[0].qty
        assert model.holdings["BTC/USD"] == intent.legs[1].qty

    def test_evaluate_when_back_inside_exit_closes_what_is_held(self) -> None:
        """An open short exits at z = exit, buying back y and selling x, then is flat."""
        model = warmed_model()
        entry = opened(model)
        [close] = model.evaluate(110.0, 110.0, 0.5)
        assert isinstance(close, ClosePosition)
        assert (close.reason, close.position_id) == ("exit", entry.id)
        assert [(leg.symbol, leg.side, leg.qty) for leg in close.opportunity.legs] == [
            ("ETH/USD", Side.BUY, entry.legs[0].qty),
            ("BTC/USD", Side.SELL, entry.legs[1].qty),
        ]
        execute(model, close, 111.0)
        assert model.state is PositionState.FLAT

    def test_evaluate_when_still_outside_exit_keeps_position(self) -> None:
        """z just above exit keeps the short."""
        model = warmed_model()
        opened(model)
        assert model.evaluate(110.0, 110.0, 0.51) == []

    def test_evaluate_when_stop_reached_closes_and_cools_down(self) -> None:
        """A stop closes; entries are refused until cooldown_seconds after it, then allowed."""
        model = warmed_model(cooldown_seconds=50)
        opened(model, now=100.0)
        [close] = model.evaluate(120.0, 120.0, 4.0)
        assert isinstance(close, ClosePosition)
        assert close.reason == "stop"
        execute(model, close, 121.0)
        assert model.evaluate(169.9, 169.9, 2.5) == []
        [again] = model.evaluate(170.0, 170.0, 2.5)
        assert isinstance(again, Opportunity)

    def test_evaluate_when_exit_closes_no_cooldown_follows(self) -> None:
        """After an ordinary exit the pair may enter again at once."""
        model = warmed_model(cooldown_seconds=50)
        opened(model)
        [close] = model.evaluate(120.0, 120.0, 0.0)
        execute(model, close, 120.0)
        assert len(model.evaluate(121.0, 121.0, -2.5)) == 1

    def test_evaluate_when_held_max_holding_closes_without_z(self) -> None:
        """At max_holding_seconds a position closes even with no new observation."""
        model = warmed_model(max_holding_seconds=60)
        opened(model, now=100.0)
        assert model.evaluate(159.9, 159.9, None) == []
        [close] = model.evaluate(160.0, 160.0, None)
        assert isinstance(close, ClosePosition)
        assert close.reason == "max_holding"

    def test_rejected_when_opening_returns_flat_and_backs_off(self) -> None:
        """A refused entry leaves the pair flat and quiet for reject_backoff_seconds."""
        model = warmed_model(reject_backoff_seconds=10)
        [intent] = model.evaluate(100.0, 100.0, 2.5)
        model.on_rejected(intent.id if isinstance(intent, Opportunity) else "", 100.0)
        assert model.state is PositionState.FLAT
        assert model.evaluate(109.0, 109.0, 2.5) == []
        assert len(model.evaluate(110.0, 110.0, 2.5)) == 1

    def test_cycle_finished_when_unwound_with_nothing_held_is_flat(self) -> None:
        """An entry the executor unwound (fills net to zero) leaves the pair flat."""
        model = warmed_model()
        [intent] = model.evaluate(100.0, 100.0, 2.5)
        assert isinstance(intent, Opportunity)
        finished = CycleFinished(intent.id, "broken_unwound", "USD", Decimal(0), Decimal(0), 101.0)
        model.on_cycle_finished(finished, 101.0)
        assert model.state is PositionState.FLAT

    def test_evaluate_when_screen_on_without_result_does_not_enter(self) -> None:
        """With the screen on, a pair enters only after a passing screen result."""
        model = warmed_model(screen_enabled=True)
        assert model.evaluate(100.0, 100.0, 2.5) == []
        model.on_screen_result(ScreenResult(PAIR.name, 0.01, 30.0, True, 100.0))
        assert len(model.evaluate(100.0, 100.0, 2.5)) == 1

    def test_screen_request_when_window_full_and_due_is_sent_once_per_interval(self) -> None:
        """A request carries the last window of log prices, then waits the interval."""
        model = warmed_model(screen_enabled=True, screen_interval_seconds=60)
        request = model.screen_request(100.0)
        assert request is not None
        assert len(request.log_y) == 20
        assert model.screen_request(159.0) is None
        assert model.screen_request(160.0) is not None


class TestModeSwitch:
    @pytest.mark.parametrize("policy", ["manage", "close"])
    def test_set_active_when_off_stops_new_entries(self, policy: str) -> None:
        """Whatever the policy, an inactive strategy opens nothing."""
        model = warmed_model(on_mode_switch=policy)
        assert model.set_active(False, 100.0) == []
        assert model.evaluate(101.0, 101.0, 3.0) == []

    def test_set_active_when_off_under_manage_keeps_position_until_exit(self) -> None:
        """manage: the open position stays, and still exits on its own signal."""
        model = warmed_model(on_mode_switch="manage")
        opened(model)
        assert model.set_active(False, 105.0) == []
        assert model.state is PositionState.OPEN
        [close] = model.evaluate(110.0, 110.0, 0.2)
        assert isinstance(close, ClosePosition)
        assert close.reason == "exit"

    def test_set_active_when_off_under_close_closes_position_now(self) -> None:
        """close: the open position gets a closing intent at once, reason mode_switch."""
        model = warmed_model(on_mode_switch="close")
        entry = opened(model)
        [close] = model.set_active(False, 105.0)
        assert isinstance(close, ClosePosition)
        assert (close.reason, close.position_id) == ("mode_switch", entry.id)
        assert model.state is PositionState.CLOSING

    def test_set_active_when_off_under_close_while_opening_closes_once_open(self) -> None:
        """close: a position still opening is closed as soon as its entry completes."""
        model = warmed_model(on_mode_switch="close")
        [entry] = model.evaluate(100.0, 100.0, 2.5)
        assert model.set_active(False, 100.5) == []
        [close] = execute(model, entry, 101.0)
        assert isinstance(close, ClosePosition)
        assert close.reason == "mode_switch"

    def test_set_active_when_back_on_enters_again(self) -> None:
        """Switching stat-arb back on allows entries again."""
        model = warmed_model()
        model.set_active(False, 100.0)
        model.set_active(True, 101.0)
        assert len(model.evaluate(102.0, 102.0, 2.5)) == 1
