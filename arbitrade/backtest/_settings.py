"""What one backtest runs: a frozen settings class and the rules it must satisfy.

The same :class:`BacktestSettings` comes from a TOML file (``[backtest]`` table or top level),
from command-line flags or from the dashboard's form: all three go through
:func:`backtest_settings_from`, which structures the values and applies every rule that does
not need the recording (:func:`check_settings`). The rules that do (paths holding frames,
the time range, known assets) live in :func:`validate_backtest` in ``_inputs``. Each rule
that fails raises one :class:`~arbitrade.config.ConfigError` naming ``backtest.<field>``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs

from arbitrade.backtest._latency import load_round_trips
from arbitrade.config import ConfigError, structure_component
from arbitrade.graph import GraphSettings
from arbitrade.risk import RiskSettings

LATENCY_MODELS: Final = ("fixed", "uniform", "lognormal", "recorded")
"""``fixed``: every order takes ``order_latency_ms``; ``uniform``: uniformly within
``order_latency_ms`` +/- ``latency_jitter_ms``; ``lognormal``: a right-skewed seeded draw with
median ``order_latency_ms`` and spread ``latency_jitter_ms``; ``recorded``: half of a round
trip drawn (seeded, interpolated) from the order round trips of ``latency_source``."""
FILL_MODELS: Final = ("depth", "top")
"""``depth``: an order walks every displayed level it crosses; ``top``: only the best level."""
STRATEGIES: Final = ("triangular",)
SPECIAL_FEE_PROFILES: Final = ("custom", "kraken")
"""``custom``: ``maker_fee_bps``/``taker_fee_bps`` for every pair; ``kraken``: the fees file's
default profile for crypto pairs and its stable profile for fiat/stablecoin/pegged pairs."""
DEFAULT_FEES_PATH: Final = Path("config/fees.toml")


def _empty_dict() -> dict[str, Any]:
    return {}


def _default_balances() -> dict[str, Decimal]:
    return {"USD": Decimal(10_000)}


@attrs.frozen(kw_only=True)
class BacktestSettings:
    """Every option of one backtest. Build it with :func:`backtest_settings_from`.

    Money is exact (``Decimal``); latencies are milliseconds (floats: they are a model).
    """

    events: tuple[str, ...] = ()
    """Recorded frames to replay: Parquet files, folders holding them, or glob patterns."""
    start: str = ""
    """First instant traded, ISO 8601 (``2024-05-01T10:00:00Z``); empty: the recording's
    start. Frames before it are still replayed (books need their snapshots) with trading off."""
    end: str = ""
    """Instant the replay stops (exclusive), ISO 8601; empty: the recording's end."""
    symbols: tuple[str, ...] = ()
    """Pairs to trade and replay (v2 names, ``BTC/USD``); empty: every pair recorded."""
    home: str = "USD"
    """Home currency: cycles start and end in it, PnL and equity are counted in it."""
    balances: dict[str, Decimal] = attrs.field(factory=_default_balances)
    """Starting balance per asset (v2 names), e.g. ``{"USD": 10000, "BTC": 0.1}``."""
    capital: Decimal = Decimal(1000)
    """Trade capital: the most home currency one cycle may start with (and the risk gate's
    cycle and leg notional limits). Positive and at most the home balance."""
    fee_profile: str = "kraken"
    """A profile of the fees file (``spot_volume``, ``stablecoin_fx``), ``kraken`` (volume
    tiers for crypto pairs, the flat stablecoin/FX schedule for the others) or ``custom``."""
    fee_volume: Decimal = Decimal(0)
    """30-day volume that selects the tier of a volume-tiered profile."""
    maker_fee_bps: Decimal = Decimal(25)
    """Maker fee of the ``custom`` profile, in basis points."""
    taker_fee_bps: Decimal = Decimal(40)
    """Taker fee of the ``custom`` profile, in basis points."""
    fees_path: Path = DEFAULT_FEES_PATH
    """The fee profiles file (shared with the simulator and the graph)."""
    latency_model: str = "fixed"
    """How long an order takes to reach the market: ``fixed``, ``uniform``, ``lognormal`` or
    ``recorded`` (drawn from the round trips in ``latency_source``)."""
    latency_source: str = ""
    """The ``recorded`` model's round trips: a run's DuckDB file (its ``orders`` table; copy
    the file of a running bot) or a Parquet export of that table. Unused by other models."""
    order_latency_ms: float = 0.0
    """Order latency (the fixed value, the centre or the median of the model)."""
    latency_jitter_ms: float = 0.0
    """Spread of the ``uniform`` and ``lognormal`` models."""
    response_latency_ms: float = 0.0
    """Time from the market's answer to our seeing it (acknowledgements and fills)."""
    fill_model: str = "depth"
    """``depth``: orders walk every displayed level they cross; ``top``: the best level only."""
    strategy: str = "triangular"
    """The strategy replayed."""
    parameters: dict[str, Any] = attrs.field(factory=_empty_dict)
    """The strategy's settings (``config/graph.toml`` keys for triangular), over its defaults."""
    risk: dict[str, Any] = attrs.field(factory=_empty_dict)
    """Risk gate limits (``config/risk.toml`` keys) over the defaults; ``capital`` sets the
    notional limits unless given here."""
    seed: int = 0
    """Seeds every random draw (latency models, the scheduler): same seed, same report."""

    @property
    def start_time(self) -> datetime | None:
        """``start`` as an aware UTC datetime (None when empty)."""
        return parse_instant(self.start, "start") if self.start else None

    @property
    def end_time(self) -> datetime | None:
        """``end`` as an aware UTC datetime (None when empty)."""
        return parse_instant(self.end, "end") if self.end else None


