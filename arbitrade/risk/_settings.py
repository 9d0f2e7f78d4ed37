"""The risk gate's limits: one frozen settings class loaded from ``config/risk.toml``.

Load it with ``load_component(RiskSettings, "risk")``; every field can be overridden by an
environment variable ``RISK_<FIELD>`` (``RISK_MIN_PROFIT_BPS=8``). A value that breaks a rule
below raises one :class:`~arbitrade.config.ConfigError` naming ``risk.<field>``.
"""

from __future__ import annotations

import enum
import functools
from decimal import Decimal
from typing import Any

import attrs


class RateTier(enum.StrEnum):
    """Kraken verification tier: sets the trading rate counter's maximum and decay."""

    STARTER = "starter"
    INTERMEDIATE = "intermediate"
    PRO = "pro"


def _non_negative(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value < 0:
        raise ValueError(f"risk.{attribute.name}: must be zero or more, got {value}")


def _positive(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value <= 0:
        raise ValueError(f"risk.{attribute.name}: must be more than zero, got {value}")


def _fraction(instance: Any, attribute: attrs.Attribute[Any], value: Decimal) -> None:
    if not Decimal(0) < value <= Decimal(1):
        raise ValueError(f"risk.{attribute.name}: must be in (0, 1], got {value}")


def _tier(value: Any) -> RateTier:
    try:
        return RateTier(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(tier.value for tier in RateTier)
        raise ValueError(f"risk.rate_tier: must be one of {allowed}, got {value!r}") from None


def _strategies(value: Any) -> str:
    items = value.split(",") if isinstance(value, str) else list(value)
    return ",".join(sorted({str(item).strip() for item in items if str(item).strip()}))


@attrs.frozen(kw_only=True)
class RiskSettings:
    """Every limit the risk gate applies to an opportunity before it may become orders.

    Amounts are in ``home_asset``; rates in basis points (1 bps = 0.01 %).
    """

    kill_switch_engaged: bool = False
    """Start with the kill switch engaged: nothing trades until an operator releases it."""
    trading_enabled: bool = True
    """Strategy mode for every strategy at start; false is "off": every opportunity rejected."""
    disabled_strategies: str = attrs.field(default="", converter=_strategies)
    """Strategies whose mode starts "off", comma separated: "stat_arb" or "triangular,stat_arb"."""
    home_asset: str = "USD"
    """The currency limits and PnL are expressed in; opportunities of another home are refused."""
    min_profit_bps: Decimal = attrs.field(default=Decimal(5), validator=_non_negative)
    """Smallest expected profit after taker fees, recomputed by the gate from the legs."""
    min_profit_strategies: str = attrs.field(default="triangular", converter=_strategies)
    """Strategies whose opportunities carry a certain profit the gate can recompute (comma
    separated); others (stat_arb: a statistical edge, profit 0) skip the profit check."""
    taker_fee_bps: Decimal = attrs.field(default=Decimal(40), validator=_non_negative)
    """Taker fee the gate assumes for each leg (Kraken's starter tier: 40 bps)."""
    max_cycle_notional: Decimal = attrs.field(default=Decimal(1000), validator=_positive)
    """Largest amount of home currency one cycle may start with."""
    max_leg_notional: Decimal = attrs.field(default=Decimal(1000), validator=_positive)
    """Largest value, in home currency at the cycle's own prices, that one leg may spend."""
    max_open_orders: int = attrs.field(default=12, validator=_positive)
    """Most orders that may be live at once, counting the new cycle's legs."""
    max_open_cycles: int = attrs.field(default=3, validator=_positive)
    """Most cycles that may be in flight at once, counting the new one."""
    max_book_age_seconds: float = attrs.field(default=2.0, validator=_positive)
    """Oldest any leg's book may be when the gate decides (age at detection plus time since)."""
    daily_loss_limit: Decimal = attrs.field(default=Decimal(100), validator=_positive)
    """Realised loss in one UTC day that trips the kill switch and rejects until the next day."""
    rate_tier: str = attrs.field(default=RateTier.STARTER, converter=_tier)
    """Kraken tier for the trading rate counter model: starter, intermediate or pro."""
    rate_budget_fraction: Decimal = attrs.field(default=Decimal("0.8"), validator=_fraction)
    """Share of the tier's counter maximum the bot may use; the rest is headroom for cancels."""
    cooldown_seconds: float = attrs.field(default=30.0, validator=_non_negative)
    """After a cycle fails (broken or rejected), its pairs are refused for this long."""
    cancel_open_orders_on_kill: bool = True
    """Engaging the kill switch also asks the executor to cancel every open order."""

    @functools.cached_property
    def tier(self) -> RateTier:
        """The rate tier as an enum."""
        return RateTier(self.rate_tier)

    @functools.cached_property
    def disabled(self) -> frozenset[str]:
        """The strategies that start off."""
        return frozenset(name for name in self.disabled_strategies.split(",") if name)

    @functools.cached_property
    def profit_checked(self) -> frozenset[str]:
        """Strategies the minimum profit check applies to."""
        return frozenset(name for name in self.min_profit_strategies.split(",") if name)

    @functools.cached_property
    def taker_fee_rate(self) -> Decimal:
        """The taker fee as a fraction (40 bps is 0.004)."""
        return self.taker_fee_bps / Decimal(10_000)
