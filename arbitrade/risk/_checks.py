"""The risk checks as pure functions of an opportunity, a snapshot of the world and the limits.

Each check returns ``None`` (pass) or a :class:`Rejection` with a reason code and the numbers
behind it. :func:`evaluate` runs them in a fixed order, cheapest and most absolute first, and
stops at the first rejection, so the reason is always the most fundamental one. Nothing here
reads a clock or mutates state: the :class:`~arbitrade.risk.RiskGateCore` builds the
:class:`RiskView` and records the consequences.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Final

import attrs

from arbitrade.messages import BookHealth, BookStateChanged, Opportunity
from arbitrade.risk._legs import leg_home_notionals, net_home_profit, spend_by_asset
from arbitrade.risk._rate_counter import ADD_ORDER_COST, TIER_LIMITS
from arbitrade.risk._settings import RiskSettings


class RejectReason(enum.StrEnum):
    """Why the gate refused an opportunity (the ``reason`` of RiskRejected and audit rows)."""

    KILL_SWITCH = "kill_switch"
    PAUSED = "paused"
    STRATEGY_OFF = "strategy_off"
    DUPLICATE = "duplicate"
    MALFORMED = "malformed"
    HOME_MISMATCH = "home_mismatch"
    DAILY_LOSS = "daily_loss_limit"
    COOLDOWN = "cooldown"
    BOOK_NOT_LIVE = "book_not_live"
    STALE_BOOK = "stale_book"
    MIN_PROFIT = "min_profit"
    CYCLE_NOTIONAL = "max_cycle_notional"
    LEG_NOTIONAL = "max_leg_notional"
    OPEN_CYCLES = "max_open_cycles"
    OPEN_ORDERS = "max_open_orders"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    RATE_BUDGET = "rate_budget"


@attrs.frozen
class Rejection:
    """A failed check: the reason code and the numbers that decided it (as strings)."""

    reason: RejectReason
    numbers: Mapping[str, str]


@attrs.frozen
class RiskView:
    """What the gate knows at the moment it decides; built fresh for every decision."""

    now: float
    kill_switch: bool = False
    kill_cause: str = ""
    trading_enabled: bool = True
    paused: bool = False
    disabled_strategies: frozenset[str] = frozenset()
    realised_pnl_today: Decimal = Decimal(0)
    open_orders: int = 0
    open_cycles: int = 0
    available: Mapping[str, Decimal] = attrs.field(factory=dict)
    """Balance per asset minus what accepted, unfinished cycles have reserved."""
    rate_counters: Mapping[str, float] = attrs.field(factory=dict)
    """The modelled trading rate counter per symbol, now."""
    cooldown_until: Mapping[str, float] = attrs.field(factory=dict)
    """Trio time until which each symbol is cooling down after a failed cycle."""
    book_states: Mapping[str, BookStateChanged] = attrs.field(factory=dict)
    """The book feed's latest announcement for each book (a book absent: none seen yet)."""


Check = Callable[[Opportunity, RiskView, RiskSettings], Rejection | None]


def _reject(reason: RejectReason, **numbers: object) -> Rejection:
    return Rejection(reason, {key: str(value) for key, value in numbers.items()})


def check_kill_switch(opp: Opportunity, view: RiskView, cfg: RiskSettings) -> Rejection | None:
    """An engaged kill switch refuses everything."""
    if view.kill_switch:
        return _reject(RejectReason.KILL_SWITCH, cause=view.kill_cause or "operator")
    return None


def check_paused(opp: Opportunity, view: RiskView, cfg: RiskSettings) -> Rejection | None:
    """An operator's pause refuses new cycles (open orders are left alone)."""
    if view.paused:
        return _reject(RejectReason.PAUSED, strategy=opp.strategy)
    return None


def check_strategy_mode(opp: Opportunity, view: RiskView, cfg: RiskSettings) -> Rejection | None:
    """Trading off globally, or for this opportunity's strategy, refuses it."""
    if not view.trading_enabled or opp.strategy in view.disabled_strategies:
        return _reject(
            RejectReason.STRATEGY_OFF,
            strategy=opp.strategy,
            trading_enabled=view.trading_enabled,
        )
    return None


