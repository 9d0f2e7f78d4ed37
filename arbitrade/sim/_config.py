"""Settings of the simulator: the market, the API keys it accepts, fees and starting faults."""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal
from pathlib import Path

import attrs

from arbitrade.sim._errors import SimConfigError
from arbitrade.sim._faults import FaultSettings
from arbitrade.sim._market import MarketSettings

DEFAULT_API_KEY = "arbitrade-sim-default-key"
"""Public half of the documented test key pair that every simulator accepts by default."""
DEFAULT_API_SECRET = (
    "70VNSxLaBakrzCbyAAqJtYwDv5lBGwoBRDBpWleo4QNfYcTnNr0AurKaF/W+4/KSOtUrwzaPNQDY8hmIfrlW7A=="  # noqa: S105 - documented test secret
)
"""Private half (base64 of 64 bytes, like Kraken's secrets) of the default test key pair."""

PERMISSIONS = frozenset({"query", "trade", "withdraw", "websocket"})
"""Permissions a simulated key can hold (Kraken's are finer; these are the ones that matter)."""
DEFAULT_PERMISSIONS = frozenset({"query", "trade", "websocket"})

RATE_TIERS = {
    # REST counter (max, decay per second), trading counter (max, decay per second), open orders.
    "starter": ((15.0, 0.33), (60.0, 1.0), 60),
    "intermediate": ((20.0, 0.5), (125.0, 2.34), 80),
    "pro": ((20.0, 1.0), (180.0, 3.75), 225),
}
"""Kraken's rate-limit tiers (kraken-protocol.md, "Rate limits")."""


def _default_balances() -> dict[str, Decimal]:
    return {
        "USD": Decimal(100_000),
        "EUR": Decimal(100_000),
        "GBP": Decimal(50_000),
        "USDT": Decimal(100_000),
        "USDC": Decimal(100_000),
        "BTC": Decimal(2),
        "ETH": Decimal(30),
    }


@attrs.frozen
class ApiKey:
    """One API key pair the simulator accepts, with what it may do and what it holds."""

    key: str
    secret: str
    """Base64 secret, as Kraken issues it."""
    permissions: frozenset[str] = DEFAULT_PERMISSIONS
    """Subset of query, trade, withdraw, websocket. Without trade: EGeneral:Permission denied."""
    balances: dict[str, Decimal] = attrs.field(factory=_default_balances)
    """Starting balances by v2 asset name (USD, BTC, ...)."""
    volume_30d_usd: Decimal = Decimal(0)
    """30-day volume that picks the fee tier (config/fees.toml)."""
    rate_tier: str = "intermediate"
    """starter, intermediate or pro: sizes of the REST and trading rate counters."""

    def __attrs_post_init__(self) -> None:
        unknown = sorted(set(self.permissions) - PERMISSIONS)
        if unknown:
            raise SimConfigError("permissions", f"unknown permission {unknown[0]!r}")
        if self.rate_tier not in RATE_TIERS:
            raise SimConfigError("rate_tier", f"expected one of {sorted(RATE_TIERS)}")
        try:
            base64.b64decode(self.secret, validate=True)
        except (binascii.Error, ValueError):
            raise SimConfigError("api_secret", "must be base64 (as Kraken's secrets are)") from None

    @property
    def secret_bytes(self) -> bytes:
        return base64.b64decode(self.secret)


def default_api_keys() -> tuple[ApiKey, ...]:
    return (ApiKey(DEFAULT_API_KEY, DEFAULT_API_SECRET),)


@attrs.frozen
class SimConfig:
    """Everything :func:`serve_simulator` needs; every field has a working default."""

    host: str = "127.0.0.1"
    """Address to bind (loopback by default)."""
    port: int = 0
    """TCP port; 0 picks a free one (reported through ``task_status.started``)."""
    seed: int = 7
    """Seed of the market model: the same seed gives the same market."""
    api_keys: tuple[ApiKey, ...] = attrs.field(factory=default_api_keys)
    """Key pairs accepted on /0/private and for WebSocket tokens."""
    market: MarketSettings = attrs.field(factory=MarketSettings)
    symbols: tuple[str, ...] | None = None
    """Restrict the universe to these v2 symbols (None: the whole Kraken-shaped universe)."""
    extra_assets: int = 0
    """Synthetic long-tail assets added to scale the universe (about 3 pairs each)."""
    fees_path: Path | None = None
    """Fee profiles file; None: the repository's ``config/fees.toml``."""
    faults: FaultSettings = attrs.field(factory=FaultSettings)
    """Faults active from the start (they can be changed while running)."""
    heartbeat_seconds: float = 1.0
    """Heartbeat period while nothing else flows on a subscribed connection."""
    token_ttl_seconds: float = 900.0
    """A WebSocket token must be used within this time (Kraken: 15 minutes)."""
    ticking: bool = True
    """False: the market does not move by itself (tests then call ``simulator.step()``)."""
    trades_keep: int = 20_000
    """Public trades kept (the trade channel's snapshot, connections catching up)."""
    executions_keep: int = 10_000
    """Executions events kept per key; a connection further behind is closed, never skipped."""
    closed_orders_keep: int = 5_000
    """Closed orders kept per key for QueryOrders and ClosedOrders (newest first, 50 a page)."""
    received_orders_keep: int = 65_536
    """Order requests kept in ``received_orders`` (client order id, order id, error)."""
    received_params_keep: int = 1_000
    """Of those, how many newest keep their full request parameters (older: ``params={}``)."""
    status_changes_keep: int = 256
    """System status changes kept; a connection further behind is closed, never coalesced."""
    slow_client_seconds: float = 30.0
    """A connection whose outgoing queue stays full this long is closed (it cannot keep up)."""

    def __attrs_post_init__(self) -> None:
        for name in (
            "trades_keep",
            "executions_keep",
            "closed_orders_keep",
            "received_orders_keep",
            "status_changes_keep",
        ):
            if getattr(self, name) < 1:
                raise SimConfigError(name, f"must be at least 1, got {getattr(self, name)}")
        if self.received_params_keep < 0:
            raise SimConfigError("received_params_keep", "must be 0 or more")
        if self.slow_client_seconds <= 0:
            raise SimConfigError("slow_client_seconds", "must be positive")
