"""The backtest form's pieces: values from a submission, where an error goes, the chart points."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from arbitrade.backtest import BacktestSettings, backtest_settings_from
from arbitrade.backtest._settings import settings_as_dict
from arbitrade.config import ConfigError, Settings
from arbitrade.dashboard._backtests import CHART_POINTS, chart_points, configuration_rows
from arbitrade.dashboard._backtests_form import (
    field_of,
    form_from_settings,
    form_groups,
    values_from_form,
)
from arbitrade.dashboard._backtests_runner import backtests_database


class TestValuesFromForm:
    def test_values_when_nested_fields_empty_leave_them_out(self) -> None:
        """Empty strategy parameters and risk limits keep their defaults."""
        values = values_from_form(
            {"seed": "3", "parameters.max_levels": " ", "risk.cooldown_seconds": ""}
        )
        assert values == {"seed": "3"}

    def test_values_when_a_nested_field_is_a_list_split_it_at_commas(self) -> None:
        """List settings (stable assets) are typed as comma separated text."""
        values = values_from_form(
            {"parameters.stable_assets": "USD, EUR ,", "risk.max_open_cycles": "2"}
        )
        assert values == {
            "parameters": {"stable_assets": ["USD", "EUR"]},
            "risk": {"max_open_cycles": "2"},
        }

    def test_values_when_unknown_names_sent_ignore_them(self) -> None:
        """The CSRF token and names the form does not have never reach the settings."""
        values = values_from_form(
            {"csrf_token": "x", "evil": "1", "parameters.nope": "2", "home": "USD"}
        )
        assert values == {"home": "USD"}

    def test_values_when_structured_give_the_settings_typed(self) -> None:
        """What the form sends is what the settings accept: text becomes exact values."""
        settings = backtest_settings_from(
            values_from_form(
                {
                    "balances": "USD=5000, BTC=0.1",
                    "capital": "250",
                    "symbols": "BTC/USD, ETH/USD",
                    "risk.trading_enabled": "false",
                }
            )
        )
        assert settings.balances == {"USD": Decimal(5000), "BTC": Decimal("0.1")}
        assert settings.capital == Decimal(250)
        assert settings.symbols == ("BTC/USD", "ETH/USD")
        assert settings.risk == {"trading_enabled": "false"}


class TestFieldOf:
    @pytest.mark.parametrize(
        ("setting", "problem", "field", "message"),
        [
            ("backtest.capital", "must be more", "capital", "must be more"),
            ("backtest.balances.BTC", "unknown asset", "balances", "BTC: unknown asset"),
            (
                "backtest.risk.max_open_cycles",
                "must be more",
                "risk.max_open_cycles",
                "must be more",
            ),
            ("backtest.risk.home_asset", "bad", "risk", "home_asset: bad"),
            (
                "backtest.parameters",
                "max_cycle_length: 3 or 4",
                "parameters.max_cycle_length",
                "3 or 4",
            ),
            ("backtest.parameters", "something odd", "parameters", "something odd"),
            ("backtest", "Extra fields", "", "backtest: Extra fields"),
            ("config/x.toml", "unreadable", "", "config/x.toml: unreadable"),
        ],
    )
    def test_field_of_when_setting_named_puts_the_message_beside_its_field(
        self, setting: str, problem: str, field: str, message: str
    ) -> None:
        """Each settings error lands beside the field it is about, or on the whole form."""
        assert field_of(ConfigError(setting, problem)) == (field, message)


class TestForm:
    def test_form_when_opened_shows_each_settings_default(self) -> None:
        """Initial values are the settings class's own defaults."""
        fields = {field.name: field for group in form_groups() for field in group.fields}
        defaults = BacktestSettings()
        assert fields["capital"].value == str(defaults.capital)
        assert fields["balances"].value == "USD=10000"
        assert fields["fill_model"].kind == "select"
        assert "kraken" in fields["fee_profile"].choices
        assert fields["risk.max_cycle_notional"].placeholder == "default: the trade capital"

    def test_form_from_settings_when_filled_again_round_trips(self) -> None:
        """A stored report's settings fill the form so the same run can start again."""
        settings = BacktestSettings(
            events=("a", "b"),
            balances={"USD": Decimal(9000), "ETH": Decimal(1)},
            parameters={"min_profit_bps": "2"},
        )
        text = form_from_settings(settings_as_dict(settings))
        assert text["events"] == "a, b"
        again = backtest_settings_from(values_from_form(text))
        assert again == settings

    def test_database_when_derived_sits_beside_the_bots(self) -> None:
        """The backtests' DuckDB file is ``<stem>-backtests.duckdb`` beside the bot's file."""
        settings = Settings(duckdb_path=Path("/srv/bot/data/live.duckdb"))
        assert backtests_database(settings) == Path("/srv/bot/data/live-backtests.duckdb")


class TestChartPoints:
    def test_chart_points_when_curve_long_keep_lows_highs_and_the_last(self) -> None:
        """A long curve is thinned without losing its extremes or its end."""
        curve = [[float(i), str(100 + (i % 50))] for i in range(10_000)]
        curve[4321][1] = "1"  # a deep drawdown
        points = chart_points(curve)
        assert len(points) <= CHART_POINTS + 1
        assert min(point.equity for point in points) == Decimal(1)
        assert max(point.equity for point in points) == Decimal(149)
        assert points[-1].at_wall == 9999.0
        assert [point.at_wall for point in points] == sorted(point.at_wall for point in points)

    def test_configuration_rows_when_nested_flatten_with_dots(self) -> None:
        """Nested settings show one row each; empty ones say defaults."""
        rows = configuration_rows({"parameters": {"a": 1}, "risk": {}, "symbols": []})
        assert rows == [("parameters.a", "1"), ("risk", "defaults"), ("symbols", "all")]
