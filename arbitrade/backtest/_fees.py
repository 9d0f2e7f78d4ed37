"""The fees a backtest charges: maker and taker rates per pair from the chosen fee profile.

Profiles come from ``config/fees.toml`` (shared with the simulator and the graph): a named
profile applies to every pair; ``kraken`` applies the file's default profile to crypto pairs
and its stable profile to pairs whose base is fiat, a stablecoin or a pegged token (the graph's
``stable_assets``/``pegged_pairs``); ``custom`` uses the settings' maker/taker basis points. A
volume-tiered profile is read at the settings' 30-day ``fee_volume``.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from typing import Any

import attrs

from arbitrade.backtest._settings import BacktestSettings, graph_settings
from arbitrade.config import ConfigError
from arbitrade.messages import Instrument

_BPS = Decimal(10_000)
_PERCENT = Decimal(100)


@attrs.frozen
class Rates:
    """Maker and taker fee as fractions of a trade's cost (0.004 is 40 bps)."""

    maker: Decimal
    taker: Decimal


@attrs.frozen
class FeeModel:
    """Which rates each pair pays. Implements the graph's ``FeeRates`` (its taker rate)."""

    default: Rates
    stable: Rates
    stable_assets: frozenset[str] = frozenset()
    pegged_pairs: frozenset[str] = frozenset()

    def rates_for(self, instrument: Instrument) -> Rates:
        """Maker and taker rate of ``instrument``."""
        if instrument.base in self.stable_assets or instrument.symbol in self.pegged_pairs:
            return self.stable
        return self.default

    def rate_for(self, instrument: Instrument, /) -> Decimal:
        """The taker rate of ``instrument`` (what cycles pay)."""
        return self.rates_for(instrument).taker


def _tier(profiles: dict[str, Any], name: str, volume: Decimal) -> Rates:
    profile = profiles.get(name)
    if not isinstance(profile, dict) or not isinstance(profile.get("tiers"), list):
        raise ConfigError("backtest.fee_profile", f"fee profile {name!r} has no tiers")
    chosen: Rates | None = None
    start = Decimal(-1)
    for tier in profile["tiers"]:
        try:
            tier_start = Decimal(str(tier["volume"]))
            rates = Rates(
                Decimal(str(tier["maker"])) / _PERCENT, Decimal(str(tier["taker"])) / _PERCENT
            )
        except (KeyError, TypeError, ArithmeticError):
            raise ConfigError("backtest.fee_profile", f"fee profile {name!r}: bad tier") from None
        if start < tier_start <= volume:
            start, chosen = tier_start, rates
    if chosen is None:
        raise ConfigError("backtest.fee_profile", f"fee profile {name!r} has no tier at {volume}")
    return chosen


def fee_model(settings: BacktestSettings) -> FeeModel:
    """The fee model ``settings`` ask for.

    Raises:
        ConfigError: the fees file cannot be read or the profile does not fit it.
    """
    graph = graph_settings(settings)
    stable_assets = frozenset(graph.stable_assets)
    pegged = frozenset(graph.pegged_pairs)
    if settings.fee_profile == "custom":
        rates = Rates(settings.maker_fee_bps / _BPS, settings.taker_fee_bps / _BPS)
        return FeeModel(rates, rates)
    try:
        data = tomllib.loads(settings.fees_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(
            "backtest.fees_path", f"cannot read {settings.fees_path}: {error}"
        ) from None
    profiles = data.get("profiles", {})
    volume = settings.fee_volume
    if settings.fee_profile == "kraken":
        default = _tier(profiles, str(data.get("default_profile", "spot_volume")), volume)
        stable = _tier(profiles, str(data.get("stable_profile", "stablecoin_fx")), volume)
        return FeeModel(default, stable, stable_assets, pegged)
    rates = _tier(profiles, settings.fee_profile, volume)
    return FeeModel(rates, rates)
