"""Fuzzing every component's settings: arbitrary tables, TOML files and environments.

Rule: :func:`arbitrade.config.structure_component` and :func:`~arbitrade.config.load_component`
give a settings instance or raise one :class:`~arbitrade.config.ConfigError` naming the setting,
and what they accept is usable: every number finite, every Decimal fit for arithmetic (a risk
limit of ``1e999999999`` would raise ``decimal.Overflow`` inside the risk gate later).
"""

from __future__ import annotations

import math
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbitrade.config import ConfigError, load_component, structure_component
from arbitrade.execution import ExecutionSettings
from arbitrade.graph import GraphSettings
from arbitrade.persistence import SinkSettings
from arbitrade.risk import RiskSettings
from arbitrade.strategy._stat_settings import (
    StatArbSettings,
    load_stat_arb_settings,
    structure_stat_arb_settings,
)
from tests.fuzz.strategies import FIXED_WRONG_VALUES, ODD_STRINGS, WRONG_VALUES, look_alikes

FAST = [HealthCheck.too_slow, HealthCheck.data_too_large]

COMPONENTS: dict[str, type[Any]] = {
    "risk": RiskSettings,
    "graph": GraphSettings,
    "stat_arb": StatArbSettings,
    "persistence": SinkSettings,
    "execution": ExecutionSettings,
}

ODD_NUMBERS = (
    "nan", "NaN", "inf", "-inf", "Infinity", "1e999999999", "-1e999999999", "1e-999999999",
    "1e308", "1e400", "0", "-0", "0.5", "1", "2", "3", "4", "10", "1_000", " 7 ", "0x10", "1e3",
    float("nan"), float("inf"), 1e308, -1, 0, 2**64, True,
)  # fmt: skip
NUMBER_TEXT = st.sampled_from(ODD_NUMBERS)


def field_values(cls: type[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Tables over ``cls``'s fields (plus stray keys): wrong types, look-alikes, odd numbers."""
    names = [field.name for field in attrs.fields(cls)]
    defaults = {
        field.name: field.default
        for field in attrs.fields(cls)
        if field.default is not attrs.NOTHING and not isinstance(field.default, attrs.Factory)  # type: ignore[arg-type]
    }

    def values_for(name: str) -> st.SearchStrategy[Any]:
        default = defaults.get(name)
        alikes = look_alikes(str(default) if isinstance(default, Decimal | Path) else default)
        return st.one_of(
            WRONG_VALUES, NUMBER_TEXT, ODD_STRINGS, st.sampled_from(alikes), st.floats()
        )

    keys = st.sampled_from([*names, "unknown_setting", ""])
    pairs = keys.flatmap(lambda key: st.tuples(st.just(key), values_for(key)))
    return st.lists(pairs, max_size=5).map(dict)


TABLES = {name: field_values(cls) for name, cls in COMPONENTS.items()}


def check_usable(instance: Any) -> None:
    """Accepted settings hold only finite numbers that survive ordinary arithmetic."""
    for field in attrs.fields(type(instance)):
        value = getattr(instance, field.name)
        if isinstance(value, float):
            assert math.isfinite(value), field.name
        if isinstance(value, Decimal):
            assert value.is_finite(), field.name
            # Must not raise decimal.Overflow.
            assert (value * 10_000 + 1).is_finite(), field.name
            assert (value / 10_000).is_finite(), field.name


def build(name: str, values: dict[str, Any]) -> Any:
    if name == "stat_arb":
        return structure_stat_arb_settings(values)
    return structure_component(COMPONENTS[name], values, name)


class TestComponentSettings:
    @pytest.mark.parametrize("name", sorted(COMPONENTS))
    def test_defaults_when_structured_from_nothing_are_valid(self, name: str) -> None:
        """Every component builds from an empty table (so the fuzzers start from valid)."""
        check_usable(build(name, {}))

    @pytest.mark.parametrize("name", sorted(COMPONENTS))
    def test_structure_when_each_field_gets_each_odd_value_gives_usable_settings_or_error(
        self, name: str
    ) -> None:
        """Every field alone set to every odd number, look-alike and wrong type."""
        cls = COMPONENTS[name]
        tried = 0
        for field in attrs.fields(cls):
            default = field.default
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = None
            plain = str(default) if isinstance(default, Decimal | Path) else default
            for value in (*ODD_NUMBERS, *look_alikes(plain), *FIXED_WRONG_VALUES):
                tried += 1
                try:
                    instance = build(name, {field.name: value})
                except ConfigError as error:
                    assert error.setting.startswith(name), error
                else:
                    check_usable(instance)
        print(f"{name}: {tried} single-field tables")  # the count, for -s / -rP runs

    @settings(max_examples=150, deadline=None, suppress_health_check=FAST)
    @given(data=st.data(), name=st.sampled_from(sorted(COMPONENTS)))
    def test_structure_when_table_is_anything_gives_usable_settings_or_config_error(
        self, data: st.DataObject, name: str
    ) -> None:
        """Any table: usable settings or one ConfigError naming ``<component>...``."""
        values = data.draw(TABLES[name], label="values")
        try:
            instance = build(name, values)
        except ConfigError as error:
            assert error.setting.startswith(name), error
            assert "\n" not in str(error)
        else:
            check_usable(instance)

    @settings(max_examples=100, deadline=None, suppress_health_check=FAST)
    @given(
        name=st.sampled_from(sorted(COMPONENTS)),
        toml=st.one_of(
            st.text(max_size=80),
            st.sampled_from(
                [
                    "[x]\na=1",
                    "a = nan",
                    "a = inf",
                    "a = 1e999",
                    "a = [1, 2]",
                    "= 1",
                    "a = {b = 1}",
                    "\x00",
                    "a = 'x'\na = 'y'",
                ]
            ),
        ),
        field_lines=st.lists(st.tuples(st.integers(0, 30), NUMBER_TEXT | ODD_STRINGS), max_size=3),
        environ=st.dictionaries(st.integers(0, 30), NUMBER_TEXT | st.text(max_size=8), max_size=3),
    )
    def test_load_component_when_file_and_environment_are_anything_gives_settings_or_error(
        self,
        name: str,
        toml: str,
        field_lines: list[tuple[int, str]],
        environ: dict[int, str],
    ) -> None:
        """Any TOML file plus any ``<NAME>_<FIELD>`` environment: settings or a ConfigError."""
        cls = COMPONENTS[name]
        names = [field.name for field in attrs.fields(cls)]
        lines = [f"{names[i % len(names)]} = {text!r}".replace("'", '"') for i, text in field_lines]
        env = {f"{name.upper()}_{names[i % len(names)].upper()}": v for i, v in environ.items()}
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / f"{name}.toml").write_text(
                "\n".join([toml, *lines]), encoding="utf-8", errors="replace"
            )
            try:
                if name == "stat_arb":
                    instance = load_stat_arb_settings(config_dir=Path(folder), environ=env)
                else:
                    instance = load_component(cls, name, config_dir=Path(folder), environ=env)
            except ConfigError as error:
                assert error.setting
            else:
                check_usable(instance)
