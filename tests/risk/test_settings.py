"""Loading and validating config/risk.toml."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from arbitrade.config import ConfigError, load_component
from arbitrade.risk import RateTier, RiskSettings

REPO = Path(__file__).resolve().parents[2]


class TestRiskSettings:
    def test_load_when_repository_file_read_gives_valid_settings(self) -> None:
        """The shipped config/risk.toml loads without error."""
        settings = load_component(RiskSettings, "risk", config_dir=REPO / "config", environ={})
        assert settings.home_asset == "USD"

    def test_load_when_env_overrides_value_uses_it(self, tmp_path: Path) -> None:
        """RISK_<FIELD> beats the file."""
        (tmp_path / "risk.toml").write_text("min_profit_bps = 5\n")
        settings = load_component(
            RiskSettings, "risk", config_dir=tmp_path, environ={"RISK_MIN_PROFIT_BPS": "8.5"}
        )
        assert settings.min_profit_bps == Decimal("8.5")

    def test_load_when_tier_is_text_parses_enum(self, tmp_path: Path) -> None:
        """The rate tier is read case-insensitively."""
        settings = load_component(
            RiskSettings, "risk", config_dir=tmp_path, environ={"RISK_RATE_TIER": "PRO"}
        )
        assert settings.tier is RateTier.PRO

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("max_cycle_notional", "0"),
            ("min_profit_bps", "-1"),
            ("rate_budget_fraction", "1.5"),
            ("rate_tier", "platinum"),
            ("max_open_orders", "0"),
            ("daily_loss_limit", "-5"),
        ],
    )
    def test_load_when_value_breaks_rule_names_field(
        self, tmp_path: Path, field: str, value: str
    ) -> None:
        """A bad value is one ConfigError naming risk.<field>."""
        with pytest.raises(ConfigError, match=f"risk.{field}"):
            load_component(
                RiskSettings, "risk", config_dir=tmp_path, environ={f"RISK_{field.upper()}": value}
            )

    def test_load_when_unknown_key_refuses(self, tmp_path: Path) -> None:
        """A misspelt key in the file is an error, not silently ignored."""
        (tmp_path / "risk.toml").write_text("min_proft_bps = 5\n")
        with pytest.raises(ConfigError):
            load_component(RiskSettings, "risk", config_dir=tmp_path, environ={})

    def test_disabled_strategies_when_comma_separated_become_tuple(self, tmp_path: Path) -> None:
        """The env form 'a,b' lists strategies."""
        settings = load_component(
            RiskSettings,
            "risk",
            config_dir=tmp_path,
            environ={"RISK_DISABLED_STRATEGIES": "stat_arb, triangular"},
        )
        assert settings.disabled == {"stat_arb", "triangular"}