def parse_instant(text: str, field: str) -> datetime:
    """ISO 8601 text as an aware UTC datetime (no zone means UTC).

    Raises:
        ConfigError: the text is not an ISO 8601 date or date-time (names ``backtest.field``).
    """
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        # OverflowError: 0001-01-01T00:00+01:00 has no UTC time.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ConfigError(
            f"backtest.{field}",
            f"expected an ISO 8601 time such as 2024-05-01T10:00:00Z, got {text!r}",
        ) from None


def parse_balances(text: str) -> dict[str, Any]:
    """``"USD=10000,BTC=0.5"`` as a mapping (amounts left as text for structuring).

    Raises:
        ConfigError: an entry is not ``ASSET=amount`` (names ``backtest.balances``).
    """
    balances: dict[str, Any] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        asset, equals, amount = entry.partition("=")
        if not equals or not asset.strip() or not amount.strip():
            raise ConfigError("backtest.balances", f"expected ASSET=amount, got {entry!r}")
        balances[asset.strip()] = amount.strip()
    return balances


def _known_fee_profiles(path: Path) -> tuple[str, ...]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:  # ValueError: not UTF-8 or TOML, a NUL in the path
        raise ConfigError("backtest.fees_path", f"cannot read {path}: {error}") from None
    profiles = data.get("profiles", {})
    return tuple(sorted(profiles)) if isinstance(profiles, dict) else ()


def check_settings(settings: BacktestSettings) -> BacktestSettings:
    """Apply the rules that need no recording; return ``settings`` or raise one ConfigError.

    Rules, in this order: a negative balance; capital not positive or above the home
    balance; an unknown fee profile (or a negative custom fee); a negative latency or an
    unknown latency model; for the ``recorded`` model, a ``latency_source`` that is missing,
    unreadable or holds no order round trip; an unknown fill model or strategy; strategy
    parameters and risk limits that their own settings classes refuse.
    """
    for asset, amount in sorted(settings.balances.items()):
        if amount < 0:
            raise ConfigError(f"backtest.balances.{asset}", f"must be zero or more, got {amount}")
    if settings.capital <= 0:
        raise ConfigError("backtest.capital", f"must be more than zero, got {settings.capital}")
    home_balance = settings.balances.get(settings.home, Decimal(0))
    if settings.capital > home_balance:
        raise ConfigError(
            "backtest.capital",
            f"{settings.capital} exceeds the starting {settings.home} balance of {home_balance}",
        )
    if settings.fee_profile not in SPECIAL_FEE_PROFILES:
        known = _known_fee_profiles(settings.fees_path)
        if settings.fee_profile not in known:
            choices = ", ".join((*SPECIAL_FEE_PROFILES, *known))
            raise ConfigError(
                "backtest.fee_profile",
                f"unknown fee profile {settings.fee_profile!r} (expected one of {choices})",
            )
    for name in ("fee_volume", "maker_fee_bps", "taker_fee_bps"):
        if getattr(settings, name) < 0:
            raise ConfigError(
                f"backtest.{name}", f"must be zero or more, got {getattr(settings, name)}"
            )
    for name in ("order_latency_ms", "latency_jitter_ms", "response_latency_ms"):
        value = getattr(settings, name)
        if not value >= 0:  # NaN fails too
            raise ConfigError(f"backtest.{name}", f"a latency cannot be negative, got {value}")
    _one_of("latency_model", settings.latency_model, LATENCY_MODELS)
    if settings.latency_model == "recorded":
        load_round_trips(settings.latency_source)
    _one_of("fill_model", settings.fill_model, FILL_MODELS)
    _one_of("strategy", settings.strategy, STRATEGIES)
    if settings.start:
        parse_instant(settings.start, "start")
    if settings.end:
        parse_instant(settings.end, "end")
    if settings.start and settings.end and settings.end_time <= settings.start_time:  # type: ignore[operator]
        raise ConfigError(
            "backtest.end", f"the range is empty: {settings.end} is not after {settings.start}"
        )
    graph_settings(settings)
    risk_settings(settings)
    return settings


