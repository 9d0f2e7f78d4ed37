"""Settings of the pair graph and cycle detector, from ``config/graph.toml`` (``GRAPH_*`` env).

Load them with ``load_component(GraphSettings, "graph")``; every field has a default, so a
missing file means the defaults below.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import attrs


def _check_cycle_length(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value not in (3, 4):
        raise ValueError(f"{attribute.name}: expected 3 or 4, got {value}")


def _check_not_negative(_: object, attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name}: expected a number >= 0, got {value}")


def _check_positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name}: expected a number > 0, got {value}")


def _check_homes(_: object, attribute: attrs.Attribute[tuple[str, ...]], value: object) -> None:
    if not value:
        raise ValueError(f"{attribute.name}: expected at least one home currency")


@attrs.frozen(kw_only=True)
class GraphSettings:
    """How cycles are found, netted of fees, sized and filtered."""

    home_currencies: tuple[str, ...] = attrs.field(
        default=("USD", "EUR", "USDT", "BTC"), validator=_check_homes
    )
    """Assets a cycle may start and end in (v2 names). A cycle through several homes is
    reported once per home it passes through, in this order."""
    max_cycle_length: int = attrs.field(default=3, validator=_check_cycle_length)
    """3: triangles only; 4: triangles and four-leg cycles (many more cycles per pair)."""
    fees_path: Path = Path("config/fees.toml")
    """The fee profiles file (shared with the simulator)."""
    fee_profile: str = "spot_volume"
    """Profile for ordinary crypto pairs (a key of ``[profiles]`` in the fees file)."""
    stable_fee_profile: str = "stablecoin_fx"
    """Profile for stablecoin, FX and pegged pairs."""
    fee_volume: Decimal = attrs.field(default=Decimal(0), validator=_check_not_negative)
    """Our 30-day traded volume in the profile's volume currency: it selects the fee tier."""
    stable_assets: tuple[str, ...] = (
        "USD", "EUR", "GBP", "CAD", "AUD", "CHF", "JPY",
        "USDT", "USDC", "DAI", "PYUSD", "USDG", "EURT", "EURR", "USDR", "TUSD", "USDS",
    )  # fmt: skip
    """A pair whose base is one of these (fiat or stablecoin) pays the stable profile."""
    pegged_pairs: tuple[str, ...] = ("WBTC/BTC", "ETH2.S/ETH", "WETH/ETH")
    """Further pairs that pay the stable profile (pegged tokens)."""
    min_profit_bps: Decimal = attrs.field(default=Decimal(0), validator=_check_not_negative)
    """Minimum profit after fees and rounding, in basis points of the start amount. Sizing
    also stops where the marginal unit would earn less than this (see ``size_cycle``)."""
    max_book_age: float = attrs.field(default=10.0, validator=_check_positive)
    """Seconds: a book whose last change is older than this is stale and suppresses every
    cycle through it."""
    max_levels: int = 25
    """At most this many levels of each book are walked when sizing."""
