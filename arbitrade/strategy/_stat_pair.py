"""One traded pair: its hedge estimate, z-score, position state machine and order intents.

:class:`PairModel` is pure (no actors, no clock): the caller passes Trio times in and gets
intents back. An *observation* is taken when a leg's (or FX pair's) book changes, every book
of the pair has a touch, and at least ``sample_interval_seconds`` passed since the previous
one. Each observation updates the hedge estimate on log mids in the home asset (rolling OLS;
or Kalman, started from the OLS fit once the first window is full), then the spread
``log y - intercept - ratio * log x`` (with the estimate that includes this observation) and
its z-score over ``zscore_window`` spreads. Trading starts once ``window`` observations and a
full z-score window are in.

Position states: ``flat`` → (entry intent) ``opening`` → (cycle finished with holdings)
``open`` → (close intent) ``closing`` → (cycle finished, nothing left) ``flat``. Holdings
are the sum of our fills, so an unwound or partly filled cycle is tracked as it really is. A
refused or failed intent returns to the previous state and waits ``reject_backoff_seconds``.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Final

import structlog

from arbitrade.messages import (
    BookTop,
    CycleFinished,
    Fill,
    Instrument,
    Leg,
    Opportunity,
    Side,
)
from arbitrade.strategy._stat_estimators import (
    HedgeEstimate,
    KalmanHedge,
    RollingOls,
    RollingZScore,
)
from arbitrade.strategy._stat_messages import (
    STRATEGY,
    ClosePosition,
    PairSnapshot,
    ScreenRequest,
    ScreenResult,
)
from arbitrade.strategy._stat_settings import (
    HedgeMethod,
    ModeSwitchPolicy,
    PairSpec,
    StatArbSettings,
)
from arbitrade.strategy._stat_signals import Direction, ExitReason, SignalRules
from arbitrade.strategy._stat_sizing import (
    LegQuote,
    SizingRefused,
    closing_legs,
    entry_legs,
    is_dust,
)

_log = structlog.get_logger("arbitrade.strategy.stat_arb")
_ZERO: Final = Decimal(0)

type Intent = Opportunity | ClosePosition


class PositionState(enum.StrEnum):
    """Where a pair's position is in its life."""

    FLAT = "flat"
    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"


class _Touch:
    """The best bid and ask of one book, as integer ticks, and its float mid."""

    __slots__ = ("ask", "bid", "mid", "precision", "received_at")
    bid: int
    ask: int
    precision: int
    received_at: float
    mid: float

    def __init__(self, bid: int, ask: int, precision: int, received_at: float) -> None:
        self.bid, self.ask, self.precision, self.received_at = bid, ask, precision, received_at
        self.mid = (bid + ask) * 0.5 / 10**precision

    def decimal(self, ticks: int) -> Decimal:
        return Decimal(ticks).scaleb(-self.precision)


