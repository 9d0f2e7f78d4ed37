"""Kraken's per-pair trading rate counter, as modelled by the gate."""

from __future__ import annotations

import pytest

from arbitrade.risk import TIER_LIMITS, RateTier, TradingRateCounter, cancel_penalty


class TestCancelPenalty:
    @pytest.mark.parametrize(
        ("age", "penalty"),
        [
            (0, 8),
            (4.99, 8),
            (5, 6),
            (9.9, 6),
            (10, 5),
            (14, 5),
            (15, 4),
            (44, 4),
            (45, 2),
            (89, 2),
            (90, 1),
            (299, 1),
            (300, 0),
            (1000, 0),
        ],
    )
    def test_penalty_when_order_aged_follows_kraken_table(self, age: float, penalty: int) -> None:
        """Younger orders cost more to cancel: 8/6/5/4/2/1 below 5/10/15/45/90/300 s."""
        assert cancel_penalty(age) == penalty


class TestTradingRateCounter:
    def test_value_when_never_charged_is_zero(self) -> None:
        """A pair never traded has a zero counter."""
        assert TradingRateCounter(RateTier.STARTER).value("BTC/USD", 10.0) == 0.0

    def test_value_when_time_passes_decays_at_tier_rate(self) -> None:
        """The intermediate tier decays 2.34 per second."""
        counter = TradingRateCounter(RateTier.INTERMEDIATE)
        counter.charge("BTC/USD", 10.0, now=0.0)
        assert counter.value("BTC/USD", 2.0) == pytest.approx(10.0 - 4.68)

    def test_value_when_decayed_fully_never_negative(self) -> None:
        """The counter bottoms out at zero."""
        counter = TradingRateCounter(RateTier.PRO)
        counter.charge("BTC/USD", 1.0, now=0.0)
        assert counter.value("BTC/USD", 100.0) == 0.0

    def test_charge_when_pairs_differ_keeps_them_apart(self) -> None:
        """Counters are per pair."""
        counter = TradingRateCounter(RateTier.STARTER)
        counter.charge("BTC/USD", 5.0, now=0.0)
        assert counter.value("ETH/USD", 0.0) == 0.0

    def test_charge_when_time_goes_backwards_does_not_add_decay(self) -> None:
        """An earlier time than the last charge is read as the last charge's time."""
        counter = TradingRateCounter(RateTier.STARTER)
        counter.charge("BTC/USD", 5.0, now=10.0)
        assert counter.charge("BTC/USD", 1.0, now=5.0) == 6.0
        assert counter.value("BTC/USD", 11.0) == 5.0

    def test_snapshot_when_pair_decayed_drops_it(self) -> None:
        """Only pairs with a positive counter appear."""
        counter = TradingRateCounter(RateTier.STARTER)
        counter.charge("BTC/USD", 1.0, now=0.0)
        counter.charge("ETH/USD", 9.0, now=0.0)
        assert counter.snapshot(5.0) == {"ETH/USD": 4.0}

    def test_limits_when_tiers_listed_match_kraken(self) -> None:
        """Maximum 60/125/180 with decay 1/2.34/3.75 per second."""
        assert [(t.maximum, t.decay_per_second) for t in TIER_LIMITS.values()] == [
            (60.0, 1.0),
            (125.0, 2.34),
            (180.0, 3.75),
        ]
