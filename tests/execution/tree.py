"""The trading actors under the actors.testing harness, with a bus tap to expect events."""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import attrs
import trio

import actors.testing
from actors import Lossless, Ref, SupervisorSpec
from arbitrade.execution import ExecutionSettings, Venue, run_trading_io, trading_supervisor
from arbitrade.messages import (
    TOPIC_AUDIT,
    TOPIC_CONTROL,
    TOPIC_CYCLES,
    TOPIC_FILLS,
    TOPIC_ORDERS,
    TOPIC_PORTFOLIO,
    TOPIC_RISK_DECISIONS,
)
from arbitrade.risk import RiskSettings

WALL = 1_790_000_000.0
TAPPED = (
    TOPIC_RISK_DECISIONS,
    TOPIC_AUDIT,
    TOPIC_ORDERS,
    TOPIC_FILLS,
    TOPIC_CYCLES,
    TOPIC_PORTFOLIO,
    TOPIC_CONTROL,
)
RICH = {"USD": Decimal(100_000), "BTC": Decimal(10), "ETH": Decimal(100)}


class Tap:
    """Every event of the tapped topics, in arrival order; ``expect`` consumes them."""

    def __init__(self) -> None:
        self.history: list[Any] = []
        self._queue: collections.deque[Any] = collections.deque()
        self._lot = trio.lowlevel.ParkingLot()

    def put(self, event: Any) -> None:
        self.history.append(event)
        self._queue.append(event)
        self._lot.unpark_all()

    async def expect[T](
        self, kind: type[T], predicate: Callable[[T], bool] | None = None, *, within: float = 1.0
    ) -> T:
        """The next event of ``kind`` matching ``predicate``; earlier others are skipped."""
        skipped: list[Any] = []
        with trio.move_on_after(within):
            while True:
                while not self._queue:
                    await self._lot.park()
                event = self._queue.popleft()
                if isinstance(event, kind) and (predicate is None or predicate(event)):
                    return event
                skipped.append(event)
        raise AssertionError(f"expected {kind.__name__} within {within}s; skipped {skipped[:8]!r}")

    def all[T](self, kind: type[T]) -> list[T]:
        """Every event of ``kind`` seen so far (consumed or not)."""
        return [event for event in self.history if isinstance(event, kind)]


@attrs.frozen
class Trading:
    """A running trading tree."""

    harness: actors.testing.Harness
    venue: Venue
    tap: Tap
    gate: Ref[Any]
    executor: Ref[Any]
    portfolio: Ref[Any]

    async def publish(self, topic: str, event: object) -> None:
        await self.harness.bus.publish(topic, event)


async def _collect(tap: Tap, subscriptions: Iterable[Any]) -> None:
    async with trio.open_nursery() as nursery:
        for subscription in subscriptions:

            async def pump(sub: Any = subscription) -> None:
                async for event in sub:
                    tap.put(event)

            nursery.start_soon(pump)


@asynccontextmanager
async def trading_tree(
    venue: Venue,
    *,
    risk: RiskSettings | None = None,
    execution: ExecutionSettings | None = None,
    balances: dict[str, Decimal] | None = None,
) -> AsyncIterator[Trading]:
    """Start venue, tap, the trading supervisor and its input forwarding."""
    risk = risk or RiskSettings()
    execution = execution or ExecutionSettings()
    async with actors.testing.open_harness() as harness, trio.open_nursery() as nursery:
        await nursery.start(venue.run)
        tap = Tap()
        subscriptions = [harness.bus.subscribe(t, Lossless(100_000)) for t in TAPPED]
        nursery.start_soon(_collect, tap, subscriptions)
        tree = trading_supervisor(
            risk,
            execution,
            venue,
            initial_balances=RICH if balances is None else balances,
            wall_clock=lambda: WALL,
        )
        await harness.start_tree(SupervisorSpec("root", [tree]))
        lookup = harness.registry.lookup
        await nursery.start(run_trading_io, harness.bus, lookup, venue, execution, "root/trading")
        yield Trading(
            harness,
            venue,
            tap,
            lookup("root/trading/risk_gate"),
            lookup("root/trading/executor"),
            lookup("root/trading/portfolio"),
        )
        nursery.cancel_scope.cancel()
