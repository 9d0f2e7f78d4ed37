"""Settings of the statistical-arbitrage strategy, from ``config/stat_arb.toml`` (``STAT_ARB_*``).

Validation happens in two steps. :func:`load_stat_arb_settings` checks every rule that the
settings alone decide (windows, thresholds, filter and screen parameters). :func:`check_market`
checks the rules that need the venue: legs that exist and are online, capital within the
balances, and leg notionals above each pair's minimum order and cost. Each violated rule is one
:class:`~arbitrade.config.ConfigError` whose ``setting`` is ``stat_arb.<field>``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs

from arbitrade.config import ConfigError, load_component, structure_component
from arbitrade.messages import Instrument

NAME: Final = "stat_arb"


class HedgeMethod(enum.StrEnum):
    """How the hedge ratio is estimated."""

    OLS = "ols"
    """Ordinary least squares of log y on log x over the last ``window`` observations."""
    KALMAN = "kalman"
    """A Kalman filter whose state (ratio, intercept) is a random walk."""


class ModeSwitchPolicy(enum.StrEnum):
    """What happens to open stat-arb positions when the strategy mode stops allowing stat-arb."""

    MANAGE = "manage"
    """Keep managing them until their own exit, stop or holding time (the default)."""
    CLOSE = "close"
    """Close them at once through the risk gate and the executor."""


def _fail(field: str, problem: str) -> ValueError:
    return ValueError(f"{NAME}.{field}: {problem}")


def _hedge_method(value: Any) -> str:
    return _to_enum(HedgeMethod, "method", value)


def _mode_switch_policy(value: Any) -> str:
    return _to_enum(ModeSwitchPolicy, "on_mode_switch", value)


def _to_enum(cls: type[enum.StrEnum], field: str, value: Any) -> str:
    try:
        return cls(str(value).strip().lower()).value
    except ValueError:
        allowed = ", ".join(member.value for member in cls)
        raise _fail(field, f"must be one of {allowed}, got {value!r}") from None


def _finite(value: float) -> bool:
    return isinstance(value, float | int | Decimal) and math.isfinite(value)


def _positive(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not _finite(value) or not value > 0:
        raise _fail(attribute.name, f"must be a finite number above zero, got {value}")


def _not_negative(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not _finite(value) or value < 0:
        raise _fail(attribute.name, f"must be a finite number of zero or more, got {value}")


def _at_least_two(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 2:
        raise _fail(attribute.name, f"must be at least 2, got {value}")


def _open_unit_interval(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not _finite(value) or not 0.0 < value < 1.0:
        raise _fail(attribute.name, f"must be strictly between 0 and 1, got {value}")


@attrs.frozen(kw_only=True)
class PairSpec:
    """Two legs whose log prices move together: ``y`` is hedged by ``x``.

    The spread is ``log p_y - (intercept + ratio * log p_x)``. A leg quoted in another currency
    than the home asset names an FX pair (``*_fx``, base = the leg's quote, quote = home) whose
    mid converts its price to the home asset: BTC/EUR joined to BTC/USD through EUR/USD. FX
    pairs are read, never traded.
    """

    y: str
    """The dependent leg (v2 symbol, e.g. ``ETH/USD``)."""
    x: str
    """The hedging leg."""
    y_fx: str = ""
    """FX pair converting ``y``'s quote to the home asset; empty when ``y`` is quoted in it."""
    x_fx: str = ""
    """FX pair converting ``x``'s quote to the home asset; empty when ``x`` is quoted in it."""

    @property
    def name(self) -> str:
        """``Y~X``: how logs, messages and the dashboard name the pair."""
        return f"{self.y}~{self.x}"

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every symbol whose book the pair reads: the legs, then their FX pairs."""
        return tuple(s for s in (self.y, self.x, self.y_fx, self.x_fx) if s)


def _check_pairs(_: object, attribute: attrs.Attribute[Any], pairs: tuple[PairSpec, ...]) -> None:
    seen: set[str] = set()
    for index, pair in enumerate(pairs):
        if not pair.y or not pair.x:
            raise _fail(f"pairs[{index}]", "needs both legs y and x")
        if pair.y == pair.x:
            raise _fail(f"pairs[{index}].x", f"must differ from y, both are {pair.y!r}")
        if pair.name in seen:
            raise _fail(f"pairs[{index}]", f"{pair.name} is configured twice")
        seen.add(pair.name)


def _check_zscore_window(instance: Any, attribute: attrs.Attribute[int], value: int) -> None:
    _at_least_two(instance, attribute, value)
    if value > instance.window:
        raise _fail(attribute.name, f"must not exceed window ({instance.window}), got {value}")


def _check_exit(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not _finite(value) or value < 0:
        raise _fail(attribute.name, f"must be a finite number of zero or more, got {value}")


def _check_entry(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not _finite(value):
        raise _fail(attribute.name, f"must be finite, got {value}")
    if not instance.exit_z < value:
        raise _fail(attribute.name, f"must be above exit_z ({instance.exit_z}), got {value}")


def _check_stop(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    if not _finite(value):
        raise _fail(attribute.name, f"must be finite, got {value}")
    if not instance.entry_z < value:
        raise _fail(attribute.name, f"must be above entry_z ({instance.entry_z}), got {value}")


def _check_max_half_life(instance: Any, attribute: attrs.Attribute[float], value: float) -> None:
    _positive(instance, attribute, value)
    if not instance.screen_min_half_life_seconds < value:
        raise _fail(
            attribute.name,
            f"must be above screen_min_half_life_seconds "
            f"({instance.screen_min_half_life_seconds}), got {value}",
        )


@attrs.frozen(kw_only=True)
class StatArbSettings:
    """Every parameter of the stat-arb strategy; each has a default.

    Thresholds are in z-score units (standard deviations of the spread over
    ``zscore_window``); times are seconds of the Trio clock; amounts are in ``home_asset``.
    """

    home_asset: str = "USD"
    """The currency of ``capital``; legs are priced in it (directly or through their FX pair)."""
    pairs: tuple[PairSpec, ...] = attrs.field(default=(), validator=_check_pairs)
    """The pairs to trade (TOML: ``[[pairs]]`` tables with ``y``, ``x`` and optional FX)."""
    method: str = attrs.field(default=HedgeMethod.OLS, converter=_hedge_method)
    """``ols`` (rolling least squares over ``window``) or ``kalman``."""
    window: int = attrs.field(default=180, validator=_at_least_two)
    """Observations in the rolling OLS fit; with Kalman, the warm-up before trading."""
    zscore_window: int = attrs.field(default=180, validator=_check_zscore_window)
    """Observations of the spread whose mean and sample deviation give the z-score."""
    sample_interval_seconds: float = attrs.field(default=1.0, validator=_not_negative)
    """Least time between two observations of a pair (0: every change of a leg's mid)."""
    exit_z: float = attrs.field(default=0.2, validator=_check_exit)
    """A position exits once the z-score is back inside this (or beyond it, on the other side)."""
    entry_z: float = attrs.field(default=2.0, validator=_check_entry)
    """A flat pair enters when ``|z|`` reaches this (and is still below ``stop_z``)."""
    stop_z: float = attrs.field(default=4.0, validator=_check_stop)
    """A position is stopped out when the z-score moves this far against it."""
    max_holding_seconds: float = attrs.field(default=3600.0, validator=_positive)
    """A position still open this long after it was entered is closed."""
    cooldown_seconds: float = attrs.field(default=300.0, validator=_not_negative)
    """After a stop, the pair does not enter again for this long."""
    reject_backoff_seconds: float = attrs.field(default=10.0, validator=_not_negative)
    """After the risk gate refuses an intent, the pair waits this long before another."""
    capital: Decimal = attrs.field(default=Decimal(200), validator=_positive)
    """Gross notional of one position (both legs together), in ``home_asset``."""
    limit_slippage_bps: Decimal = attrs.field(default=Decimal(10), validator=_not_negative)
    """Limit prices sit this far beyond the touch (above the ask to buy, below the bid to sell)."""
    kalman_delta: float = attrs.field(default=1e-4, validator=_open_unit_interval)
    """Kalman: the state's random-walk covariance is ``delta / (1 - delta)`` times identity."""
    kalman_observation_noise: float = attrs.field(default=1e-3, validator=_positive)
    """Kalman: R, the variance of the observation noise on log y."""
    screen_enabled: bool = False
    """Trade a pair only while its cointegration screen passes (none before the first result)."""
    screen_max_pvalue: float = attrs.field(default=0.05, validator=_open_unit_interval)
    """The Engle-Granger test's p-value must be below this."""
    screen_min_half_life_seconds: float = attrs.field(default=5.0, validator=_positive)
    """The spread's half-life of mean reversion must be at least this..."""
    screen_max_half_life_seconds: float = attrs.field(
        default=3600.0, validator=_check_max_half_life
    )
    """...and at most this."""
    screen_interval_seconds: float = attrs.field(default=60.0, validator=_positive)
    """How often the screen is recomputed (off the hot path) once a window is full."""
    on_mode_switch: str = attrs.field(
        default=ModeSwitchPolicy.MANAGE,
        converter=_mode_switch_policy,
    )
    """When the strategy mode turns stat-arb off: ``manage`` (default) keeps open positions
    until their exit, stop or holding time, since closing at once crosses the spread at
    whatever z it has and the stop and holding time already bound the risk; ``close`` sends
    closing intents at once. New entries stop under both."""

    @property
    def hedge_method(self) -> HedgeMethod:
        """``method`` as an enum."""
        return HedgeMethod(self.method)

    @property
    def mode_switch_policy(self) -> ModeSwitchPolicy:
        """``on_mode_switch`` as an enum."""
        return ModeSwitchPolicy(self.on_mode_switch)


def _clean(error: ConfigError) -> ConfigError:
    """``stat_arb: stat_arb.window: ...`` (an attrs validator) becomes ``stat_arb.window: ...``."""
    head, separator, rest = error.problem.partition(": ")
    if separator and head.startswith(f"{NAME}."):
        return ConfigError(head, rest)
    return error


def load_stat_arb_settings(
    *,
    config_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> StatArbSettings:
    """Load from ``config/stat_arb.toml`` then ``STAT_ARB_<FIELD>`` env, then ``overrides``.

    Raises:
        ConfigError: one violated rule, ``setting`` naming ``stat_arb.<field>``.
    """
    try:
        if config_dir is None:
            return load_component(StatArbSettings, NAME, environ=environ, overrides=overrides)
        return load_component(
            StatArbSettings, NAME, config_dir=config_dir, environ=environ, overrides=overrides
        )
    except ConfigError as error:
        raise _clean(error) from None


def structure_stat_arb_settings(values: Mapping[str, Any]) -> StatArbSettings:
    """Build settings from a plain mapping (a form, a sweep point).

    Raises:
        ConfigError: one violated rule, ``setting`` naming ``stat_arb.<field>``.
    """
    try:
        return structure_component(StatArbSettings, values, NAME)
    except ConfigError as error:
        raise _clean(error) from None


def _leg_instrument(setting: str, symbol: str, instruments: Mapping[str, Instrument]) -> Instrument:
    instrument = instruments.get(symbol)
    if instrument is None:
        raise ConfigError(setting, f"no instrument {symbol!r} on the venue")
    if not instrument.online:
        raise ConfigError(setting, f"{symbol} is not online (status {instrument.status!r})")
    return instrument


def check_market(
    settings: StatArbSettings,
    instruments: Mapping[str, Instrument],
    balances: Mapping[str, Decimal],
    prices: Mapping[str, Decimal] | None = None,
) -> None:
    """Check the rules that need the venue: the second validation step.

    Args:
        instruments: by symbol, as the instrument channel lists them.
        balances: by asset; ``capital`` times the number of pairs must fit in the home balance
            (every pair may hold a position at once).
        prices: mid price per leg symbol in the home asset, when known. The minimum order
            (``qty_min``) needs a price; without one only the minimum cost is checked. Each
            leg's notional is taken at a hedge ratio of 1 (half the capital); at run time a
            ratio that pushes a leg below its minimum skips the entry (``below_minimum``).

    Raises:
        ConfigError: the first violated rule, naming the setting.
    """
    home = settings.home_asset
    prices = prices or {}
    leg_notional = settings.capital / 2
    for index, pair in enumerate(settings.pairs):
        for role in ("y", "x"):
            setting = f"{NAME}.pairs[{index}].{role}"
            symbol = getattr(pair, role)
            fx_symbol = getattr(pair, f"{role}_fx")
            leg = _leg_instrument(setting, symbol, instruments)
            fx_price = Decimal(1)
            if fx_symbol:
                fx = _leg_instrument(f"{setting}_fx", fx_symbol, instruments)
                if fx.base != leg.quote or fx.quote != home:
                    raise ConfigError(
                        f"{setting}_fx",
                        f"must be {leg.quote}/{home} to price {symbol} in {home}, got {fx_symbol}",
                    )
                fx_price = prices.get(fx_symbol, Decimal(0))
            elif leg.quote != home:
                raise ConfigError(
                    setting,
                    f"{symbol} is quoted in {leg.quote}, not {home}: name an FX pair in {role}_fx",
                )
            if fx_price > 0 and leg_notional < leg.cost_min * fx_price:
                raise ConfigError(
                    f"{NAME}.capital",
                    f"{leg_notional} {home} per leg is below {symbol}'s minimum cost "
                    f"{leg.cost_min} {leg.quote}",
                )
            price = prices.get(symbol)
            if price is not None and leg_notional < leg.qty_min * price:
                raise ConfigError(
                    f"{NAME}.capital",
                    f"{leg_notional} {home} per leg is below {symbol}'s minimum order "
                    f"{leg.qty_min} {leg.base} (about {leg.qty_min * price} {home})",
                )
    needed = settings.capital * len(settings.pairs)
    have = balances.get(home, Decimal(0))
    if needed > have:
        raise ConfigError(
            f"{NAME}.capital",
            f"{settings.capital} {home} for each of {len(settings.pairs)} pairs ({needed}) is "
            f"above the {home} balance {have}",
        )
