"""Every component's settings, loaded and validated together before anything starts.

Each component owns a frozen attrs settings class read from ``config/<name>.toml`` with
``<NAME>_<FIELD>`` environment overrides (:func:`arbitrade.config.load_component`). Loading them
all up front means a bad file stops start-up with one line, before any connection is opened.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from arbitrade.config import load_component
from arbitrade.config._component import CONFIG_DIR
from arbitrade.execution import ExecutionSettings
from arbitrade.graph import GraphSettings
from arbitrade.market import MarketSettings
from arbitrade.messages import StrategyMode
from arbitrade.persistence import SinkSettings
from arbitrade.risk import RiskSettings
from arbitrade.strategy.stat_arb import StatArbSettings, load_stat_arb_settings


@attrs.frozen
class Components:
    """The settings of every component of the running bot."""

    graph: GraphSettings
    risk: RiskSettings
    execution: ExecutionSettings
    sink: SinkSettings
    market: MarketSettings
    stat_arb: StatArbSettings

    @property
    def strategy_mode(self) -> StrategyMode:
        """The strategy mode at start, from the risk settings (the dashboard changes it live)."""
        if not self.risk.trading_enabled:
            return StrategyMode.OFF
        disabled = set(filter(None, self.risk.disabled_strategies.split(",")))
        triangular = "triangular" not in disabled
        stat_arb = "stat_arb" not in disabled
        if triangular and stat_arb:
            return StrategyMode.BOTH
        if triangular:
            return StrategyMode.TRIANGULAR
        return StrategyMode.STAT_ARB if stat_arb else StrategyMode.OFF


def load_components(config_dir: Path = CONFIG_DIR) -> Components:
    """Load and validate every component's settings.

    Raises:
        ConfigError: the first invalid file or value, naming ``component.field``.
    """
    return Components(
        graph=load_component(GraphSettings, "graph", config_dir=config_dir),
        risk=load_component(RiskSettings, "risk", config_dir=config_dir),
        execution=load_component(ExecutionSettings, "execution", config_dir=config_dir),
        sink=load_component(SinkSettings, "persistence", config_dir=config_dir),
        market=load_component(MarketSettings, "market", config_dir=config_dir),
        stat_arb=load_stat_arb_settings(config_dir=config_dir),
    )
