"""Settings of the executor, the paper venue and the portfolio.

Load with ``load_component(ExecutionSettings, "execution")`` (``config/execution.toml`` if
present, else these defaults; env overrides ``EXECUTION_<FIELD>``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import attrs


def _non_negative(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value < 0:
        raise ValueError(f"execution.{attribute.name}: must be zero or more, got {value}")


def _positive(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value <= 0:
        raise ValueError(f"execution.{attribute.name}: must be more than zero, got {value}")


def _deadline(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.5 <= value <= 60.0:
        raise ValueError(f"execution.{attribute.name}: Kraken allows 0.5 to 60 s, got {value}")


def parse_balances(text: str) -> dict[str, Decimal]:
    """``"USD=10000,BTC=0.5"`` -> ``{"USD": Decimal(10000), "BTC": Decimal("0.5")}``.

    Raises:
        ValueError: an entry is not ``ASSET=amount`` with a non-negative amount.
    """
    balances: dict[str, Decimal] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        asset, equals, amount = entry.partition("=")
        try:
            value = Decimal(amount.strip())
        except InvalidOperation:
            value = Decimal(-1)
        if not equals or not asset.strip() or not value.is_finite() or value < 0:
            raise ValueError(f"execution.paper_balances: expected ASSET=amount, got {entry!r}")
        balances[asset.strip()] = value
    return balances


def _balances(instance: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    parse_balances(value)


@attrs.frozen(kw_only=True)
class ExecutionSettings:
    """How orders are placed, how broken cycles are unwound, and the paper venue's world."""

    home_asset: str = "USD"
    """The currency broken cycles are unwound back to and PnL is counted in."""
    order_deadline_seconds: float = attrs.field(default=5.0, validator=_deadline)
    """Kraken ``deadline``: an order not matched within this is refused, never traded late."""
    taker_fee_bps: Decimal = attrs.field(default=Decimal(40), validator=_non_negative)
    """Taker fee assumed when pricing unwinds and by the paper venue (starter tier: 40)."""
    unwind_max_loss_bps: Decimal = attrs.field(default=Decimal(150), validator=_non_negative)
    """Largest unwind loss (spread, slippage and the unwind's own taker fee) against the
    price the cycle traded the asset at, in bps of the leftover's value."""
    unwind_max_loss: Decimal = attrs.field(default=Decimal(25), validator=_non_negative)
    """Largest unwind loss per asset, in home currency (the smaller bound applies)."""
    unwind_attempts: int = attrs.field(default=3, validator=_positive)
    """IOC rounds tried before what is left is held and an alert raised."""
    stuck_order_seconds: float = attrs.field(default=2.0, validator=_positive)
    """An order still not terminal this long after its deadline is queried at the venue."""
    watchdog_interval_seconds: float = attrs.field(default=1.0, validator=_positive)
    """How often the executor looks for stuck orders."""
    paper_latency_seconds: float = attrs.field(default=0.0, validator=_non_negative)
    """Delay between an order reaching the paper venue and its matching."""
    paper_balances: str = attrs.field(default="USD=10000,BTC=0.2,ETH=4", validator=_balances)
    """The paper venue's starting balances, ``ASSET=amount`` comma separated."""
    snapshot_interval_seconds: float = attrs.field(default=5.0, validator=_positive)
    """How often the portfolio publishes a PortfolioSnapshot."""
    balance_refresh_seconds: float = attrs.field(default=30.0, validator=_positive)
    """How often the portfolio re-reads balances from the venue (Kraken ``Balance`` live)."""

    @property
    def taker_fee_rate(self) -> Decimal:
        """The taker fee as a fraction."""
        return self.taker_fee_bps / Decimal(10_000)
