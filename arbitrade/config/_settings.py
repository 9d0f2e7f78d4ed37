"""The application's settings: one frozen attrs class, every field documented.

Each field maps to an environment variable of the same name in upper case (``app_port`` is
``APP_PORT``) and to a key of the same name in lower case in ``config/arbitrade.toml``.
Cross-field rules live in :func:`validate`, which raises one :class:`ConfigError` per call,
naming the first violated rule.
"""

from __future__ import annotations

import enum
from pathlib import Path

import attrs

from arbitrade.config._errors import ConfigError
from arbitrade.config._secret import Secret

REQUIRED_PERMISSIONS = frozenset({"query", "trade"})


class Mode(enum.StrEnum):
    """How the bot meets the market."""

    SIM = "sim"
    """Embedded Kraken simulator on loopback, paper fills (the default)."""
    PAPER = "paper"
    """Real Kraken market data, simulated fills."""
    LIVE = "live"
    """Real orders on Kraken. Needs credentials and ``LIVE_TRADING_CONFIRMED=true``."""
    BACKTEST = "backtest"
    """Recorded events replayed through the same actors on a virtual clock."""


def _empty_secret() -> Secret:
    return Secret("")


@attrs.frozen(kw_only=True)
class Settings:
    """Everything the process needs to start. Build it with :func:`load_settings`."""

    app_env: str = "development"
    """Deployment name shown on the dashboard and in logs (development, staging, production)."""
    app_host: str = "127.0.0.1"
    """Address the dashboard binds to. Use 0.0.0.0 inside a container."""
    app_port: int = 9090
    """TCP port of the dashboard, /health and /metrics (1-65535)."""
    log_level: str = "INFO"
    """Lowest level logged: DEBUG, INFO, WARNING, ERROR or CRITICAL."""
    log_json: bool = False
    """True: one JSON object per line (for machines); false: a readable console."""
    duckdb_path: Path = Path("./data/arbitrade.duckdb")
    """The DuckDB file; its folder also holds the Fernet key file when no keyring exists."""
    mode: Mode = Mode.SIM
    """sim (default), paper, live or backtest."""
    live_trading_confirmed: bool = False
    """The explicit flag that live mode demands, so real money is never traded by accident."""
    fernet_key: Secret = attrs.field(factory=_empty_secret)
    """Key that encrypts the Kraken secret at rest; empty: generated once and kept."""
    kraken_api_key: Secret = attrs.field(factory=_empty_secret)
    """Kraken API public key (needs query and trade, never withdrawal)."""
    kraken_api_secret: Secret = attrs.field(factory=_empty_secret)
    """Kraken API private key, base64; or ``fernet:<token>`` encrypted with FERNET_KEY."""
    kraken_api_key_permissions: tuple[str, ...] = ()
    """The key's declared permissions, comma separated (Kraken cannot be asked for them)."""
    kraken_rest_url: str = "https://api.kraken.com"
    """REST base URL; the simulator's in sim mode."""
    kraken_ws_public_url: str = "wss://ws.kraken.com/v2"
    """Public WebSocket v2 URL."""
    kraken_ws_private_url: str = "wss://ws-auth.kraken.com/v2"
    """Authenticated WebSocket v2 URL."""
    operator_token: Secret = attrs.field(factory=_empty_secret)
    """Token that authorises dashboard controls; empty: controls are disabled."""
    sim_seed: int = 7
    """Seed of the embedded simulator's market model (sim mode)."""
    sim_port: int = 0
    """Port of the embedded simulator (sim mode); 0 picks a free one (logged at start)."""
    sim_process: bool = True
    """Run the embedded simulator in a child process of its own (sim mode; ADR 14), so its
    market model never competes with the bot's Trio loop; false: on the bot's loop."""

    @property
    def has_credentials(self) -> bool:
        """True when an API key and secret are both configured."""
        return bool(self.kraken_api_key) and bool(self.kraken_api_secret)


_LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})


def validate(settings: Settings) -> Settings:
    """Check the rules that span fields; return the settings or raise one ConfigError."""
    if not 1 <= settings.app_port <= 65535:
        raise ConfigError("APP_PORT", f"must be between 1 and 65535, got {settings.app_port}")
    if settings.log_level.upper() not in _LOG_LEVELS:
        raise ConfigError(
            "LOG_LEVEL",
            f"must be one of {', '.join(sorted(_LOG_LEVELS))}, got {settings.log_level!r}",
        )
    if settings.kraken_api_key and not settings.kraken_api_secret:
        raise ConfigError("KRAKEN_API_SECRET", "is required when KRAKEN_API_KEY is set")
    if settings.kraken_api_secret and not settings.kraken_api_key:
        raise ConfigError("KRAKEN_API_KEY", "is required when KRAKEN_API_SECRET is set")
    if settings.has_credentials or settings.kraken_api_key_permissions:
        _check_permissions(settings.kraken_api_key_permissions)
    if settings.mode is Mode.LIVE:
        if not settings.has_credentials:
            raise ConfigError(
                "KRAKEN_API_KEY", "live mode needs KRAKEN_API_KEY and KRAKEN_API_SECRET"
            )
        if not settings.live_trading_confirmed:
            raise ConfigError(
                "LIVE_TRADING_CONFIRMED", "live mode trades real money: set it to true to confirm"
            )
    return settings


def _check_permissions(permissions: tuple[str, ...]) -> None:
    name = "KRAKEN_API_KEY_PERMISSIONS"
    if not permissions:
        raise ConfigError(
            name, "must declare the key's permissions (query,trade) when a key is set"
        )
    withdrawal = sorted(p for p in permissions if "withdraw" in p)
    if withdrawal:
        raise ConfigError(
            name,
            f"the key has withdrawal scope ({', '.join(withdrawal)}): use a key without it",
        )
    missing = sorted(REQUIRED_PERMISSIONS - set(permissions))
    if missing:
        raise ConfigError(name, f"the key lacks {' and '.join(missing)} (needs query and trade)")
