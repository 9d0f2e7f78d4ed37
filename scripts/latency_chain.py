"""Tick-to-order through the real trading actors, for ``profile_latency.py``.

A raw WebSocket v2 book frame is decoded, applied to its ``OrderBook`` (checksum verified) and
handed to a ``CycleDetector`` as a ``BookTop``; the opportunity it yields is published on the
bus, where the real ``trading_supervisor`` tree (risk gate, executor, portfolio, wired by
``run_trading_io``) takes it to a scripted venue that fills at the limit. The sample is the
wall time from the frame's arrival to leg 1 handed to the venue.

What is not actors yet: the feed, book and pair-graph actors are not in the tree (the app does
not wire them), so decode, book and detection run inline in the profiler's task, on the same
Trio loop, before the publish; that leaves out their two mailbox hops.
"""

from __future__ import annotations

import itertools
import time
import zlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
import trio
from latency_stages import (
    RISK,
    TAKER_FEE,
    TRIANGLES,
    rich_balances,
    triangle_instruments,
    triangle_tops,
)

import actors
from arbitrade.execution import (
    ExecutionSettings,
    OrderRequest,
    ScriptedVenue,
    fills_at_limit,
    run_trading_io,
    trading_supervisor,
)
from arbitrade.graph import CycleDetector, PairGraph, TakerFees
from arbitrade.kraken import BookMessage, Decoder
from arbitrade.market import OrderBook
from arbitrade.messages import TOPIC_CYCLES, TOPIC_OPPORTUNITIES, BookTop, Instrument

DEPTH = 10
SETTLE = 0.0003
"""Seconds between ticks (untimed): a market does not send an opportunity every microsecond."""
Side = dict[int, int]


class TimedVenue(ScriptedVenue):
    """A scripted venue that fills at the limit and stamps each hand-off (``perf_counter``)."""

    def __init__(self) -> None:
        super().__init__(fills_at_limit(TAKER_FEE))
        self.handed: list[float] = []

    async def submit(self, order: OrderRequest) -> None:
        self.handed.append(time.perf_counter())
        await super().submit(order)


def _checksum(bids: Side, asks: Side) -> int:
    """Kraken's v2 book checksum of integer levels: top 10 asks up, then top 10 bids down."""
    text = "".join(f"{p}{asks[p]}" for p in sorted(asks)[:10])
    text += "".join(f"{p}{bids[p]}" for p in sorted(bids, reverse=True)[:10])
    return zlib.crc32(text.encode())


def _number(units: int, precision: int) -> orjson.Fragment:
    return orjson.Fragment(format(Decimal(units).scaleb(-precision), "f").encode())


def _frame(
    kind: str,
    instrument: Instrument,
    changed: tuple[list[tuple[int, int]], list[tuple[int, int]]],
    book: tuple[Side, Side],
) -> bytes:
    pp, qp = instrument.price_precision, instrument.qty_precision

    def levels(side: list[tuple[int, int]]) -> list[dict[str, Any]]:
        return [{"price": _number(p, pp), "qty": _number(q, qp)} for p, q in side]

    item: dict[str, Any] = {
        "symbol": instrument.symbol,
        "bids": levels(changed[0]),
        "asks": levels(changed[1]),
        "checksum": _checksum(*book),
    }
    if kind == "update":
        item["timestamp"] = "2026-01-01T00:00:00.000000Z"
    return orjson.dumps({"channel": "book", "type": kind, "data": [item]})


def triangle_frames(index: int) -> tuple[list[bytes], bytes, bytes]:
    """Snapshots of triangle ``index``'s three books, the ``Y/USD`` rich-bid update and the
    update that restores it (deleting the rich level, re-sending the level it pushed out)."""
    instruments = triangle_instruments(index)
    fair, rich = triangle_tops(index)
    snapshots = []
    for instrument, top in zip(instruments, fair, strict=True):
        book = (dict(top.bids), dict(top.asks))
        snapshots.append(_frame("snapshot", instrument, (list(top.bids), list(top.asks)), book))
    y_usd = instruments[2]
    fair_bids, asks = dict(fair[2].bids), dict(fair[2].asks)
    rich_bid = rich.bids[0]
    pushed_out = fair[2].bids[-1]
    rich_book = dict(rich.bids)
    lift = _frame("update", y_usd, ([rich_bid], []), (rich_book, asks))
    restore = _frame("update", y_usd, ([(rich_bid[0], 0), pushed_out], []), (fair_bids, asks))
    return snapshots, lift, restore