def check_well_formed(opp: Opportunity, view: RiskView, cfg: RiskSettings) -> Rejection | None:
    """Legs with non-positive price or size, or no legs at all, are refused."""
    if not opp.legs:
        return _reject(RejectReason.MALFORMED, problem="no legs")
    for index, leg in enumerate(opp.legs):
        if leg.qty <= 0 or leg.price <= 0:
            return _reject(RejectReason.MALFORMED, leg=index, qty=leg.qty, price=leg.price)
    return None


def check_home(opp: Opportunity, view: RiskView, cfg: RiskSettings) -> Rejection | None:
    """Limits are in the configured home asset; another home cannot be measured against them."""
    if opp.home != cfg.home_asset:
        return _reject(RejectReason.HOME_MISMATCH, home=opp.home, expected=cfg.home_asset)
    return None


def check_daily_loss(opp: Opportunity, view: RiskView, cfg: RiskSettings) -> Rejection | None:
    """Once today's realised loss reaches the limit, nothing more trades today."""
    if view.realised_pnl_today <= -cfg.daily_loss_limit:
        return _reject(
            RejectReason.DAILY_LOSS,
            realised_pnl_today=view.realised_pnl_today,
            limit=cfg.daily_loss_limit,
        )
    return None


def check_cooldown(opp: Opportunity, view: RiskView, cfg: RiskSettings) -> Rejection | None:
    """A pair that was in a failed cycle recently is refused until its cool-down ends."""
    for leg in opp.legs:
        until = view.cooldown_until.get(leg.symbol)
        if until is not None and view.now < until:
            return _reject(
                RejectReason.COOLDOWN, symbol=leg.symbol, remaining_s=round(until - view.now, 3)
            )
    return None


def check_books_live(opp: Opportunity, view: RiskView, cfg: RiskSettings) -> Rejection | None:
    """Every leg's book must be live now, as the book feed last announced it.

    The book feed says a book is stale while it reads more than ``max_lag`` behind the
    exchange, and resyncing after a checksum mismatch or when it stopped: our receive times
    (:func:`check_book_age`) cannot show either, so an opportunity detected before the feed
    fell behind would otherwise pass. The first leg whose book is not live is reported with
    its symbol, its health, the feed's reason and how long ago the feed said so.

    A book with no state seen yet passes: unit tests and scripted venues publish none, and a
    starting gate catches up from the feed (see ``RiskGate``) rather than refusing every book
    until each one is announced. Closing a position (:data:`CLOSE_CHECKS`) is not exempt: a
    close priced on a book we know is behind or wrong may leave one leg resting and the other
    filled, a naked position worse than the hedged one; the strategy retries the close after
    its back-off, and the feed publishes fresh tops the moment its books are live again
    (ADR 15).
    """
    states = view.book_states
    if not states:
        return None
    for index, leg in enumerate(opp.legs):
        state = states.get(leg.symbol)
        if state is not None and state.health is not BookHealth.LIVE:
            return _reject(
                RejectReason.BOOK_NOT_LIVE,
                leg=index,
                symbol=leg.symbol,
                health=state.health.value,
                cause=state.reason,
                since_s=round(max(0.0, view.now - state.at), 6),
            )
    return None


def check_book_age(opp: Opportunity, view: RiskView, cfg: RiskSettings) -> Rejection | None:
    """Every leg's book must be fresh now: its age at detection plus the time since."""
    since = max(0.0, view.now - opp.detected_at)
    for index, age in enumerate(opp.book_ages):
        if age + since > cfg.max_book_age_seconds:
            return _reject(
                RejectReason.STALE_BOOK,
                leg=index,
                age_s=round(age + since, 6),
                limit_s=cfg.max_book_age_seconds,
            )
    return None


def check_min_profit(opp: Opportunity, view: RiskView, cfg: RiskSettings) -> Rejection | None:
    """The gate's own recomputation, after taker fees, must clear the minimum profit in bps.

    Applies to the strategies in ``min_profit_strategies`` only (cycles with a certain
    profit); a statistical strategy's opportunity has no profit to recompute.
    """
    if opp.strategy not in cfg.profit_checked:
        return None
    profit, bps = net_home_profit(opp, cfg.taker_fee_rate)
    if bps < cfg.min_profit_bps:
        return _reject(
            RejectReason.MIN_PROFIT,
            recomputed_bps=round(bps, 4),
            reported_bps=opp.profit_bps,
            recomputed_profit=profit,
            min_bps=cfg.min_profit_bps,
        )
    return None


