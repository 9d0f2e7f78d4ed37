"""Component settings from config/<name>.toml, env overrides and form overrides."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from arbitrade.config import ConfigError, load_component


@attrs.frozen
class Example:
    min_profit_bps: Decimal = Decimal("5")
    window: int = attrs.field(default=10, validator=attrs.validators.ge(2))
    homes: tuple[str, ...] = ("USD",)


def test_load_component_when_file_missing_gives_defaults(tmp_path: Path) -> None:
    """No file and no env: the class defaults."""
    assert load_component(Example, "example", config_dir=tmp_path, environ={}) == Example()


def test_env_override_beats_file(tmp_path: Path) -> None:
    """EXAMPLE_WINDOW beats the TOML value; Decimals stay exact."""
    (tmp_path / "example.toml").write_text('window = 4\nmin_profit_bps = "1.25"\n')
    loaded = load_component(
        Example, "example", config_dir=tmp_path, environ={"EXAMPLE_WINDOW": "7"}
    )
    assert loaded.window == 7
    assert loaded.min_profit_bps == Decimal("1.25")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"window": "x"}, "example.window: expected a whole number"),
        ({"window": 1.5}, "example.window: expected a whole number"),
        ({"window": 1}, "'window' must be >= 2"),
        ({"min_profit_bps": "nan"}, "example.min_profit_bps: expected a finite number"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_value_raises_config_error_naming_field(
    tmp_path: Path, overrides: dict[str, object], expected: str
) -> None:
    """Every violated rule is one ConfigError that names the field."""
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(")):
        load_component(Example, "example", config_dir=tmp_path, environ={}, overrides=overrides)


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    """A syntax error in the TOML file names the file."""
    (tmp_path / "example.toml").write_text("window = = 3\n")
    with pytest.raises(ConfigError, match=r"example\.toml: is not valid TOML"):
        load_component(Example, "example", config_dir=tmp_path, environ={})
