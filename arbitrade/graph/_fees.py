"""Taker fee per pair, from the fee profiles in ``config/fees.toml`` (shared with the simulator).

Cycles are taken with market-crossing (taker) orders, so only the taker column matters here.
The fee is charged in the pair's quote currency, as Kraken does by default.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

import attrs

from arbitrade.config import ConfigError
from arbitrade.graph._settings import GraphSettings
from arbitrade.messages import Instrument


class FeeRates(Protocol):
    """Anything that gives the taker fee rate of a pair (a fraction: 0.004 is 0.40 %)."""

    def rate_for(self, instrument: Instrument, /) -> Decimal:
        """The taker fee rate ``instrument`` pays."""
        ...


@attrs.frozen
class TakerFees:
    """Taker fee rates (fractions: ``Decimal("0.004")`` is 0.40 %) and which pairs pay which.

    A pair pays ``stable_rate`` when its base is in ``stable_assets`` (fiat and stablecoins:
    USDT/USD, EUR/USD) or its symbol is in ``pegged_pairs`` (WBTC/BTC); otherwise
    ``default_rate``.
    """

    default_rate: Decimal
    stable_rate: Decimal
    stable_assets: frozenset[str] = frozenset()
    pegged_pairs: frozenset[str] = frozenset()

    @classmethod
    def flat(cls, rate: Decimal) -> TakerFees:
        """The same rate for every pair (tests, quick experiments)."""
        return cls(default_rate=rate, stable_rate=rate)

    def rate_for(self, instrument: Instrument) -> Decimal:
        """The taker fee rate this pair pays."""
        if instrument.base in self.stable_assets or instrument.symbol in self.pegged_pairs:
            return self.stable_rate
        return self.default_rate


def _taker_percent(profiles: Any, name: str, volume: Decimal, where: str) -> Decimal:
    profile = profiles.get(name) if isinstance(profiles, dict) else None
    if not isinstance(profile, dict):
        raise ConfigError(where, f"no fee profile named {name!r} in the fees file")
    tiers = profile.get("tiers")
    if not isinstance(tiers, list) or not tiers:
        raise ConfigError(where, f"fee profile {name!r} has no tiers")
    chosen: Decimal | None = None
    best_start = Decimal(-1)
    for number, tier in enumerate(tiers):
        try:
            start = Decimal(str(tier["volume"]))
            taker = Decimal(str(tier["taker"]))
        except (KeyError, TypeError, InvalidOperation):
            raise ConfigError(
                where, f"fee profile {name!r} tier {number}: expected volume and taker numbers"
            ) from None
        if best_start < start <= volume:
            best_start, chosen = start, taker
    if chosen is None:
        raise ConfigError(where, f"fee profile {name!r} has no tier starting at or below {volume}")
    if not Decimal(0) <= chosen < Decimal(100):
        raise ConfigError(where, f"fee profile {name!r}: taker {chosen} % is not in [0, 100)")
    return chosen


def load_taker_fees(settings: GraphSettings, *, fees_path: Path | None = None) -> TakerFees:
    """Pick the taker rates of the configured profiles at the configured 30-day volume.

    Raises:
        ConfigError: the fees file is missing or malformed, or a profile is not in it.
    """
    path = fees_path if fees_path is not None else settings.fees_path
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError("graph.fees_path", f"cannot read {path}: {error}") from None
    profiles = data.get("profiles", {})
    volume = settings.fee_volume
    default = _taker_percent(profiles, settings.fee_profile, volume, "graph.fee_profile")
    stable = _taker_percent(
        profiles, settings.stable_fee_profile, volume, "graph.stable_fee_profile"
    )
    return TakerFees(
        default_rate=default / 100,
        stable_rate=stable / 100,
        stable_assets=frozenset(settings.stable_assets),
        pegged_pairs=frozenset(settings.pegged_pairs),
    )


def describe_rates(fees: TakerFees, instruments: Iterable[Instrument]) -> dict[str, int]:
    """How many of ``instruments`` pay each rate (for a start-up log line)."""
    counts: dict[str, int] = {}
    for instrument in instruments:
        key = str(fees.rate_for(instrument))
        counts[key] = counts.get(key, 0) + 1
    return counts
