"""Every validation rule of the stat-arb settings: one ConfigError naming the setting."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from arbitrade.config import ConfigError
from arbitrade.strategy.stat_arb import (
    HedgeMethod,
    ModeSwitchPolicy,
    StatArbSettings,
    check_market,
    load_stat_arb_settings,
    structure_stat_arb_settings,
)

from .stat_builders import BTC, ETH, INSTRUMENTS, instrument, settings


def rejected(values: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        structure_stat_arb_settings(values)
    return caught.value


class TestSettingsRules:
    def test_defaults_when_nothing_configured_are_valid(self) -> None:
        """Defaults pass every rule, manage open positions on a switch, and use OLS."""
        defaults = StatArbSettings()
        assert defaults.hedge_method is HedgeMethod.OLS
        assert defaults.mode_switch_policy is ModeSwitchPolicy.MANAGE

    @pytest.mark.parametrize(
        ("values", "setting"),
        [
            ({"window": 1}, "stat_arb.window"),
            ({"window": 10, "zscore_window": 11}, "stat_arb.zscore_window"),
            ({"zscore_window": 1}, "stat_arb.zscore_window"),
            ({"exit_z": -0.1}, "stat_arb.exit_z"),
            ({"exit_z": 2.0, "entry_z": 2.0}, "stat_arb.entry_z"),
            ({"entry_z": 4.0, "stop_z": 4.0}, "stat_arb.stop_z"),
            ({"stop_z": "inf"}, "stat_arb.stop_z"),
            ({"entry_z": "nan"}, "stat_arb.entry_z"),
            ({"exit_z": "inf"}, "stat_arb.exit_z"),
            ({"max_holding_seconds": 0}, "stat_arb.max_holding_seconds"),
            ({"max_holding_seconds": "inf"}, "stat_arb.max_holding_seconds"),
            ({"capital": 0}, "stat_arb.capital"),
            ({"capital": "-5"}, "stat_arb.capital"),
            ({"method": "ewma"}, "stat_arb.method"),
            ({"kalman_delta": 0}, "stat_arb.kalman_delta"),
            ({"kalman_delta": 1}, "stat_arb.kalman_delta"),
            ({"kalman_observation_noise": 0}, "stat_arb.kalman_observation_noise"),
            ({"screen_max_pvalue": 0}, "stat_arb.screen_max_pvalue"),
            ({"screen_max_pvalue": 1}, "stat_arb.screen_max_pvalue"),
            ({"screen_min_half_life_seconds": 0}, "stat_arb.screen_min_half_life_seconds"),
            (
                {"screen_min_half_life_seconds": 60, "screen_max_half_life_seconds": 30},
                "stat_arb.screen_max_half_life_seconds",
            ),
            ({"pairs": [{"y": "ETH/USD", "x": "ETH/USD"}]}, "stat_arb.pairs[0].x"),
            (
                {"pairs": [{"y": "ETH/USD", "x": "BTC/USD"}, {"y": "ETH/USD", "x": "BTC/USD"}]},
                "stat_arb.pairs[1]",
            ),
            ({"on_mode_switch": "panic"}, "stat_arb.on_mode_switch"),
        ],
    )
    def test_structure_when_rule_broken_names_setting(
        self, values: dict[str, Any], setting: str
    ) -> None:
        """Each broken rule is one ConfigError whose setting is stat_arb.<field>."""
        error = rejected(values)
        assert error.setting == setting
        assert "\n" not in str(error)

    def test_structure_when_zscore_window_equals_window_is_valid(self) -> None:
        """The z-score window may be as long as the window."""
        assert structure_stat_arb_settings({"window": 5, "zscore_window": 5}).zscore_window == 5

    def test_structure_when_exit_zero_is_valid(self) -> None:
        """exit_z may be zero (exit on crossing the mean)."""
        assert structure_stat_arb_settings({"exit_z": 0}).exit_z == 0.0

    def test_load_when_toml_and_env_override_reads_both(self, tmp_path: Path) -> None:
        """The file gives pairs; STAT_ARB_<FIELD> overrides a field."""
        (tmp_path / "stat_arb.toml").write_text(
            'method = "kalman"\n[[pairs]]\ny = "ETH/USD"\nx = "BTC/USD"\n'
        )
        loaded = load_stat_arb_settings(config_dir=tmp_path, environ={"STAT_ARB_ENTRY_Z": "2.5"})
        assert loaded.hedge_method is HedgeMethod.KALMAN
        assert loaded.entry_z == 2.5
        assert loaded.pairs[0].name == "ETH/USD~BTC/USD"

    def test_load_when_env_breaks_rule_names_setting(self, tmp_path: Path) -> None:
        """An env override that breaks a rule is reported like a file value."""
        with pytest.raises(ConfigError) as caught:
            load_stat_arb_settings(config_dir=tmp_path, environ={"STAT_ARB_WINDOW": "1"})
        assert caught.value.setting == "stat_arb.window"

    def test_load_when_repository_file_is_valid(self) -> None:
        """config/stat_arb.toml, as committed, loads."""
        repository = Path(__file__).resolve().parents[2] / "config"
        assert load_stat_arb_settings(config_dir=repository, environ={}).pairs


class TestMarketRules:
    BALANCES: ClassVar[dict[str, Decimal]] = {"USD": Decimal(10_000)}

    def test_check_market_when_all_fits_passes(self) -> None:
        """Existing online legs, enough balance and big enough legs pass."""
        check_market(settings(), INSTRUMENTS, self.BALANCES, {"ETH/USD": Decimal(3000)})

    def test_check_market_when_leg_missing_names_leg(self) -> None:
        """A leg the venue does not list is named."""
        with pytest.raises(ConfigError) as caught:
            check_market(settings(), {BTC.symbol: BTC}, self.BALANCES)
        assert caught.value.setting == "stat_arb.pairs[0].y"

    def test_check_market_when_leg_offline_names_leg(self) -> None:
        """A leg that is not online is named with its status."""
        halted = instrument("BTC/USD", price_precision=1, status="maintenance")
        with pytest.raises(ConfigError, match="maintenance") as caught:
            check_market(settings(), {ETH.symbol: ETH, "BTC/USD": halted}, self.BALANCES)
        assert caught.value.setting == "stat_arb.pairs[0].x"

    def test_check_market_when_capital_above_balance_names_capital(self) -> None:
        """Capital for every pair must fit in the home balance."""
        with pytest.raises(ConfigError, match="balance") as caught:
            check_market(settings(capital="20000"), INSTRUMENTS, self.BALANCES)
        assert caught.value.setting == "stat_arb.capital"

    def test_check_market_when_leg_below_cost_min_names_capital(self) -> None:
        """Half the capital must reach each leg's minimum cost."""
        costly = instrument("ETH/USD", cost_min="100")
        with pytest.raises(ConfigError, match="minimum cost") as caught:
            check_market(
                settings(capital="150"), {**INSTRUMENTS, "ETH/USD": costly}, {"USD": Decimal(1000)}
            )
        assert caught.value.setting == "stat_arb.capital"

    def test_check_market_when_leg_below_qty_min_names_capital(self) -> None:
        """With a price, half the capital must buy each leg's minimum quantity."""
        with pytest.raises(ConfigError, match="minimum order") as caught:
            check_market(
                settings(capital="10"), INSTRUMENTS, self.BALANCES, {"ETH/USD": Decimal(3000)}
            )
        assert caught.value.setting == "stat_arb.capital"

    def test_check_market_when_quote_not_home_and_no_fx_names_leg(self) -> None:
        """A leg quoted in another currency needs an FX pair to the home asset."""
        eur = instrument("BTC/EUR", price_precision=1)
        config = settings(pairs=[{"y": "BTC/USD", "x": "BTC/EUR"}])
        with pytest.raises(ConfigError, match="FX") as caught:
            check_market(config, {**INSTRUMENTS, "BTC/EUR": eur}, self.BALANCES)
        assert caught.value.setting == "stat_arb.pairs[0].x"

    def test_check_market_when_fx_pair_wrong_way_names_fx(self) -> None:
        """The FX pair must be <leg quote>/<home>."""
        eur = instrument("BTC/EUR", price_precision=1)
        usdeur = instrument("USD/EUR", price_precision=5)
        config = settings(pairs=[{"y": "BTC/USD", "x": "BTC/EUR", "x_fx": "USD/EUR"}])
        with pytest.raises(ConfigError) as caught:
            check_market(config, {**INSTRUMENTS, "BTC/EUR": eur, "USD/EUR": usdeur}, self.BALANCES)
        assert caught.value.setting == "stat_arb.pairs[0].x_fx"