class TickToOrder:
    """The market stand-in (decode, book, detector) in front of the real trading tree."""

    def __init__(self) -> None:
        instruments = [i for n in range(TRIANGLES) for i in triangle_instruments(n)]
        self.decoder = Decoder(
            {i.symbol: (i.price_precision, i.qty_precision) for i in instruments}
        )
        self.books = {
            i.symbol: OrderBook(
                i.symbol, price_precision=i.price_precision, qty_precision=i.qty_precision
            )
            for i in instruments
        }
        graph = PairGraph(instruments, fees=TakerFees.flat(TAKER_FEE), home_currencies=("USD",))
        self.detector = CycleDetector(graph, clock=trio.current_time)
        frames = [triangle_frames(n) for n in range(TRIANGLES)]
        self._snapshots = [s for snapshots, _, _ in frames for s in snapshots]
        self._lifts = [lift for _, lift, _ in frames]
        self._restores = [restore for _, _, restore in frames]
        self.venue = TimedVenue()
        self._serial = itertools.count()
        self._system: actors.System | None = None
        self._cycles: actors.Subscription | None = None

    def _on_frame(self, raw: bytes) -> list[Any]:
        message = self.decoder.decode(raw)
        assert isinstance(message, BookMessage)
        book = self.books[message.symbol]
        outcome = book.apply(message)
        if outcome is not None:
            raise AssertionError(f"profiled frame did not apply: {outcome}")
        top = BookTop(
            book.symbol,
            tuple(itertools.islice(book.bids(), DEPTH)),
            tuple(itertools.islice(book.asks(), DEPTH)),
            book.price_precision,
            book.qty_precision,
            trio.current_time(),
            book.messages_applied,
        )
        return self.detector.on_book_top(top)

    async def run(
        self, *, task_status: trio.TaskStatus[TickToOrder] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Start the venue and the trading tree, load the books; report started; run until
        cancelled."""
        execution = ExecutionSettings()
        tree = actors.SupervisorSpec(
            "root",
            [trading_supervisor(RISK, execution, self.venue, initial_balances=rich_balances())],
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(self.venue.run)
            system = actors.System(debug=False)
            await nursery.start(system.run, tree)
            await nursery.start(
                run_trading_io,
                system.bus,
                system.registry.lookup,
                self.venue,
                execution,
                "root/trading",
            )
            self._system = system
            self._cycles = system.bus.subscribe(TOPIC_CYCLES, actors.Lossless(100_000))
            for snapshot in self._snapshots:
                if self._on_frame(snapshot):
                    raise AssertionError("a fair snapshot produced an opportunity")
            await trio.sleep(0.05)  # first portfolio snapshot reaches the gate
            task_status.started(self)
            try:
                await trio.sleep_forever()
            finally:
                system.stop()

    async def once(
        self, delay_detection: Callable[[], None], delay_order: Callable[[], None]
    ) -> tuple[float, float]:
        """One tick: the rich frame in, wait for its cycle to finish. Returns seconds from the
        frame to its opportunity (decode, book, detector) and from the frame to leg 1 at the
        venue. The planted slowdown hooks run inside the timed part: ``delay_detection``
        before the opportunity is stamped, ``delay_order`` after it, before the publish. The
        restoring frame follows, untimed."""
        assert self._system is not None
        assert self._cycles is not None
        index = next(self._serial) % TRIANGLES
        handed = self.venue.handed
        handed.clear()
        start = time.perf_counter()
        found = self._on_frame(self._lifts[index])
        delay_detection()
        detected = time.perf_counter()
        delay_order()
        for opportunity in found:
            await self._system.bus.publish(TOPIC_OPPORTUNITIES, opportunity)
        if len(found) != 1:
            raise AssertionError(f"expected one opportunity per rich frame, got {len(found)}")
        await self._cycles.receive()
        if len(handed) != 3:
            raise AssertionError(f"expected 3 legs at the venue, got {len(handed)}")
        latency = detected - start, handed[0] - start
        if self._on_frame(self._restores[index]):
            raise AssertionError("the restoring frame produced an opportunity")
        await trio.sleep(SETTLE)  # the tree folds in fills and snapshots, as between real ticks
        return latency
