"""Mean-reverting pairs as settings: defaults that serve stat-arb, validation, and links."""

from __future__ import annotations

from pathlib import Path

import pytest

from arbitrade.sim import (
    MarketModel,
    MarketSettings,
    MeanRevertingPair,
    SimConfigError,
    build_universe,
)
from arbitrade.strategy.stat_arb import load_stat_arb_settings

ROOT = Path(__file__).parents[2]


class TestDefaults:
    def test_default_stat_arb_pairs_when_universe_is_default_exist_and_are_online(self) -> None:
        """Every leg and FX pair config/stat_arb.toml names is an online pair of the universe."""
        settings = load_stat_arb_settings(config_dir=ROOT / "config", environ={})
        universe = build_universe()
        assert settings.pairs
        for spec in settings.pairs:
            for symbol in spec.symbols:
                assert universe.pair(symbol).status == "online", symbol

    def test_default_market_when_built_mean_reverts_the_default_stat_arb_pairs(self) -> None:
        """The default market settings link every pair config/stat_arb.toml trades."""
        settings = load_stat_arb_settings(config_dir=ROOT / "config", environ={})
        linked = {(link.y, link.x) for link in MarketSettings().mean_reverting}
        assert {(spec.y, spec.x) for spec in settings.pairs} <= linked

    def test_default_link_when_universe_holds_it_is_in_effect(self) -> None:
        """A market over the linked symbols applies the default link, spread zero at tick 0."""
        model = MarketModel(build_universe(only=("BTC/USD", "ETH/USD")), seed=1)
        assert [(link.y, link.x) for link in model.mean_reverting] == [("ETH/USD", "BTC/USD")]
        assert model.spread("ETH/USD", "BTC/USD") == 0.0

    def test_default_link_when_universe_lacks_a_symbol_is_ignored(self) -> None:
        """A restricted universe without BTC/USD runs as plain random walks."""
        model = MarketModel(build_universe(only=("ETH/USD", "SOL/USD")), seed=1)
        model.run(3)
        assert model.mean_reverting == ()
        with pytest.raises(KeyError):
            model.spread("ETH/USD", "BTC/USD")


class TestValidation:
    def test_settings_when_given_plain_tuples_convert_them(self) -> None:
        """``(y, x, beta, half_life_ticks, sigma)`` tuples become MeanRevertingPair values."""
        settings = MarketSettings(mean_reverting=(("SOL/USD", "BTC/USD", 0.9, 50, 0.01),))
        assert settings.mean_reverting == (MeanRevertingPair("SOL/USD", "BTC/USD", 0.9, 50, 0.01),)

    def test_settings_when_empty_have_no_links(self) -> None:
        """``mean_reverting=()`` turns the links off."""
        model = MarketModel(
            build_universe(only=("BTC/USD", "ETH/USD")),
            seed=1,
            settings=MarketSettings(mean_reverting=()),
        )
        assert model.mean_reverting == ()

    @pytest.mark.parametrize(
        ("item", "field"),
        [
            (("ETH/USD", "BTC/USD", 1.0, 0.0, 0.01), "half_life_ticks"),
            (("ETH/USD", "BTC/USD", 1.0, float("inf"), 0.01), "half_life_ticks"),
            (("ETH/USD", "BTC/USD", 1.0, 10.0, -0.01), "sigma"),
            (("ETH/USD", "BTC/USD", float("nan"), 10.0, 0.01), "beta"),
            (("ETH/USD", "BTC/USD", "steep", 10.0, 0.01), "mean_reverting[0]"),
            (("ETH/USD", "ETH/USD"), "mean_reverting.x"),
            (("ETH/USD",), "mean_reverting[0]"),
        ],
    )
    def test_settings_when_a_value_breaks_a_rule_raise_naming_it(
        self, item: tuple[object, ...], field: str
    ) -> None:
        """Each broken rule is one SimConfigError whose field names the setting."""
        with pytest.raises(SimConfigError) as raised:
            MarketSettings(mean_reverting=(item,))
        assert raised.value.field.startswith("market.")
        assert raised.value.field.endswith(field)

    @pytest.mark.parametrize(
        ("y", "x"),
        [("BTC/EUR", "BTC/USD"), ("USDT/USD", "USDC/USDT"), ("EUR/USD", "BTC/EUR")],
        ids=["base-is-x-base", "base-is-x-quote", "base-is-x-quote-fiat"],
    )
    def test_link_when_it_would_move_its_own_x_raises(self, y: str, x: str) -> None:
        """A link cannot move an asset that its own x is priced in."""
        settings = MarketSettings(mean_reverting=((y, x),))
        with pytest.raises(SimConfigError, match=r"market\.mean_reverting\.y"):
            MarketModel(build_universe(only=(y, x)), seed=1, settings=settings)

    def test_link_when_it_would_move_usd_raises(self) -> None:
        """USD is the numeraire: a link whose y has base USD is refused."""
        settings = MarketSettings(mean_reverting=(("USD/CAD", "BTC/USD"),))
        with pytest.raises(SimConfigError, match="USD"):
            MarketModel(build_universe(only=("USD/CAD", "BTC/USD")), seed=1, settings=settings)

    def test_links_when_two_move_the_same_asset_raise(self) -> None:
        """One asset follows at most one link."""
        settings = MarketSettings(
            mean_reverting=(("ETH/USD", "BTC/USD"), ("ETH/EUR", "SOL/USD")),
        )
        universe = build_universe(only=("ETH/USD", "BTC/USD", "ETH/EUR", "SOL/USD"))
        with pytest.raises(SimConfigError, match="already moved"):
            MarketModel(universe, seed=1, settings=settings)
