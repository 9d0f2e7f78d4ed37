"""A fake trading pipeline for the dashboard demo: books, opportunities, a risk gate, fills.

Everything is synthetic (seeded ``random.Random``) and published on a real ``actors.Bus``
with the real message types, so the dashboard runs exactly as it would against the bot. The
fake risk gate obeys the control topic (kill switch, pause, strategy mode, ``risk.*``
limits), so flipping a control visibly stops or restarts trading. It is not the bot: no
order reaches any venue, and the numbers mean nothing.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from decimal import Decimal

import attrs
import trio

from actors import (
    RESTART_LOG_TOPIC,
    Bus,
    ChildCrashed,
    ChildRestarted,
    ChildStarted,
    Lossless,
    MailboxStatistics,
    NodeInfo,
)
from arbitrade.messages import (
    TOPIC_AUDIT,
    TOPIC_BOOK_STATE,
    TOPIC_BOOK_TOP,
    TOPIC_CONTROL,
    TOPIC_CYCLES,
    TOPIC_FEED_STATE,
    TOPIC_FILLS,
    TOPIC_OPPORTUNITIES,
    TOPIC_ORDERS,
    TOPIC_PORTFOLIO,
    TOPIC_RISK_DECISIONS,
    AuditEvent,
    BookHealth,
    BookStateChanged,
    BookTop,
    ControlChanged,
    CycleFinished,
    FeedStateChanged,
    Fill,
    Leg,
    Opportunity,
    OrderState,
    OrderUpdate,
    PortfolioSnapshot,
    RiskAccepted,
    RiskRejected,
    Side,
    StrategyMode,
)

FEEDS = ("book", "ticker", "executions")
"""Channels the demo reports as subscribed (and /health expects live)."""

ACTOR_PATHS = (
    ("root", "supervisor"),
    ("root/feeds", "supervisor"),
    ("root/feeds/book", "actor"),
    ("root/feeds/ticker", "actor"),
    ("root/strategy", "actor"),
    ("root/risk", "actor"),
    ("root/execution", "actor"),
    ("root/persistence", "thread"),
)


@attrs.frozen(kw_only=True)
class DemoLimits:
    """The fake risk gate's limits (a small stand-in for the real gate's settings)."""

    min_profit_bps: Decimal = attrs.field(default=Decimal(4))
    """Opportunities with less expected profit are rejected (``min_profit``)."""
    max_cycle_notional: Decimal = attrs.field(default=Decimal(400))
    """Cycles starting with more home currency are rejected (``max_cycle_notional``)."""
    max_open_cycles: int = attrs.field(default=3)
    """Shown for the form; the fake executor finishes every cycle at once."""

    @min_profit_bps.validator
    def _check_min_profit(self, attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
        if not Decimal(0) <= value <= Decimal(1000):
            raise ValueError(f"risk.min_profit_bps: must be between 0 and 1000, got {value}")

    @max_cycle_notional.validator
    def _check_notional(self, attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
        if value <= 0:
            raise ValueError(f"risk.max_cycle_notional: must be more than zero, got {value}")

    @max_open_cycles.validator
    def _check_cycles(self, attribute: attrs.Attribute[int], value: int) -> None:
        if not 1 <= value <= 100:
            raise ValueError(f"risk.max_open_cycles: must be between 1 and 100, got {value}")


@attrs.define
class _Pair:
    symbol: str
    mid: float
    price_precision: int
    qty_precision: int = 8
    sequence: int = 0


class FakeTree:
    """A fixed supervision tree whose restart counts follow the fake restart log."""

    def __init__(self) -> None:
        self.restarts: dict[str, int] = dict.fromkeys((path for path, _ in ACTOR_PATHS), 0)
        self.queued: dict[str, int] = {}

    def snapshot(self) -> tuple[NodeInfo, ...]:
        """Every node, sorted by path (the ``actors.Registry.snapshot`` shape)."""
        nodes = []
        for path, kind in ACTOR_PATHS:
            mailbox = None
            if kind != "supervisor":
                mailbox = MailboxStatistics(
                    path=path,
                    capacity=1000,
                    queued=self.queued.get(path, 0),
                    dropped=0,
                    senders_waiting=0,
                    open=True,
                )
            nodes.append(NodeInfo(path, kind, "running", self.restarts[path], mailbox))
        return tuple(nodes)


class FakeMarket:
    """Publishes a plausible stream of bot messages on ``bus`` until cancelled."""

    def __init__(self, bus: Bus, *, seed: int = 7, tick: float = 0.1) -> None:
        self.bus = bus
        self.tree = FakeTree()
        self.limits = DemoLimits()
        self._rng = random.Random(seed)  # noqa: S311 - synthetic prices, not secrets
        self._tick = tick
        self._ids = itertools.count(1)
        self._pairs = {
            "BTC/USD": _Pair("BTC/USD", 64_250.0, 1),
            "ETH/USD": _Pair("ETH/USD", 3_120.0, 2),
            "ETH/BTC": _Pair("ETH/BTC", 3_120.0 / 64_250.0, 5),
        }
        self.balances = {"USD": Decimal(10_000), "BTC": Decimal("0.05"), "ETH": Decimal("1.2")}
        self.pnl_total = Decimal(0)
        self.kill_switch = False
        self.paused = False
        self.mode = StrategyMode.TRIANGULAR

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Announce feeds, books and actors, then trade forever (cancel to stop)."""
        async with trio.open_nursery() as nursery:
            await nursery.start(self._obey_controls)
            now = trio.current_time()
            for path, kind in ACTOR_PATHS:
                await self.bus.publish(
                    RESTART_LOG_TOPIC, ChildStarted(path, path.rsplit("/", 1)[-1], now, kind=kind)
                )
            for channel in FEEDS:
                await self.bus.publish(
                    TOPIC_FEED_STATE, FeedStateChanged(channel, "subscribed", "", now)
                )
            for symbol in self._pairs:
                await self.bus.publish(
                    TOPIC_BOOK_STATE, BookStateChanged(symbol, BookHealth.LIVE, "snapshot", now)
                )
                await self._publish_book(symbol)
            await self._publish_portfolio()
            task_status.started()
            nursery.start_soon(self._trade)
            nursery.start_soon(self._portfolio_loop)
            nursery.start_soon(self._trouble_loop)

    # --- controls ----------------------------------------------------------------------
    async def _obey_controls(self, *, task_status: trio.TaskStatus[None]) -> None:
        with self.bus.subscribe(TOPIC_CONTROL, Lossless(100)) as controls:
            task_status.started()
            async for change in controls:
                if isinstance(change, ControlChanged):
                    self._apply_control(change)

    def _apply_control(self, change: ControlChanged) -> None:
        if change.setting == "kill_switch":
            self.kill_switch = change.value == "engaged"
        elif change.setting == "paused":
            self.paused = change.value == "true"
        elif change.setting == "strategy_mode":
            self.mode = StrategyMode(change.value)
        elif change.setting.startswith("risk."):
            field = change.setting.removeprefix("risk.")
            current = attrs.asdict(self.limits, recurse=False)
            if field in current:
                kind = type(current[field])
                self.limits = attrs.evolve(self.limits, **{field: kind(change.value)})

    # --- market ------------------------------------------------------------------------
    async def _publish_book(self, symbol: str) -> None:
        pair = self._pairs[symbol]
        pair.mid *= 1 + self._rng.gauss(0, 0.0003)
        pair.sequence += 1
        scale = 10**pair.price_precision
        mid_ticks = round(pair.mid * scale)
        spread = max(1, round(mid_ticks * 0.00005))
        bids = tuple(
            (mid_ticks - spread - i * spread, self._rng.randint(1, 400) * 10**5) for i in range(8)
        )
        asks = tuple(
            (mid_ticks + spread + i * spread, self._rng.randint(1, 400) * 10**5) for i in range(8)
        )
        top = BookTop(
            symbol=symbol,
            bids=bids,
            asks=asks,
            price_precision=pair.price_precision,
            qty_precision=pair.qty_precision,
            received_at=trio.current_time(),
            sequence=pair.sequence,
        )
        await self.bus.publish(TOPIC_BOOK_TOP, top)

    async def _trade(self) -> None:
        while True:
            await trio.sleep(self._tick)
            symbol = self._rng.choice(tuple(self._pairs))
            await self._publish_book(symbol)
            if self._rng.random() < 0.35:
                await self._opportunity()

    async def _opportunity(self) -> None:
        received = trio.current_time()
        rng = self._rng
        start = Decimal(rng.randrange(100, 500))
        bps = Decimal(rng.randrange(10, 160)) / 10
        profit = (start * bps / 10_000).quantize(Decimal("0.0001"))
        btc, eth = self._pairs["BTC/USD"].mid, self._pairs["ETH/USD"].mid
        legs = (
            Leg("BTC/USD", Side.BUY, _price(btc, 1), _qty(start, btc), "USD", "BTC"),
            Leg("ETH/BTC", Side.BUY, _price(eth / btc, 5), _qty(start, eth), "BTC", "ETH"),
            Leg("ETH/USD", Side.SELL, _price(eth, 2), _qty(start, eth), "ETH", "USD"),
        )
        opportunity = Opportunity(
            id=f"opp-{next(self._ids)}",
            strategy="triangular",
            home="USD",
            legs=legs,
            start_amount=start,
            end_amount=start + profit,
            profit=profit,
            profit_bps=bps,
            book_ages=tuple(rng.uniform(0.001, 0.4) for _ in legs),
            received_at=received,
            detected_at=received + rng.uniform(0.0002, 0.003),
        )
        await self.bus.publish(TOPIC_OPPORTUNITIES, opportunity)
        await self._decide(opportunity)

    async def _decide(self, opportunity: Opportunity) -> None:
        now, wall = trio.current_time(), time.time()
        reason, detail = "", {}
        if self.kill_switch:
            reason = "kill_switch"
        elif self.paused:
            reason = "paused"
        elif self.mode is StrategyMode.OFF:
            reason = "strategy_off"
        elif opportunity.profit_bps < self.limits.min_profit_bps:
            reason = "min_profit"
            detail = {"bps": str(opportunity.profit_bps), "min": str(self.limits.min_profit_bps)}
        elif opportunity.start_amount > self.limits.max_cycle_notional:
            reason = "max_cycle_notional"
            detail = {
                "start": str(opportunity.start_amount),
                "max": str(self.limits.max_cycle_notional),
            }
        kind = "risk.rejected" if reason else "risk.accepted"
        audit = AuditEvent(
            kind=kind,
            actor="risk",
            subject=opportunity.id,
            detail=json.dumps({"reason": reason or "accepted", **detail}),
            at=now,
            at_wall=wall,
        )
        if reason:
            verdict: object = RiskRejected(opportunity.id, reason, json.dumps(detail), now)
        else:
            verdict = RiskAccepted(opportunity, now)
        await self.bus.publish(TOPIC_RISK_DECISIONS, verdict)
        await self.bus.publish(TOPIC_AUDIT, audit)
        if not reason:
            await self._execute(opportunity)

    async def _execute(self, opportunity: Opportunity) -> None:
        for index, leg in enumerate(opportunity.legs):
            cl_ord_id = f"{opportunity.id}-{index + 1}"
            for state in (OrderState.OPEN, OrderState.FILLED):
                filled = leg.qty if state is OrderState.FILLED else Decimal(0)
                update = OrderUpdate(
                    cl_ord_id=cl_ord_id,
                    cycle_id=opportunity.id,
                    symbol=leg.symbol,
                    side=leg.side,
                    order_type="limit",
                    limit_price=leg.price,
                    qty=leg.qty,
                    filled_qty=filled,
                    state=state,
                    reason="",
                    at=trio.current_time() + self._rng.uniform(0.001, 0.004),
                )
                await self.bus.publish(TOPIC_ORDERS, update)
            fee = (leg.qty * leg.price * Decimal("0.0026")).quantize(Decimal("0.00000001"))
            fill = Fill(
                exec_id=f"x-{cl_ord_id}",
                cl_ord_id=cl_ord_id,
                cycle_id=opportunity.id,
                symbol=leg.symbol,
                side=leg.side,
                price=leg.price,
                qty=leg.qty,
                fee=fee,
                fee_asset=leg.symbol.split("/")[1],
                liquidity="t",
                at=trio.current_time(),
            )
            await self.bus.publish(TOPIC_FILLS, fill)
        pnl = opportunity.profit * Decimal(self._rng.choice((1, 1, 1, -1)))
        self.pnl_total += pnl
        self.balances["USD"] += pnl
        outcome = "completed" if pnl > 0 else "broken_unwound"
        await self.bus.publish(
            TOPIC_CYCLES,
            CycleFinished(opportunity.id, outcome, "USD", pnl, Decimal(0), trio.current_time()),
        )

    async def _publish_portfolio(self) -> None:
        snapshot = PortfolioSnapshot(
            balances=tuple(sorted(self.balances.items())),
            realised_pnl_today=self.pnl_total,
            realised_pnl_total=self.pnl_total + Decimal("125.40"),
            home="USD",
            at=trio.current_time(),
            at_wall=time.time(),
        )
        await self.bus.publish(TOPIC_PORTFOLIO, snapshot)

    async def _portfolio_loop(self) -> None:
        while True:
            await trio.sleep(1.0)
            await self._publish_portfolio()

    async def _trouble_loop(self) -> None:
        """Now and then a checksum mismatch (resync) and a crashed-and-restarted feed actor."""
        while True:
            await trio.sleep(6.0)
            symbol = self._rng.choice(tuple(self._pairs))
            now = trio.current_time()
            await self.bus.publish(
                TOPIC_BOOK_STATE,
                BookStateChanged(symbol, BookHealth.RESYNCING, "checksum mismatch", now, False),
            )
            path = self._rng.choice(("root/feeds/book", "root/feeds/ticker"))
            name = path.rsplit("/", 1)[-1]
            count = self.tree.restarts[path]
            await self.bus.publish(
                RESTART_LOG_TOPIC,
                ChildCrashed(
                    path,
                    name,
                    now,
                    error_type="ConnectionClosed",
                    error_message="peer closed the WebSocket (1006)",
                    restart_count=count,
                ),
            )
            await trio.sleep(0.3)
            self.tree.restarts[path] = count + 1
            now = trio.current_time()
            await self.bus.publish(
                RESTART_LOG_TOPIC, ChildRestarted(path, name, now, restart_count=count + 1)
            )
            await self.bus.publish(
                TOPIC_BOOK_STATE, BookStateChanged(symbol, BookHealth.LIVE, "resynced", now)
            )


def _price(value: float, places: int) -> Decimal:
    return Decimal(f"{value:.{places}f}")


def _qty(start: Decimal, price: float) -> Decimal:
    return (start / Decimal(f"{price:.8f}")).quantize(Decimal("0.00000001"))
