"""Fuzzing backtest configurations: tables (TOML, flags, the dashboard's form) and TOML files.

Rule: :func:`arbitrade.backtest.backtest_settings_from` and
:func:`~arbitrade.backtest.load_backtest_settings` give settings or raise exactly one
:class:`~arbitrade.config.ConfigError` naming the setting, whatever they are given.
"""

from __future__ import annotations

import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbitrade.backtest import BacktestSettings, backtest_settings_from, load_backtest_settings
from arbitrade.config import ConfigError
from tests.fuzz.strategies import FIXED_WRONG_VALUES, ODD_STRINGS, WRONG_VALUES, look_alikes

FAST = [HealthCheck.too_slow, HealthCheck.data_too_large]
FIELDS = [field.name for field in attrs.fields(BacktestSettings)]

SPECIAL: dict[str, tuple[Any, ...]] = {
    "fees_path": ("\x00", "a\x00b", "/", ".", "/dev/null", sys.executable, "config",
                  "config/fees.toml", "~", "x" * 5000),
    "start": ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2024-05-01",
              "2024-05-01T10:00:00Z", "2024-13-01", "Z", "T", "2024-05-01T10:00:00+99:00"),
    "end": ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2024-04-01"),
    "balances": ("USD=1e999999999", "USD=nan", "USD=-1", "=1", "USD=", "USD==1", "USD=1,USD=2",
                 {"USD": "x"}, {"USD": [1]}, {1: 2}, {"USD": "1e999999999"}),
    "capital": ("1e999999999", "nan", "1e-999999999", "0", "10000", "10001"),
    "parameters": ({"max_cycle_length": 5}, {"x": 1}, {"fees_path": "\x00"}, {"": None}),
    "risk": ({"max_book_age_seconds": "nan"}, {"x": 1}, {"rate_tier": []}),
    "events": ("a,,b", ",", "\x00", ["a", 1], [[]]),
    "symbols": ("BTC/USD,ETH/USD", ",", [1, 2]),
}  # fmt: skip


def odd_values(field: str) -> tuple[Any, ...]:
    default = BacktestSettings().__getattribute__(field)
    plain = str(default) if isinstance(default, Decimal | Path) else default
    return (*SPECIAL.get(field, ()), *look_alikes(plain), *FIXED_WRONG_VALUES)


def check(values: dict[str, Any]) -> None:
    try:
        result = backtest_settings_from(values)
    except ConfigError as error:
        assert error.setting.startswith(("backtest", "config")) or "/" in error.setting, error
        assert error.problem
    else:
        assert isinstance(result, BacktestSettings)


class TestBacktestSettings:
    @pytest.mark.parametrize("field", FIELDS)
    def test_settings_when_one_field_has_each_odd_value_give_settings_or_one_config_error(
        self, field: str
    ) -> None:
        """Every field alone given every odd value: settings or one ConfigError."""
        values = odd_values(field)
        for value in values:
            check({field: value})
        print(f"{field}: {len(values)} values")  # the count, for -s / -rP runs

    @pytest.mark.parametrize("path", SPECIAL["fees_path"])
    def test_settings_when_fees_file_is_unreadable_give_one_config_error(self, path: str) -> None:
        """A profile read from any path (binary, a folder, a NUL byte): settings or an error."""
        check({"fee_profile": "spot_volume", "fees_path": path})

    @settings(max_examples=200, deadline=None, suppress_health_check=FAST)
    @given(
        values=st.dictionaries(
            st.sampled_from([*FIELDS, "unknown", ""]),
            st.one_of(WRONG_VALUES, ODD_STRINGS, st.sampled_from(SPECIAL["start"])),
            max_size=5,
        )
    )
    def test_settings_when_table_is_anything_give_settings_or_one_config_error(
        self, values: dict[str, Any]
    ) -> None:
        """Any table of any values: settings or one ConfigError."""
        check(values)

    @settings(max_examples=100, deadline=None, suppress_health_check=FAST)
    @given(
        text=st.one_of(
            st.text(max_size=120),
            st.sampled_from(
                [
                    "backtest = 1",
                    "[backtest]\ncapital = nan",
                    "[backtest]\n[x]",
                    "capital = 1e999",
                    "[backtest]\nstart = 2024-05-01T10:00:00Z",
                    "[backtest]\nbalances = {USD = inf}",
                    "seed = 99999999999999999999",
                ]
            ),
        ),
        as_bytes=st.binary(max_size=30) | st.just(b""),
    )
    def test_load_when_file_holds_anything_gives_settings_or_one_config_error(
        self, text: str, as_bytes: bytes
    ) -> None:
        """Any file contents (also not UTF-8): settings or one ConfigError naming the file."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "backtest.toml"
            path.write_bytes(text.encode("utf-8", "replace") + as_bytes)
            try:
                load_backtest_settings(path)
            except ConfigError as error:
                assert error.problem
