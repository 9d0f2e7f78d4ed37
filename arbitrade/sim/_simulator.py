"""The simulator's state and its Python API: market, engine, keys, tokens, faults, records.

One :class:`Simulator` is shared by the REST handlers and every WebSocket connection of a
server. It is plain synchronous state plus a :class:`Pulse` that wakes publishers after every
change; the server drives :meth:`Simulator.step` on a timer. Tests can build one without any
network and drive it directly.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import structlog
import trio

from arbitrade.sim._auth import DecayingCounter, NonceTracker
from arbitrade.sim._config import RATE_TIERS, ApiKey, SimConfig
from arbitrade.sim._engine import MatchingEngine, OrderRequest
from arbitrade.sim._faults import FaultSettings, apply_fault_changes
from arbitrade.sim._fees import FeeSchedule, load_fee_schedule
from arbitrade.sim._history import BoundedLog
from arbitrade.sim._market import MarketModel, Mispricing, StepResult, Trade
from arbitrade.sim._orders import Order, OrderRejected, ReceivedOrder
from arbitrade.sim._universe import Universe, build_universe

log = structlog.get_logger(__name__)


class Pulse:
    """A generation counter that wakes every waiter when it moves (after each change)."""

    def __init__(self) -> None:
        self.generation = 0
        self._event = trio.Event()

    def notify(self) -> None:
        self.generation += 1
        self._event.set()
        self._event = trio.Event()

    async def wait_past(self, generation: int) -> None:
        """Return once ``generation`` is behind the current one (at once if it already is)."""
        while self.generation <= generation:
            await self._event.wait()


@attrs.define
class _Token:
    key: str
    issued: float
    in_use: bool = False


class Simulator:
    """A Kraken look-alike's state; see :func:`arbitrade.sim.serve_simulator` for the network."""

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        fees: FeeSchedule | None = None,
    ) -> None:
        self.config = config or SimConfig()
        self.clock = clock
        self.universe: Universe = build_universe(
            extra_assets=self.config.extra_assets, only=self.config.symbols
        )
        self.model = MarketModel(self.universe, seed=self.config.seed, settings=self.config.market)
        self.fees = fees or load_fee_schedule(self.config.fees_path)
        self.faults: FaultSettings = attrs.evolve(self.config.faults)
        self.keys: dict[str, ApiKey] = {k.key: k for k in self.config.api_keys}
        self.engine = MatchingEngine(
            self.model,
            self.fees,
            self.config.api_keys,
            system_status=lambda: self.faults.system_status,
            on_execution=self._on_execution,
            clock=clock,
            closed_orders_keep=self.config.closed_orders_keep,
        )
        self.nonces = NonceTracker()
        self.pulse = Pulse()
        self.received_orders: BoundedLog[ReceivedOrder] = BoundedLog(
            self.config.received_orders_keep
        )
        """Order requests that reached the simulator, in arrival order: the last
        ``config.received_orders_keep``; only the newest ``config.received_params_keep`` keep
        their parameters (the "no order doubled" checks need ids and outcomes only)."""
        self.executions: dict[str, BoundedLog[dict[str, Any]]] = {
            k: BoundedLog(self.config.executions_keep) for k in self.keys
        }
        """Per key, the last ``config.executions_keep`` executions events (WebSocket
        subscribers read from here by absolute position)."""
        self.trade_log: BoundedLog[Trade] = BoundedLog(self.config.trades_keep)
        """Public trades, the last ``config.trades_keep``."""
        self.status_changes: BoundedLog[str] = BoundedLog(self.config.status_changes_keep)
        """Each change of ``faults.system_status``, in order: every connection sends every
        one on its ``status`` channel (the last ``config.status_changes_keep`` are kept)."""
        self.drop_generation = 0
        """Bumped by :meth:`drop_connections`; connections close when it moves."""
        self._rest_counters: dict[str, DecayingCounter] = {}
        self._tokens: dict[str, _Token] = {}
        self._dead_man: dict[str, float] = {}

    # -- market ------------------------------------------------------------------------------
    def step(self) -> StepResult:
        """Advance the market one tick, settle resting orders, and wake publishers."""
        result = self.model.step()
        self.engine.settle_step(result)
        self._check_dead_man_switches()
        self._log_trades(result.trades)
        self._after_change()
        return result

    def inject_mispricing(
        self, symbol: str, deviation_bps: float, lifetime_ticks: int = 20
    ) -> Mispricing:
        """Open a known mispricing on one pair now (tests of the detector use this).

        ``deviation_bps`` > 0 prices the pair above the cross-rate of its assets, < 0 below.
        Visible in the next published book update; it lasts ``lifetime_ticks`` ticks.

        Raises:
            UnknownSymbol: no such v2 symbol.
        """
        mispricing = self.model.inject_mispricing(symbol, deviation_bps, lifetime_ticks)
        log.info("sim.mispricing.injected", symbol=symbol, deviation_bps=deviation_bps)
        self._after_change()
        return mispricing

    def _log_trades(self, trades: list[Trade]) -> None:
        self.trade_log.extend(trades)
        self.trade_log.extend(self.engine.drain_trades())

    def _after_change(self) -> None:
        self._log_trades([])
        self.pulse.notify()

    # -- faults ------------------------------------------------------------------------------
    def set_faults(self, changes: Mapping[str, Any] | None = None, **kwargs: Any) -> FaultSettings:
        """Change fault knobs while running; return the new settings.

        Accepts the fields of :class:`FaultSettings`, plus ``drop_connections=True`` to close
        every WebSocket connection now. A change of ``system_status`` is broadcast on every
        connection's ``status`` channel.

        Raises:
            SimConfigError: unknown knob or bad value (nothing changes).
        """
        merged = {**(changes or {}), **kwargs}
        updated = apply_fault_changes(self.faults, merged)
        status_changed = updated.system_status != self.faults.system_status
        self.faults = updated
        if status_changed:
            self.status_changes.append(updated.system_status)
        if merged.get("drop_connections"):
            self.drop_generation += 1
        log.info("sim.faults.changed", **{k: v for k, v in merged.items() if k != "changes"})
        self.pulse.notify()
        return updated

    def drop_connections(self) -> None:
        """Close every open WebSocket connection (clients must reconnect)."""
        self.set_faults(drop_connections=True)

    def take_fault(self, name: str) -> bool:
        """Consume one unit of a counting fault; True if one was due."""
        remaining: int = getattr(self.faults, name)
        if remaining <= 0:
            return False
        setattr(self.faults, name, remaining - 1)
        return True

    # -- keys, tokens, limits ----------------------------------------------------------------
    def rest_counter(self, key: str) -> DecayingCounter:
        counter = self._rest_counters.get(key)
        if counter is None:
            maximum, decay = RATE_TIERS[self.keys[key].rate_tier][0]
            counter = DecayingCounter(maximum, decay, self.clock)
            self._rest_counters[key] = counter
        return counter

    def issue_token(self, key: str) -> str:
        token = secrets.token_urlsafe(32)
        self._forget_expired_tokens()
        self._tokens[token] = _Token(key, self.clock())
        return token

    def _forget_expired_tokens(self) -> None:
        # Tokens never used expire unseen; each reconnect asks for a new one.
        now, ttl = self.clock(), self.config.token_ttl_seconds
        for token, entry in list(self._tokens.items()):
            if not entry.in_use and now - entry.issued > ttl:
                del self._tokens[token]

    def key_for_token(self, token: object) -> str | None:
        """The key behind a WebSocket token, or None when unknown or expired."""
        if not isinstance(token, str):
            return None
        entry = self._tokens.get(token)
        if entry is None:
            return None
        if not entry.in_use and self.clock() - entry.issued > self.config.token_ttl_seconds:
            del self._tokens[token]
            return None
        return entry.key

    def hold_token(self, token: str) -> None:
        """A private subscription holds the token: it no longer expires."""
        entry = self._tokens.get(token)
        if entry is not None:
            entry.in_use = True

    # -- orders ------------------------------------------------------------------------------
    def place_order(
        self,
        key: str,
        request: OrderRequest,
        *,
        transport: str,
        method: str,
        params: Mapping[str, Any],
    ) -> Order | None:
        """Place an order for ``key`` and record the request (accepted or not).

        Raises:
            OrderRejected: Kraken's error string; the request is still recorded.
        """
        try:
            order = self.engine.place(key, request)
        except OrderRejected as rejected:
            self._record(key, request, transport, method, params, None, rejected.error)
            raise
        self._record(
            key, request, transport, method, params, order.order_id if order else None, None
        )
        self._after_change()
        return order

    def _record(
        self,
        key: str,
        request: OrderRequest,
        transport: str,
        method: str,
        params: Mapping[str, Any],
        order_id: str | None,
        error: str | None,
    ) -> None:
        received = self.received_orders
        received.append(
            ReceivedOrder(
                sequence=received.end + 1,
                tick=self.model.tick,
                key=key,
                transport=transport,
                method=method,
                params=dict(params),
                cl_ord_id=request.cl_ord_id,
                order_id=order_id,
                error=error,
            )
        )
        # Parameters are the bulk of a record: only the newest keep them.
        compact = received.end - 1 - self.config.received_params_keep
        if compact >= received.start:
            record = received[compact - received.start]
            if record.params:
                received.replace(compact, attrs.evolve(record, params={}))

    def cancel_order(self, key: str, order: Order) -> None:
        """Cancel one order. Raises OrderRejected (see MatchingEngine.cancel)."""
        self.engine.cancel(key, order)
        self._after_change()

    def cancel_all(self, key: str) -> int:
        count = self.engine.cancel_all(key)
        self._after_change()
        return count

    def arm_dead_man_switch(self, key: str, timeout_seconds: int) -> None:
        """Cancel all of ``key``'s orders unless re-armed within ``timeout_seconds`` (0 disarms).

        Checked on every market tick, so it fires within one tick of the deadline.
        """
        if timeout_seconds:
            self._dead_man[key] = self.clock() + timeout_seconds
        else:
            self._dead_man.pop(key, None)

    def _check_dead_man_switches(self) -> None:
        now = self.clock()
        for key, deadline in list(self._dead_man.items()):
            if now >= deadline:
                del self._dead_man[key]
                count = self.engine.cancel_all_unchecked(key)
                log.info("sim.dead_man_switch.fired", count=count)

    def _on_execution(self, key: str, event: dict[str, Any]) -> None:
        events = self.executions.get(key)
        if events is None:
            events = self.executions[key] = BoundedLog(self.config.executions_keep)
        events.append(event)