def _one_of(field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(
            f"backtest.{field}", f"expected one of {', '.join(allowed)}, got {value!r}"
        )


def _nested(cls: type[Any], values: Mapping[str, Any], name: str) -> Any:
    try:
        return structure_component(cls, values, name)
    except ConfigError as error:
        raise _named(error, name) from None


def _named(error: ConfigError, name: str) -> ConfigError:
    """``backtest: backtest.x: problem`` (attrs validator text) as ``backtest.x: problem``."""
    head, sep, rest = error.problem.partition(": ")
    if sep and " " not in head and "." in head:
        field = head.split(".", 1)[1]
        return ConfigError(f"{name}.{field}", rest)
    if error.problem.startswith("Extra fields in constructor"):
        extra = error.problem.rsplit(":", 1)[-1].strip()
        return ConfigError(f"{name}.{extra}", "is not a known setting")
    return error


def graph_settings(settings: BacktestSettings) -> GraphSettings:
    """The strategy's settings: ``parameters`` over the defaults; the home currency only.

    Raises:
        ConfigError: a parameter the graph's settings refuse (``backtest.parameters.<key>``).
    """
    values = dict(settings.parameters)
    values.setdefault("fees_path", str(settings.fees_path))
    # cycles through other homes could only be refused by the gate (home mismatch)
    values.setdefault("home_currencies", [settings.home])
    graph: GraphSettings = _nested(GraphSettings, values, "backtest.parameters")
    return graph


def risk_settings(settings: BacktestSettings) -> RiskSettings:
    """Risk limits: ``risk`` over the defaults, with ``capital`` as the notional limits.

    Raises:
        ConfigError: a limit the risk settings refuse (``backtest.risk.<key>``).
    """
    values: dict[str, Any] = {
        "home_asset": settings.home,
        "max_cycle_notional": str(settings.capital),
        "max_leg_notional": str(settings.capital),
    }
    values.update(settings.risk)
    risk: RiskSettings = _nested(RiskSettings, values, "backtest.risk")
    return risk


def backtest_settings_from(values: Mapping[str, Any]) -> BacktestSettings:
    """Structure ``values`` (a TOML table, parsed flags or a form) and check them.

    Text is accepted where a form or a flag gives text: ``events`` and ``symbols`` as comma
    separated text, ``balances`` as ``ASSET=amount,...``, ``parameters``/``risk`` as
    mappings. Empty form fields (``""``) mean the default.

    Raises:
        ConfigError: the first violated rule, naming ``backtest.<field>``.
    """
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if value is None or (
            isinstance(value, str) and value.strip() == "" and key not in ("start", "end")
        ):
            continue
        if key in ("events", "symbols") and isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        elif key == "balances" and isinstance(value, str):
            value = parse_balances(value)
        cleaned[key] = value
    try:
        settings = structure_component(BacktestSettings, cleaned, "backtest")
    except ConfigError as error:
        raise _named(error, "backtest") from None
    return check_settings(settings)


def load_backtest_settings(
    path: Path, overrides: Mapping[str, Any] | None = None
) -> BacktestSettings:
    """Read a backtest TOML file (its ``[backtest]`` table, or the top level) plus overrides.

    Relative ``events`` and ``fees_path`` stay relative to the working directory, as on the
    command line.

    Raises:
        ConfigError: the file is missing or not TOML (naming the file), or a rule fails.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(str(path), f"cannot read the backtest file: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), f"is not valid TOML: {error}") from None
    table = data.get("backtest", data)
    if not isinstance(table, dict):
        raise ConfigError(str(path), "[backtest] must be a table")
    merged = dict(table)
    merged.update(overrides or {})
    return backtest_settings_from(merged)


def settings_as_dict(settings: BacktestSettings) -> dict[str, Any]:
    """The settings as JSON-ready data (Decimals and paths as text), keys sorted."""
    out: dict[str, Any] = {}
    for field in attrs.fields(BacktestSettings):
        value = getattr(settings, field.name)
        out[field.name] = _jsonable(value)
    return dict(sorted(out.items()))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal | Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in sorted(value.items())}
    return value
