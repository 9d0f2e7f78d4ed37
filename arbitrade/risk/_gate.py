"""The risk gate's state and decisions, free of actors and clocks (times are passed in).

:class:`RiskGateCore` keeps what the checks need: the kill switch, strategy modes, today's
realised PnL, balances from the portfolio less what accepted cycles reserved, live orders and
cycles, per-pair cool-downs, the modelled trading rate counter and each book's health as the
book feed announced it. :meth:`RiskGateCore.decide` turns an opportunity into RiskAccepted or
RiskRejected plus one AuditEvent; the other methods fold in what the executor, the portfolio
and the book feed publish. The actor in ``_actor.py`` only routes.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final

import attrs
import orjson

from arbitrade.config import ConfigError, structure_component
from arbitrade.messages import (
    AuditEvent,
    BookStateChanged,
    ControlChanged,
    CycleFinished,
    Opportunity,
    OrderUpdate,
    PortfolioSnapshot,
    RiskAccepted,
    RiskRejected,
    StrategyMode,
)
from arbitrade.risk._book_states import BookStates
from arbitrade.risk._checks import CHECKS, CLOSE_CHECKS, Rejection, RejectReason, RiskView, evaluate
from arbitrade.risk._legs import net_home_profit, spend_by_asset
from arbitrade.risk._memory import RiskMemory
from arbitrade.risk._messages import CancelAllOrders, CycleInFlight
from arbitrade.risk._rate_counter import (
    ADD_ORDER_COST,
    TIER_LIMITS,
    TradingRateCounter,
    cancel_penalty,
)
from arbitrade.risk._settings import RiskSettings

ACTOR_NAME: Final = "risk_gate"
CAUSE_DAILY_LOSS: Final = "daily_loss_limit"
CLIENT_CANCEL_REASONS: Final = frozenset({"user_requested"})
"""OrderUpdate reasons that mean we cancelled (and paid Kraken's cancel penalty)."""
_REMEMBERED_IDS: Final = 100_000
DECIDED_HORIZON_SECONDS: Final = 300.0
"""How long a decided opportunity id is remembered (at least; twice ``max_book_age_seconds``
if that is longer). A decision needs every leg's book younger than ``max_book_age_seconds``
since detection (:func:`~arbitrade.risk._checks.check_book_age`, in the close checks too), so
an id older than that can never be accepted again: a later replay is refused as stale. Found
by the 30-minute soak's memory check: remembered by count only (100,000), the ids of ~70k
opportunities an hour grew the gate by ~15 MB over its first 90 minutes."""


@functools.lru_cache(maxsize=8)
def _day_name(day_number: int) -> str:
    return dt.datetime.fromtimestamp(day_number * 86_400, dt.UTC).date().isoformat()


def utc_day(wall: float) -> str:
    """The UTC calendar day of a Unix time, as ``YYYY-MM-DD``."""
    return _day_name(int(wall // 86_400))


def _json(data: Mapping[str, object]) -> str:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS, default=str).decode()


@attrs.frozen
class Decision:
    """The gate's answer to one opportunity, and the audit row that records it."""

    verdict: RiskAccepted | RiskRejected
    audit: AuditEvent

    @property
    def accepted(self) -> bool:
        """True when the opportunity may go to the executor."""
        return isinstance(self.verdict, RiskAccepted)


@attrs.frozen
class ControlOutcome:
    """What a control change produced.

    ``echo`` is a ControlChanged to publish when the gate itself changed a control (the
    daily loss limit, or the operator's kill switch as the gate applied it); ``audit`` the
    row that records it; ``cancel`` the message for the executor when open orders must go.
    """

    echo: ControlChanged | None
    audit: AuditEvent | None
    cancel: CancelAllOrders | None = None


_TRUE: Final = frozenset({"on", "true", "1", "yes", "engaged"})
_FALSE: Final = frozenset({"off", "false", "0", "no", "released"})
_MODES: Final = {
    StrategyMode.OFF: (False, frozenset[str]()),
    StrategyMode.BOTH: (True, frozenset[str]()),
    StrategyMode.TRIANGULAR: (True, frozenset({StrategyMode.STAT_ARB.value})),
    StrategyMode.STAT_ARB: (True, frozenset({StrategyMode.TRIANGULAR.value})),
}


def _flag(value: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected on or off, got {value!r}")


_NO_CHANGE: Final = ControlOutcome(None, None)


@attrs.define
class _OpenCycle:
    symbols: tuple[str, ...]
    reserved: dict[str, Decimal]
    uncounted_legs: int
    """Legs accepted whose orders the gate has not yet seen on the orders topic."""


@attrs.define
class _LiveOrder:
    symbol: str
    first_seen: float


class RiskGateCore:
    """Risk state and decisions. Not thread-safe; one actor owns it.

    Times (``now``) are Trio-clock seconds; ``wall`` is Unix seconds, used only to find the
    UTC day for the daily loss limit.
    """

    def __init__(self, settings: RiskSettings) -> None:
        self.settings = settings
        self.kill_switch = settings.kill_switch_engaged
        self.kill_cause = "configured" if settings.kill_switch_engaged else ""
        self.trading_enabled = settings.trading_enabled
        self.paused = False
        self.disabled_strategies = set(settings.disabled)
        self._disabled_frozen: frozenset[str] | None = None
        self.rate_counter = TradingRateCounter(settings.tier)
        self._balances: dict[str, Decimal] = {}
        self._cycles: dict[str, _OpenCycle] = {}
        self._orders: dict[str, _LiveOrder] = {}
        self._settled_orders: OrderedDict[str, None] = OrderedDict()
        self._decided: OrderedDict[str, float] = OrderedDict()
        """Opportunity ids decided, oldest first, with when (:data:`DECIDED_HORIZON_SECONDS`)."""
        self._cooldown_until: dict[str, float] = {}
        self._pnl_day = ""
        self._pnl_today = Decimal(0)
        self.books = BookStates()

    # --- memory across restarts ----------------------------------------------------------------
    def save(self, memory: RiskMemory) -> None:
        """Copy the controls, today's PnL and the cool-downs into ``memory``."""
        memory.saved = True
        memory.settings = self.settings
        memory.kill_switch, memory.kill_cause = self.kill_switch, self.kill_cause
        memory.trading_enabled, memory.paused = self.trading_enabled, self.paused
        memory.disabled_strategies = frozenset(self.disabled_strategies)
        memory.pnl_day, memory.pnl_today = self._pnl_day, self._pnl_today
        memory.cooldown_until = dict(self._cooldown_until)

    def load(self, memory: RiskMemory) -> bool:
        """Take the state an earlier gate saved in ``memory``; False (nothing changed) when
        none did."""
        if not memory.saved or memory.settings is None:
            return False
        self.settings = memory.settings
        self.rate_counter.limits = TIER_LIMITS[memory.settings.tier]
        self.kill_switch, self.kill_cause = memory.kill_switch, memory.kill_cause
        self.trading_enabled, self.paused = memory.trading_enabled, memory.paused
        self.disabled_strategies = set(memory.disabled_strategies)
        self._pnl_day, self._pnl_today = memory.pnl_day, memory.pnl_today
        self._cooldown_until = dict(memory.cooldown_until)
        return True

    # --- reading -----------------------------------------------------------------------------
    def pnl_today(self, wall: float) -> Decimal:
        """Realised PnL of the UTC day containing ``wall`` (zero once a new day starts)."""
        return self._pnl_today if utc_day(wall) == self._pnl_day else Decimal(0)

    def available(self) -> dict[str, Decimal]:
        """Balances less every reservation of accepted, unfinished cycles."""
        available = dict(self._balances)
        for cycle in self._cycles.values():
            for asset, amount in cycle.reserved.items():
                available[asset] = available.get(asset, Decimal(0)) - amount
        return available

    @property
    def decided_ids_kept(self) -> int:
        """Opportunity ids remembered as decided (see :data:`DECIDED_HORIZON_SECONDS`)."""
        return len(self._decided)

    @property
    def open_cycles(self) -> int:
        """Cycles accepted and not yet finished."""
        return len(self._cycles)

    @property
    def open_orders(self) -> int:
        """Live orders plus accepted legs whose orders have not been seen yet."""
        return len(self._orders) + sum(c.uncounted_legs for c in self._cycles.values())

    def view(self, now: float, wall: float, opportunity: Opportunity | None = None) -> RiskView:
        """The snapshot the checks read; with ``opportunity``, only its pairs and assets.

        Restricting the per-pair and per-asset maps keeps a decision's cost independent of
        how many pairs and assets the bot has ever touched.
        """
        if opportunity is None:
            available = self.available()
            counters = self.rate_counter.snapshot(now)
            cooldowns = dict(self._cooldown_until)
            books = self.books.snapshot()
        else:
            symbols = {leg.symbol for leg in opportunity.legs}
            assets = {leg.from_asset for leg in opportunity.legs}
            available = self._available(assets)
            counters = {symbol: self.rate_counter.value(symbol, now) for symbol in symbols}
            cooldowns = {s: self._cooldown_until[s] for s in symbols if s in self._cooldown_until}
            books = self.books.of(symbols)
        return RiskView(
            now=now,
            kill_switch=self.kill_switch,
            kill_cause=self.kill_cause,
            trading_enabled=self.trading_enabled,
            paused=self.paused,
            disabled_strategies=self._disabled_view(),
            realised_pnl_today=self.pnl_today(wall),
            open_orders=self.open_orders,
            open_cycles=self.open_cycles,
            available=available,
            rate_counters=counters,
            cooldown_until=cooldowns,
            book_states=books,
        )

    def _disabled_view(self) -> frozenset[str]:
        if self._disabled_frozen is None or self._disabled_frozen != self.disabled_strategies:
            self._disabled_frozen = frozenset(self.disabled_strategies)
        return self._disabled_frozen

    def _reservations(self) -> dict[str, Decimal]:
        """What accepted, unfinished cycles hold, by asset."""
        reserved: dict[str, Decimal] = {}
        for cycle in self._cycles.values():
            for asset, amount in cycle.reserved.items():
                reserved[asset] = reserved.get(asset, Decimal(0)) + amount
        return {asset: round(amount, 12) for asset, amount in sorted(reserved.items())}

    def _available(self, assets: set[str]) -> dict[str, Decimal]:
        available = {asset: self._balances.get(asset, Decimal(0)) for asset in assets}
        for cycle in self._cycles.values():
            for asset, amount in cycle.reserved.items():
                if asset in available:
                    available[asset] -= amount
        return available

    # --- deciding ----------------------------------------------------------------------------
    def decide(
        self, opportunity: Opportunity, now: float, wall: float, *, closing: bool = False
    ) -> Decision:
        """Accept or reject ``opportunity``; on accept, reserve its balances and rate budget.

        ``closing`` marks orders that reduce exposure (a stat-arb ClosePosition): they face
        only :data:`CLOSE_CHECKS`. An opportunity id decided within the last
        :data:`DECIDED_HORIZON_SECONDS`, or whose cycle is still open, is rejected as a
        duplicate; one older than that is too old to pass the book-age check. Either way one
        opportunity can never become two cycles.
        """
        rejection: Rejection | None
        if opportunity.id in self._decided or opportunity.id in self._cycles:
            rejection = Rejection(RejectReason.DUPLICATE, {"opportunity_id": opportunity.id})
        else:
            self._remember_decided(opportunity.id, now)
            checks = CLOSE_CHECKS if closing else CHECKS
            rejection = evaluate(
                opportunity, self.view(now, wall, opportunity), self.settings, checks
            )
        if rejection is not None:
            return self._rejected(opportunity, rejection, now, wall)
        return self._accepted(opportunity, now, wall)

    def _accepted(self, opportunity: Opportunity, now: float, wall: float) -> Decision:
        fee_rate = self.settings.taker_fee_rate
        reserved = spend_by_asset(opportunity, fee_rate)
        self._cycles[opportunity.id] = _OpenCycle(
            symbols=tuple(leg.symbol for leg in opportunity.legs),
            reserved=reserved,
            uncounted_legs=len(opportunity.legs),
        )
        for leg in opportunity.legs:
            self.rate_counter.charge(leg.symbol, ADD_ORDER_COST, now)
        profit, bps = net_home_profit(opportunity, fee_rate)
        detail = {
            "reason": "accepted",
            "strategy": opportunity.strategy,
            "symbols": [leg.symbol for leg in opportunity.legs],
            "start_amount": opportunity.start_amount,
            "reported_bps": opportunity.profit_bps,
            "recomputed_bps": round(bps, 4),
            "recomputed_profit": profit,
            "reserved": {asset: round(amount, 12) for asset, amount in sorted(reserved.items())},
            "open_cycles": self.open_cycles,
            "open_orders": self.open_orders,
            "decision_latency_s": round(now - opportunity.received_at, 9),
        }
        audit = AuditEvent(
            kind="risk.accepted",
            actor=ACTOR_NAME,
            subject=opportunity.id,
            detail=_json(detail),
            at=now,
            at_wall=wall,
        )
        return Decision(RiskAccepted(opportunity=opportunity, at=now), audit)

    def _rejected(
        self, opportunity: Opportunity, rejection: Rejection, now: float, wall: float
    ) -> Decision:
        numbers = dict(rejection.numbers)
        detail: dict[str, object] = {
            "reason": rejection.reason.value,
            "strategy": opportunity.strategy,
            "symbols": [leg.symbol for leg in opportunity.legs],
            **numbers,
        }
        audit = AuditEvent(
            kind="risk.rejected",
            actor=ACTOR_NAME,
            subject=opportunity.id,
            detail=_json(detail),
            at=now,
            at_wall=wall,
        )
        verdict = RiskRejected(
            opportunity_id=opportunity.id,
            reason=rejection.reason.value,
            detail=_json(numbers),
            at=now,
        )
        return Decision(verdict, audit)

    # --- folding in the world ----------------------------------------------------------------
    def on_book_state(self, change: BookStateChanged) -> None:
        """Take the book feed's latest word on one book (checked by ``check_books_live``)."""
        self.books.apply(change)

    def catch_up_books(self, states: Iterable[BookStateChanged]) -> int:
        """Fill in the books not heard about yet from ``states`` (a feed's answer on start);
        returns how many were filled in (see :meth:`BookStates.catch_up`)."""
        return self.books.catch_up(states)

    def on_portfolio(self, snapshot: PortfolioSnapshot) -> None:
        """Take the portfolio's balances as the truth (reservations stay on top of them)."""
        self._balances = dict(snapshot.balances)

    def on_order_update(self, update: OrderUpdate, now: float) -> None:
        """Track live orders; charge the rate counter for orders it has not yet been charged.

        Legs were charged when accepted; any further order of a cycle (an unwind) is charged
        when first seen. A client cancel adds Kraken's age-dependent cancel penalty.
        """
        cl_ord_id = update.cl_ord_id
        if cl_ord_id in self._settled_orders:
            return
        live = self._orders.get(cl_ord_id)
        if live is None:
            live = _LiveOrder(update.symbol, now)
            self._orders[cl_ord_id] = live
            cycle = self._cycles.get(update.cycle_id)
            if cycle is not None and cycle.uncounted_legs > 0:
                cycle.uncounted_legs -= 1
            else:
                self.rate_counter.charge(update.symbol, ADD_ORDER_COST, now)
        if update.state.terminal:
            del self._orders[cl_ord_id]
            self._remember(self._settled_orders, cl_ord_id)
            if update.reason in CLIENT_CANCEL_REASONS:
                penalty = cancel_penalty(now - live.first_seen)
                self.rate_counter.charge(update.symbol, penalty, now)

    def restore_cycles(
        self, cycles: Iterable[CycleInFlight], now: float, wall: float
    ) -> AuditEvent | None:
        """Reserve again for cycles the executor still trades (after a restart of the gate).

        Each cycle not already open here gets its reservation back (as when it was accepted),
        its opportunity id counts as decided (never accepted twice), its live orders count
        toward the open-order limit and are charged to the rate counter once (Kraken still
        counts them; a restarted model would not), and its terminal orders are settled. Later
        updates of those orders are applied as usual, never charged twice. Returns one
        ``risk.restored`` audit event, or None when there was nothing to restore.
        """
        restored: dict[str, list[str]] = {}
        for in_flight in cycles:
            opportunity = in_flight.opportunity
            if opportunity.id in self._cycles:
                continue
            self._remember_decided(opportunity.id, now)
            self._cycles[opportunity.id] = _OpenCycle(
                symbols=tuple(leg.symbol for leg in opportunity.legs),
                reserved=spend_by_asset(opportunity, self.settings.taker_fee_rate),
                uncounted_legs=max(0, len(opportunity.legs) - len(in_flight.orders)),
            )
            live: list[str] = []
            for update in in_flight.orders:
                cl_ord_id = update.cl_ord_id
                if cl_ord_id in self._settled_orders or cl_ord_id in self._orders:
                    continue
                if update.state.terminal:
                    self._remember(self._settled_orders, cl_ord_id)
                    continue
                self._orders[cl_ord_id] = _LiveOrder(update.symbol, now)
                self.rate_counter.charge(update.symbol, ADD_ORDER_COST, now)
                live.append(cl_ord_id)
            restored[opportunity.id] = live
        if not restored:
            return None
        detail = {
            "cycles": restored,
            "open_cycles": self.open_cycles,
            "open_orders": self.open_orders,
            "reserved": self._reservations(),
        }
        return AuditEvent("risk.restored", ACTOR_NAME, "cycles", _json(detail), now, wall)

    def on_cycle_finished(self, finished: CycleFinished, now: float, wall: float) -> ControlOutcome:
        """Release the cycle's reservation, book its PnL, start cool-downs after a failure.

        Returns the kill switch change when today's loss reached the daily limit.
        """
        cycle = self._cycles.pop(finished.cycle_id, None)
        day = utc_day(wall)
        if day != self._pnl_day:
            self._pnl_day, self._pnl_today = day, Decimal(0)
        self._pnl_today += finished.pnl
        if cycle is not None and finished.outcome != "completed":
            for symbol in cycle.symbols:
                self._cooldown_until[symbol] = now + self.settings.cooldown_seconds
        self._forget_expired_cooldowns(now)
        if self._pnl_today <= -self.settings.daily_loss_limit and not self.kill_switch:
            return self.engage(
                CAUSE_DAILY_LOSS,
                now,
                wall,
                cancel_open_orders=self.settings.cancel_open_orders_on_kill,
                numbers={
                    "realised_pnl_today": str(self._pnl_today),
                    "limit": str(self.settings.daily_loss_limit),
                },
            )
        return _NO_CHANGE

    def _forget_expired_cooldowns(self, now: float) -> None:
        for symbol in [s for s, until in self._cooldown_until.items() if until <= now]:
            del self._cooldown_until[symbol]

    # --- controls ----------------------------------------------------------------------------
    def apply_control(self, change: ControlChanged, now: float, wall: float) -> ControlOutcome:
        """Obey an operator's control change; anything not for the gate is ignored.

        ``kill_switch`` takes on/true/engaged or off/false/released; ``paused`` true/false;
        ``strategy_mode`` a :class:`StrategyMode`; ``risk.<field>`` a new value for one
        setting, validated like the file. A value that cannot be obeyed changes nothing and
        is audited as ``control.refused``. Repeating the current value changes nothing.
        """
        setting = change.setting
        try:
            if setting == "kill_switch":
                # the operator's own ControlChanged is already on the bus: no echo
                if _flag(change.value):
                    outcome = self.engage(
                        f"operator:{change.who}",
                        now,
                        wall,
                        cancel_open_orders=self.settings.cancel_open_orders_on_kill,
                    )
                else:
                    outcome = self.release(f"operator:{change.who}", now, wall)
                return attrs.evolve(outcome, echo=None)
            if setting == "paused":
                return self._set_paused(_flag(change.value), change.who, now, wall)
            if setting == "strategy_mode":
                return self._set_strategy_mode(StrategyMode(change.value), change.who, now, wall)
            if setting.startswith("risk."):
                return self._set_risk_field(setting[5:], change.value, change.who, now, wall)
        except (ValueError, ConfigError) as error:
            detail = {"setting": setting, "value": change.value, "problem": str(error)}
            audit = AuditEvent("control.refused", ACTOR_NAME, setting, _json(detail), now, wall)
            return ControlOutcome(None, audit)
        return _NO_CHANGE

    def engage(
        self,
        cause: str,
        now: float,
        wall: float,
        *,
        cancel_open_orders: bool,
        numbers: Mapping[str, str] | None = None,
    ) -> ControlOutcome:
        """Engage the kill switch (idempotent: engaging twice changes nothing).

        The outcome's ``echo`` is a ControlChanged for the bus, ``cancel`` (when asked) the
        message for the executor.
        """
        if self.kill_switch:
            return _NO_CHANGE
        self.kill_switch, self.kill_cause = True, cause
        detail: dict[str, object] = {
            "engaged": True,
            "cause": cause,
            "cancel_open_orders": cancel_open_orders,
        }
        detail.update(numbers or {})
        return ControlOutcome(
            ControlChanged("kill_switch", "on", "off", f"{ACTOR_NAME}:{cause}", now, wall),
            AuditEvent("control.kill_switch", ACTOR_NAME, "kill_switch", _json(detail), now, wall),
            CancelAllOrders(reason=f"kill_switch:{cause}", at=now) if cancel_open_orders else None,
        )

    def release(self, cause: str, now: float, wall: float) -> ControlOutcome:
        """Release the kill switch (idempotent)."""
        if not self.kill_switch:
            return _NO_CHANGE
        self.kill_switch, self.kill_cause = False, ""
        detail = {"engaged": False, "cause": cause}
        return ControlOutcome(
            ControlChanged("kill_switch", "off", "on", f"{ACTOR_NAME}:{cause}", now, wall),
            AuditEvent("control.kill_switch", ACTOR_NAME, "kill_switch", _json(detail), now, wall),
        )

    def _set_paused(self, paused: bool, who: str, now: float, wall: float) -> ControlOutcome:
        if paused == self.paused:
            return _NO_CHANGE
        self.paused = paused
        detail = {"paused": paused, "who": who}
        return ControlOutcome(
            None, AuditEvent("control.paused", ACTOR_NAME, "paused", _json(detail), now, wall)
        )

    def _set_strategy_mode(
        self, mode: StrategyMode, who: str, now: float, wall: float
    ) -> ControlOutcome:
        enabled, disabled = _MODES[mode]
        if (enabled, disabled) == (self.trading_enabled, frozenset(self.disabled_strategies)):
            return _NO_CHANGE
        self.trading_enabled, self.disabled_strategies = enabled, set(disabled)
        detail = {"mode": mode.value, "who": who}
        audit = AuditEvent(
            "control.strategy_mode", ACTOR_NAME, "strategy_mode", _json(detail), now, wall
        )
        return ControlOutcome(None, audit)

    def _set_risk_field(
        self, field: str, value: str, who: str, now: float, wall: float
    ) -> ControlOutcome:
        values = attrs.asdict(self.settings)
        if field not in values:
            raise ValueError(f"risk.{field} is not a risk setting")
        previous = values[field]
        values[field] = value
        settings = structure_component(RiskSettings, values, "risk")
        if settings == self.settings:
            return _NO_CHANGE
        if settings.tier is not self.settings.tier:
            self.rate_counter.limits = TIER_LIMITS[settings.tier]
        self.settings = settings
        detail = {"setting": field, "value": value, "previous": str(previous), "who": who}
        audit = AuditEvent(
            "control.risk_setting", ACTOR_NAME, f"risk.{field}", _json(detail), now, wall
        )
        return ControlOutcome(None, audit)

    def _remember_decided(self, opportunity_id: str, now: float) -> None:
        """Note ``opportunity_id`` as decided at ``now``; forget ids past the horizon (and
        beyond :data:`_REMEMBERED_IDS`, whatever their age)."""
        decided = self._decided
        decided[opportunity_id] = now
        horizon = now - max(DECIDED_HORIZON_SECONDS, 2.0 * self.settings.max_book_age_seconds)
        while len(decided) > _REMEMBERED_IDS or next(iter(decided.values())) < horizon:
            decided.popitem(last=False)

    @staticmethod
    def _remember(seen: OrderedDict[str, None], key: str) -> None:
        seen[key] = None
        if len(seen) > _REMEMBERED_IDS:
            seen.popitem(last=False)