class PairModel:
    """Statistics, signals and position of one configured pair (see the module docstring).

    Args:
        instruments: must hold every symbol of ``spec`` (run ``check_market`` first).
        new_id: returns a fresh, unique opportunity id on each call.

    Raises:
        KeyError: a symbol of ``spec`` is missing from ``instruments``.
    """

    def __init__(
        self,
        spec: PairSpec,
        settings: StatArbSettings,
        instruments: Mapping[str, Instrument],
        new_id: Callable[[], str],
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.settings = settings
        self.rules = SignalRules.from_settings(settings)
        self._instruments = {symbol: instruments[symbol] for symbol in spec.symbols}
        self._new_id = new_id
        self._kalman_mode = settings.hedge_method is HedgeMethod.KALMAN
        self._ols = RollingOls(settings.window)
        self._kalman: KalmanHedge | None = None
        self._zscore = RollingZScore(settings.zscore_window)
        self._history: deque[tuple[float, float, float]] = deque(maxlen=settings.window)
        self._touches: dict[str, _Touch] = {}
        self._last_observed_at = -math.inf
        self.observations = 0
        self.estimate: HedgeEstimate | None = None
        self.spread: float | None = None
        self.z: float | None = None
        self.state = PositionState.FLAT
        self.direction: Direction | None = None
        self.position_id = ""
        self.intent_id = ""
        self.entered_at = 0.0
        self.holdings: dict[str, Decimal] = {spec.y: _ZERO, spec.x: _ZERO}
        self.blocked_until = -math.inf
        self.retry_at = -math.inf
        self.active = True
        self.screen: ScreenResult | None = None
        self._next_screen_at = -math.inf

    # --- market data ------------------------------------------------------------------------
    def on_book(self, top: BookTop, now: float) -> list[Intent]:
        """Fold in one book change of the pair; intents it triggers (usually none)."""
        if top.bids and top.asks:
            self._touches[top.symbol] = _Touch(
                top.bids[0][0], top.asks[0][0], top.price_precision, top.received_at
            )
        else:
            self._touches.pop(top.symbol, None)
        z: float | None = None
        if now - self._last_observed_at >= self.settings.sample_interval_seconds and len(
            self._touches
        ) == len(self._instruments):
            z = self._observe(now)
        return self.evaluate(now, top.received_at, z)

    def _mid_home(self, symbol: str, fx: str) -> float:
        mid = self._touches[symbol].mid
        return mid * self._touches[fx].mid if fx else mid

    def _observe(self, now: float) -> float | None:
        """Take one observation; the z-score when the pair is ready to trade on it."""
        spec = self.spec
        log_y = math.log(self._mid_home(spec.y, spec.y_fx))
        log_x = math.log(self._mid_home(spec.x, spec.x_fx))
        self._last_observed_at = now
        self.observations += 1
        self._history.append((now, log_x, log_y))
        if self._kalman is not None:
            estimate: HedgeEstimate | None = self._kalman.update(log_x, log_y)
        else:
            estimate = self._ols.update(log_x, log_y)
            if self._kalman_mode and estimate is not None and self._ols.full:
                self._kalman = KalmanHedge(
                    self.settings.kalman_delta,
                    self.settings.kalman_observation_noise,
                    ratio=estimate.ratio,
                    intercept=estimate.intercept,
                )
        self.estimate = estimate
        if estimate is None or not math.isfinite(estimate.ratio):
            self.spread = self.z = None
            return None
        self.spread = estimate.spread(log_x, log_y)
        self.z = self._zscore.update(self.spread)
        if self.observations < self.settings.window:
            return None
        return self.z

    # --- decisions ---------------------------------------------------------------------------
    def evaluate(self, now: float, received_at: float, z: float | None) -> list[Intent]:
        """Apply the signal rules to a fresh z-score (``None``: no new observation, so only
        the holding time and the mode apply); what an observation does after its statistics.
        """
        if self.state is PositionState.OPEN and self.direction is not None:
            reason: ExitReason | None
            if not self.active and self.settings.mode_switch_policy is ModeSwitchPolicy.CLOSE:
                reason = ExitReason.MODE_SWITCH
            else:
                reason = self.rules.exit(self.direction, z, now - self.entered_at)
            if reason is not None and now >= self.retry_at:
                return self._close(reason, now, received_at)
        elif (
            self.state is PositionState.FLAT
            and self.active
            and z is not None
            and now >= self.blocked_until
            and self.screen_allows
        ):
            direction = self.rules.entry(z)
            if direction is not None:
                return self._open(direction, z, now, received_at)
        return []

    @property
    def screen_allows(self) -> bool:
        """True when the screen is off or its last result passed."""
        if not self.settings.screen_enabled:
            return True
        return self.screen is not None and self.screen.passed

    def _quote(self, symbol: str, fx: str) -> LegQuote | None:
        touch = self._touches.get(symbol)
        fx_touch = self._touches.get(fx) if fx else None
        if touch is None or (fx and fx_touch is None):
            return None
        fx_mid = (
            (fx_touch.decimal(fx_touch.bid) + fx_touch.decimal(fx_touch.ask)) / 2
            if fx_touch is not None
            else Decimal(1)
        )
        return LegQuote(
            self._instruments[symbol], touch.decimal(touch.bid), touch.decimal(touch.ask), fx_mid
        )

    def _quotes(self) -> dict[str, LegQuote]:
        quotes = {}
        for symbol, fx in ((self.spec.y, self.spec.y_fx), (self.spec.x, self.spec.x_fx)):
            quote = self._quote(symbol, fx)
            if quote is not None:
                quotes[symbol] = quote
        return quotes

    def _opportunity(
        self, legs: tuple[Leg, ...], quotes: Mapping[str, LegQuote], now: float, received_at: float
    ) -> Opportunity:
        notional = sum((leg.qty * quotes[leg.symbol].mid_home for leg in legs), _ZERO)
        ages = tuple(
            max(0.0, now - self._touches[symbol].received_at)
            for symbol in self.spec.symbols
            if symbol in self._touches
        )
        return Opportunity(
            id=self._new_id(),
            strategy=STRATEGY,
            home=self.settings.home_asset,
            legs=legs,
            start_amount=notional,
            end_amount=notional,
            profit=_ZERO,
            profit_bps=_ZERO,
            book_ages=ages,
            received_at=received_at,
            detected_at=now,
        )

    def _open(self, direction: Direction, z: float, now: float, received_at: float) -> list[Intent]:
        assert self.estimate is not None
        quotes = self._quotes()
        y, x = quotes.get(self.spec.y), quotes.get(self.spec.x)
        sized: tuple[Leg, Leg] | SizingRefused = SizingRefused.NO_PRICE
        if y is not None and x is not None:
            sized = entry_legs(
                direction,
                self.estimate.ratio,
                self.settings.capital,
                y,
                x,
                self.settings.limit_slippage_bps,
            )
        if isinstance(sized, SizingRefused):
            self.blocked_until = now + self.settings.reject_backoff_seconds
            _log.info("stat_arb.entry_refused", pair=self.name, reason=sized.value, z=z)
            return []
        opportunity = self._opportunity(sized, quotes, now, received_at)
        self.state = PositionState.OPENING
        self.direction = direction
        self.position_id = self.intent_id = opportunity.id
        self.entered_at = now
        _log.info(
            "stat_arb.entry",
            pair=self.name,
            direction=direction.value,
            z=round(z, 4),
            ratio=self.estimate.ratio,
            opportunity_id=opportunity.id,
        )
        return [opportunity]

    def _close(self, reason: ExitReason, now: float, received_at: float) -> list[Intent]:
        if self.flat_holdings():
            self._become_flat()
            _log.info("stat_arb.closed_as_dust", pair=self.name, reason=reason.value)
            return []
        quotes = self._quotes()
        legs = closing_legs(self.holdings, quotes, self.settings.limit_slippage_bps)
        if not legs:
            self.retry_at = now + self.settings.reject_backoff_seconds
            _log.info("stat_arb.close_deferred", pair=self.name, reason=reason.value)
            return []
        opportunity = self._opportunity(legs, quotes, now, received_at)
        self.state = PositionState.CLOSING
        self.intent_id = opportunity.id
        self.blocked_until = max(self.blocked_until, self.rules.blocked_until(reason, now))
        _log.info(
            "stat_arb.exit",
            pair=self.name,
            reason=reason.value,
            z=None if self.z is None else round(self.z, 4),
            held_s=round(now - self.entered_at, 3),
            opportunity_id=opportunity.id,
            position_id=self.position_id,
        )
        return [ClosePosition(opportunity, self.name, self.position_id, reason.value)]

    def _become_flat(self) -> None:
        self.state = PositionState.FLAT
        self.direction = None
        self.intent_id = ""

    def flat_holdings(self) -> bool:
        """True when every leg's holding is too small to trade back (dust or zero)."""
        return all(
            is_dust(held, self._instruments[symbol]) for symbol, held in self.holdings.items()
        )

    # --- execution feedback ------------------------------------------------------------------
    def on_fill(self, fill: Fill, now: float) -> None:
        """Add one of our fills to the holdings (buys add, sells subtract)."""
        if fill.symbol not in self.holdings:
            return
        signed = fill.qty if fill.side is Side.BUY else -fill.qty
        self.holdings[fill.symbol] += signed
        if self.state is PositionState.FLAT and not self.flat_holdings():
            # A fill that arrives after its cycle was reported finished: we hold something.
            self.state = PositionState.OPEN
            self.retry_at = now
            _log.warning("stat_arb.late_fill", pair=self.name, cycle_id=fill.cycle_id)

    def on_rejected(self, opportunity_id: str, now: float) -> None:
        """The risk gate refused our current intent: back off, keep the previous state."""
        if opportunity_id != self.intent_id:
            return
        if self.state is PositionState.OPENING:
            self._become_flat()
            self.blocked_until = max(self.blocked_until, now + self.settings.reject_backoff_seconds)
        elif self.state is PositionState.CLOSING:
            self.state = PositionState.OPEN
            self.retry_at = now + self.settings.reject_backoff_seconds
        _log.info("stat_arb.intent_rejected", pair=self.name, opportunity_id=opportunity_id)

    def on_cycle_finished(self, finished: CycleFinished, now: float) -> list[Intent]:
        """Our current intent's orders are done: settle the state from the holdings."""
        if finished.cycle_id != self.intent_id:
            return []
        flat = self.flat_holdings()
        if self.state is PositionState.OPENING:
            if flat:
                self._become_flat()
                self.blocked_until = max(
                    self.blocked_until, now + self.settings.reject_backoff_seconds
                )
            else:
                self.state = PositionState.OPEN
        elif self.state is PositionState.CLOSING:
            if flat:
                self._become_flat()
            else:
                self.state = PositionState.OPEN
                self.retry_at = now + self.settings.reject_backoff_seconds
        _log.info(
            "stat_arb.cycle_settled",
            pair=self.name,
            cycle_id=finished.cycle_id,
            outcome=finished.outcome,
            state=self.state.value,
        )
        return self.evaluate(now, now, None)

    def set_active(self, active: bool, now: float) -> list[Intent]:
        """The strategy mode allows (or stops allowing) stat-arb; intents that follows.

        Inactive: no new entries; open positions are closed at once under the ``close``
        policy, else kept and managed to their exit. A position still opening is handled the
        same way once it is open.
        """
        self.active = active
        return self.evaluate(now, now, None)

    # --- screen and display ------------------------------------------------------------------
    def screen_request(self, now: float) -> ScreenRequest | None:
        """A screen of the last window when one is due (screen on, window full), else None."""
        if (
            not self.settings.screen_enabled
            or len(self._history) < self.settings.window
            or now < self._next_screen_at
        ):
            return None
        self._next_screen_at = now + self.settings.screen_interval_seconds
        times, log_x, log_y = zip(*self._history, strict=True)
        return ScreenRequest(self.name, tuple(log_y), tuple(log_x), tuple(times))

    def on_screen_result(self, result: ScreenResult) -> None:
        """Keep the latest screen result (it gates entries, never exits)."""
        if self.screen is None or self.screen.passed != result.passed:
            _log.info(
                "stat_arb.screen_changed",
                pair=self.name,
                passed=result.passed,
                p_value=round(result.p_value, 6),
                half_life_s=result.half_life_seconds,
            )
        self.screen = result

    def snapshot(self, now: float) -> PairSnapshot:
        """What the dashboard shows for this pair now."""
        estimate = self.estimate
        return PairSnapshot(
            pair=self.name,
            ratio=None if estimate is None else estimate.ratio,
            intercept=None if estimate is None else estimate.intercept,
            spread=self.spread,
            z=self.z,
            observations=self.observations,
            state=self.state.value,
            direction="" if self.direction is None else self.direction.value,
            holdings=tuple(self.holdings.items()),
            screen_passed=None if self.screen is None else self.screen.passed,
            at=now,
        )