def check_cycle_notional(opp: Opportunity, view: RiskView, cfg: RiskSettings) -> Rejection | None:
    """The home amount a cycle starts with stays within the per-cycle limit."""
    if opp.start_amount > cfg.max_cycle_notional:
        return _reject(
            RejectReason.CYCLE_NOTIONAL, notional=opp.start_amount, limit=cfg.max_cycle_notional
        )
    return None


def check_leg_notional(opp: Opportunity, view: RiskView, cfg: RiskSettings) -> Rejection | None:
    """Each leg's spend, valued in home currency at the cycle's prices, stays within the limit."""
    for index, notional in enumerate(leg_home_notionals(opp, cfg.taker_fee_rate)):
        if notional > cfg.max_leg_notional:
            return _reject(
                RejectReason.LEG_NOTIONAL,
                leg=index,
                notional=round(notional, 8),
                limit=cfg.max_leg_notional,
            )
    return None


def check_open_cycles(opp: Opportunity, view: RiskView, cfg: RiskSettings) -> Rejection | None:
    """The new cycle must not take the number of cycles in flight past the limit."""
    if view.open_cycles + 1 > cfg.max_open_cycles:
        return _reject(
            RejectReason.OPEN_CYCLES, open_cycles=view.open_cycles, limit=cfg.max_open_cycles
        )
    return None


def check_open_orders(opp: Opportunity, view: RiskView, cfg: RiskSettings) -> Rejection | None:
    """The new legs must not take the number of live orders past the limit."""
    if view.open_orders + len(opp.legs) > cfg.max_open_orders:
        return _reject(
            RejectReason.OPEN_ORDERS,
            open_orders=view.open_orders,
            new_orders=len(opp.legs),
            limit=cfg.max_open_orders,
        )
    return None


def check_balances(opp: Opportunity, view: RiskView, cfg: RiskSettings) -> Rejection | None:
    """Legs go out at once, so each spent asset must be covered by what is available now."""
    for asset, needed in sorted(spend_by_asset(opp, cfg.taker_fee_rate).items()):
        have = view.available.get(asset, Decimal(0))
        if have < needed:
            return _reject(
                RejectReason.INSUFFICIENT_BALANCE,
                asset=asset,
                needed=round(needed, 12),
                available=have,
            )
    return None


def check_rate_budget(opp: Opportunity, view: RiskView, cfg: RiskSettings) -> Rejection | None:
    """Each pair's modelled rate counter, plus the new orders, stays within the budget."""
    budget = TIER_LIMITS[cfg.tier].maximum * float(cfg.rate_budget_fraction)
    added: dict[str, float] = {}
    for leg in opp.legs:
        added[leg.symbol] = added.get(leg.symbol, 0.0) + ADD_ORDER_COST
    for symbol, cost in sorted(added.items()):
        counter = view.rate_counters.get(symbol, 0.0)
        if counter + cost > budget:
            return _reject(
                RejectReason.RATE_BUDGET,
                symbol=symbol,
                counter=round(counter, 3),
                cost=cost,
                budget=round(budget, 3),
            )
    return None


CHECKS: Final[tuple[Check, ...]] = (
    check_kill_switch,
    check_paused,
    check_strategy_mode,
    check_well_formed,
    check_home,
    check_daily_loss,
    check_cooldown,
    check_books_live,
    check_book_age,
    check_min_profit,
    check_cycle_notional,
    check_leg_notional,
    check_open_cycles,
    check_open_orders,
    check_balances,
    check_rate_budget,
)


CLOSE_CHECKS: Final[tuple[Check, ...]] = (
    check_kill_switch,
    check_well_formed,
    check_books_live,
    check_book_age,
    check_open_orders,
    check_balances,
    check_rate_budget,
)
"""Checks for orders that reduce exposure (closing a position): no strategy mode, profit,
cool-down, notional or daily loss check, since refusing them would keep risk on. The book
checks stay (a close is priced on the books too: see :func:`check_books_live`)."""


def evaluate(
    opp: Opportunity,
    view: RiskView,
    cfg: RiskSettings,
    checks: tuple[Check, ...] = CHECKS,
) -> Rejection | None:
    """Run ``checks`` in order; the first rejection, or None when the opportunity passes."""
    for check in checks:
        rejection = check(opp, view, cfg)
        if rejection is not None:
            return rejection
    return None
