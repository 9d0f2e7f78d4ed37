"""Kraken fee profiles loaded from ``config/fees.toml``: volume tiers of maker/taker percents.

The simulator charges fees from these and lists them in AssetPairs' ``fees`` / ``fees_maker``.
The data lives in the TOML file so that users (and other components) can read and override it.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from arbitrade.sim._errors import SimConfigError

DEFAULT_FEES_PATH = Path(__file__).resolve().parents[2] / "config" / "fees.toml"


@attrs.frozen
class FeeTier:
    """One row of a schedule: from ``volume`` (30-day, in the volume currency) upwards."""

    volume: Decimal
    taker_percent: Decimal
    maker_percent: Decimal


@attrs.frozen
class FeeProfile:
    """A named schedule: tiers sorted by ascending volume, the first starting at 0."""

    name: str
    volume_currency: str
    counts_toward_volume: bool
    tiers: tuple[FeeTier, ...]

    def tier_for(self, volume: Decimal) -> FeeTier:
        """The tier that applies to a 30-day volume (the highest tier whose start is reached)."""
        chosen = self.tiers[0]
        for tier in self.tiers:
            if volume >= tier.volume:
                chosen = tier
        return chosen


@attrs.frozen
class FeeSchedule:
    """The two profiles the simulator uses: ordinary crypto pairs and stablecoin/FX pairs."""

    default: FeeProfile
    stable: FeeProfile


def _decimal(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise SimConfigError(where, f"expected a number, got {value!r}") from None


def _profile(name: str, raw: Any, where: str) -> FeeProfile:
    if not isinstance(raw, dict):
        raise SimConfigError(where, f"profile {name!r} is missing")
    rows = raw.get("tiers")
    if not isinstance(rows, list) or not rows:
        raise SimConfigError(f"{where}.tiers", "expected a non-empty list of tiers")
    tiers = tuple(
        sorted(
            (
                FeeTier(
                    volume=_decimal(row.get("volume"), f"{where}.tiers[{i}].volume"),
                    taker_percent=_decimal(row.get("taker"), f"{where}.tiers[{i}].taker"),
                    maker_percent=_decimal(row.get("maker"), f"{where}.tiers[{i}].maker"),
                )
                for i, row in enumerate(rows)
            ),
            key=lambda tier: tier.volume,
        )
    )
    if tiers[0].volume != 0:
        raise SimConfigError(f"{where}.tiers", "the first tier must start at volume 0")
    return FeeProfile(
        name=name,
        volume_currency=str(raw.get("volume_currency", "ZUSD")),
        counts_toward_volume=bool(raw.get("counts_toward_volume", True)),
        tiers=tiers,
    )


def load_fee_schedule(path: Path | None = None) -> FeeSchedule:
    """Read the fee profiles from a TOML file (``config/fees.toml`` by default).

    Raises:
        SimConfigError: the file is missing or unreadable, or a profile or tier does not fit;
            the message names the key.
    """
    source = path if path is not None else DEFAULT_FEES_PATH
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SimConfigError(str(source), f"cannot read fee profiles: {error}") from error
    profiles = data.get("profiles", {})
    default_name = str(data.get("default_profile", "spot_volume"))
    stable_name = str(data.get("stable_profile", "stablecoin_fx"))
    return FeeSchedule(
        default=_profile(default_name, profiles.get(default_name), f"profiles.{default_name}"),
        stable=_profile(stable_name, profiles.get(stable_name), f"profiles.{stable_name}"),
    )
