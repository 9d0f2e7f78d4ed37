"""Simulated venues meeting the market at market time: own books, settled instants (ADR 12)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal

import orjson
import pytest
import trio
import trio.testing

from arbitrade.backtest._fees import FeeModel, Rates
from arbitrade.backtest._market import MarketBooks, TappedTransport
from arbitrade.backtest._replay import TimedReplayTransport
from arbitrade.backtest._timeline import Timeline
from arbitrade.backtest._venue import BacktestVenue
from arbitrade.execution import ExecType, ExecutionReport, OrderRequest, PaperVenue, VenueEvent
from arbitrade.execution.testing import VenueFixture, check_venue
from arbitrade.messages import BookTop, Side
from tests.backtest.helpers import BookFrames, instrument_frame, pair

D = Decimal
FEES = FeeModel(Rates(D("0.0025"), D("0.004")), Rates(D("0.002"), D("0.002")))
SYMBOL = "ETH/USD"
TICKER = orjson.dumps(
    {"channel": "ticker", "type": "update", "data": [{"symbol": SYMBOL, "bid": 1.0}]}
).decode()


def _frames() -> tuple[str, BookFrames]:
    return instrument_frame([pair(SYMBOL)]), BookFrames(SYMBOL)


def _buy(cl_ord_id: str, qty: str, price: str = "100") -> OrderRequest:
    return OrderRequest(cl_ord_id, SYMBOL, Side.BUY, D(qty), D(price), trio.current_time() + 5)


async def _filled(events: trio.MemoryReceiveChannel[VenueEvent], cl_ord_id: str) -> Decimal:
    """The quantity ``cl_ord_id`` traded, read from the reports until it ends."""
    filled = D(0)
    with trio.fail_after(60):
        async for event in events:
            assert isinstance(event, ExecutionReport)
            if event.cl_ord_id != cl_ord_id:
                continue
            if event.exec_type is ExecType.TRADE:
                filled += event.last_qty
            if event.order_status.terminal:
                return filled
    raise AssertionError("the report stream ended")


class TestMarketBooks:
    async def test_top_when_frames_handed_over_holds_every_one_in_order(self) -> None:
        """The top is the book of every frame handed over so far, applied in order."""
        instruments, book = _frames()
        market = MarketBooks(depth=10, top_levels=10)
        for frame in (
            instruments,
            book.frame([("99", "1")], [("100", "1"), ("101", "2")], snapshot=True),
            book.frame([], [("100", "0.5")]),
            book.frame([("99.5", "3")], []),
        ):
            market.on_frame(frame)
        top = market.top(SYMBOL)
        assert top is not None
        assert top.asks == ((10000, 5000), (10100, 20000))
        assert top.bids == ((9950, 30000), (9900, 10000))
        assert top.sequence == 2
        assert market.applied == 3

    async def test_top_when_no_snapshot_yet_is_none(self) -> None:
        """Before its first snapshot a pair has no top (updates alone build nothing)."""
        instruments, book = _frames()
        book.frame([("99", "1")], [("100", "1")], snapshot=True)  # not handed over
        market = MarketBooks(depth=10, top_levels=10)
        market.on_frame(instruments)
        market.on_frame(book.frame([], [("100", "2")]))
        assert market.top(SYMBOL) is None
        assert market.symbols() == []

    async def test_top_when_checksum_fails_keeps_the_last_good_top(self) -> None:
        """A frame whose checksum fails changes nothing until the next snapshot."""
        instruments, book = _frames()
        market = MarketBooks(depth=10, top_levels=10)
        market.on_frame(instruments)
        market.on_frame(book.frame([("99", "1")], [("100", "1")], snapshot=True))
        good = market.top(SYMBOL)
        bad = orjson.loads(book.frame([], [("100", "7")]))
        bad["data"][0]["checksum"] = (bad["data"][0]["checksum"] + 1) % 2**32
        market.on_frame(orjson.dumps(bad))
        assert market.top(SYMBOL) is good
        market.on_frame(book.frame([("98", "1")], [("102", "1")], snapshot=True))
        fresh = market.top(SYMBOL)
        assert fresh is not None
        assert fresh.asks == ((10200, 10000),)

    async def test_listen_when_frames_arrive_is_called_for_book_changes_only(self) -> None:
        """Listeners hear of each book change, in order; other channels are ignored."""
        instruments, book = _frames()
        market = MarketBooks(depth=10, top_levels=10)
        heard: list[str] = []
        market.listen(heard.append)
        market.on_frame(instruments)
        market.on_frame(book.frame([("99", "1")], [("100", "1")], snapshot=True))
        market.on_frame(TICKER)
        market.on_frame(book.frame([], [("100", "2")]).encode())
        assert heard == [SYMBOL, SYMBOL]
        assert market.frames == 4


class _ScriptedConnection:
    def __init__(self, inbound: trio.MemoryReceiveChannel[str]) -> None:
        self._inbound = inbound

    async def receive(self) -> str:
        return await self._inbound.receive()

    async def send(self, frame: str | bytes) -> None:
        await trio.lowlevel.checkpoint()


class _ReadyConnection(_ScriptedConnection):
    def receive_nowait(self) -> str:
        return self._inbound.receive_nowait()


class _ScriptedTransport:
    """One connection whose frames a test pushes through a memory channel."""

    def __init__(self, *, ready: bool = False) -> None:
        self.push, self._inbound = trio.open_memory_channel[str](math.inf)
        self._ready = ready

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[_ScriptedConnection]:
        await trio.lowlevel.checkpoint()
        kind = _ReadyConnection if self._ready else _ScriptedConnection
        yield kind(self._inbound)


async def test_receive_when_tapped_gives_each_frame_to_the_tap_first(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A tapped connection hands every frame to the tap before the client gets it."""
    inner = _ScriptedTransport()
    tapped: list[str | bytes] = []
    transport = TappedTransport(inner, tapped.append)
    async with transport.connect("memory://") as connection:
        inner.push.send_nowait("one")
        inner.push.send_nowait("two")
        assert await connection.receive() == "one"
        assert tapped == ["one"]
        assert await connection.receive() == "two"
    assert tapped == ["one", "two"]


async def test_receive_nowait_when_tapped_taps_ready_frames_too(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Frames taken without waiting reach the tap as well; WouldBlock when none is ready."""
    inner = _ScriptedTransport(ready=True)
    tapped: list[str | bytes] = []
    async with TappedTransport(inner, tapped.append).connect("memory://") as connection:
        inner.push.send_nowait("one")
        assert connection.receive_nowait() == "one"  # type: ignore[attr-defined]
        with pytest.raises(trio.WouldBlock):
            connection.receive_nowait()  # type: ignore[attr-defined]
    assert tapped == ["one"]


async def test_receive_nowait_when_inner_cannot_take_ready_frames_would_block(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A tapped connection whose inner one has no receive_nowait says WouldBlock."""
    inner = _ScriptedTransport()
    async with TappedTransport(inner, print).connect("memory://") as connection:
        inner.push.send_nowait("one")
        with pytest.raises(trio.WouldBlock):
            connection.receive_nowait()  # type: ignore[attr-defined]


async def _busy(steps: list[int]) -> None:
    for index in range(10):
        await trio.lowlevel.checkpoint()
        steps.append(index)


async def test_receive_when_tapped_in_lockstep_waits_for_the_last_frame_to_settle(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """In lockstep, the next frame is taken only once what the last one started has settled."""
    inner = _ScriptedTransport()
    steps: list[int] = []
    transport = TappedTransport(inner, print, lockstep=True)
    async with trio.open_nursery() as nursery, transport.connect("memory://") as connection:
        inner.push.send_nowait("one")
        inner.push.send_nowait("two")
        assert await connection.receive() == "one"
        nursery.start_soon(_busy, steps)
        assert await connection.receive() == "two"
        assert len(steps) == 10


async def test_replay_when_frames_share_an_instant_hands_them_over_in_lockstep(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The replay hands over the next frame of an instant only once the last one settled."""
    transport = TimedReplayTransport([1.0, 1.0], ["one", "two"])
    steps: list[int] = []
    async with trio.open_nursery() as nursery, transport.connect("replay://") as connection:
        assert await connection.receive() == "one"
        nursery.start_soon(_busy, steps)
        assert await connection.receive() == "two"
        assert len(steps) == 10
        assert trio.current_time() == 1.0


class TestBacktestVenueOnTheReplay:
    async def _run(
        self, times: Sequence[float], frames: Sequence[str], act: dict[int, list[OrderRequest]]
    ) -> tuple[BacktestVenue, dict[str, Decimal]]:
        """Replay ``frames``; after receiving frame ``i`` the client sends ``act[i]`` at once
        (zero latency). Returns the venue and each order's filled quantity."""
        market = MarketBooks(depth=10, top_levels=10)
        transport = TimedReplayTransport(times, frames, on_handover=market.on_frame)
        venue = BacktestVenue(fees=FEES, scheduler=transport, market=market)
        orders = [order for batch in act.values() for order in batch]

        async def client() -> None:
            async with transport.connect("replay://") as connection:
                for index in range(len(frames)):
                    await connection.receive()
                    for order in act.get(index, []):
                        await venue.submit(order)
                await connection.receive()  # serves the venue's callbacks after the last frame

        async with trio.open_nursery() as nursery:
            await nursery.start(venue.run)
            nursery.start_soon(client)
            filled = {o.cl_ord_id: await _filled(venue.events, o.cl_ord_id) for o in orders}
            nursery.cancel_scope.cancel()
        return venue, filled

    async def test_order_when_zero_latency_meets_every_frame_of_its_instant(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A zero-latency order meets the book after every frame of its instant, none later."""
        instruments, book = _frames()
        frames = [
            instruments,
            book.frame([("99", "1")], [("100", "1")], snapshot=True),
            book.frame([], [("100", "1.5")]),  # the order is sent on this one...
            book.frame([], [("100", "0.5")]),  # ...and meets this one, of the same instant
            book.frame([], [("100", "3")]),  # but not this later one
        ]
        _, filled = await self._run([1.0, 2.0, 3.0, 3.0, 4.0], frames, {2: [_buy("a", "1")]})
        assert filled == {"a": D("0.5")}

    async def test_orders_when_due_in_one_instant_share_the_size_in_the_order_sent(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Two orders of one instant take one level's size first come, first served; a frame
        that changes the level makes its new size available again."""
        instruments, book = _frames()
        frames = [
            instruments,
            book.frame([("99", "1")], [("100", "1")], snapshot=True),
            book.frame([("99.5", "1")], []),
            book.frame([], [("100", "0.8")]),
        ]
        venue, filled = await self._run(
            [1.0, 2.0, 3.0, 4.0],
            frames,
            {2: [_buy("a", "0.7"), _buy("b", "0.7")], 3: [_buy("c", "0.7")]},
        )
        assert filled == {"a": D("0.7"), "b": D("0.3"), "c": D("0.7")}
        assert venue.statistics().trades == 3

    async def test_observe_book_when_the_venue_has_its_own_market_is_ignored(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The executor's tops do not reach a venue that has its own books."""
        market = MarketBooks(depth=10, top_levels=10)
        venue = BacktestVenue(fees=FEES, market=market)
        venue.observe_book(BookTop(SYMBOL, ((9900, 10**4),), ((10000, 10**4),), 2, 4, 0.0, 0))
        assert venue.top(SYMBOL) is None
        assert venue.symbols() == []


async def test_paper_match_when_zero_latency_meets_every_frame_of_its_instant(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A paper venue with its own books on a settling time line matches a zero-latency order
    after every frame of its instant, however late in the instant that frame came."""
    instruments, book = _frames()
    inner = _ScriptedTransport()
    market = MarketBooks(depth=10, top_levels=10)
    timeline = Timeline(settle=True)
    venue = PaperVenue(taker_fee_rate=D("0.004"), market=market, scheduler=timeline)
    transport = TappedTransport(inner, market.on_frame)
    late = book.frame([], [("100", "0.25")])

    async def client() -> None:
        async with transport.connect("memory://") as connection:
            for _ in range(3):
                await connection.receive()
            await venue.submit(_buy("a", "1"))
            for _ in range(5):  # the instant's last frame comes well after the order was sent
                await trio.lowlevel.checkpoint()
            inner.push.send_nowait(late)
            await connection.receive()

    async with trio.open_nursery() as nursery:
        await nursery.start(timeline.run)
        await nursery.start(venue.run)
        inner.push.send_nowait(instruments)
        inner.push.send_nowait(book.frame([("99", "1")], [("100", "1")], snapshot=True))
        inner.push.send_nowait(book.frame([], [("100", "2")]))
        nursery.start_soon(client)
        assert await _filled(venue.events, "a") == D("0.25")
        nursery.cancel_scope.cancel()


async def test_callback_when_timeline_settles_runs_after_the_instants_other_work(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A settling time line runs a callback due now only once every task has run out of work."""
    timeline = Timeline(settle=True)
    steps: list[str] = []

    async def busy() -> None:
        for index in range(10):
            await trio.lowlevel.checkpoint()
            steps.append(f"work {index}")

    async with trio.open_nursery() as nursery:
        await nursery.start(timeline.run)
        start = trio.current_time()
        timeline.call_at(start, lambda: steps.append("callback"))
        nursery.start_soon(busy)
        await trio.sleep(1)
        assert steps[-1] == "callback"
        assert len(steps) == 11
        assert trio.current_time() == start + 1
        nursery.cancel_scope.cancel()


def _market_with_a_book() -> MarketBooks:
    """ETH/USD with 1 ETH offered at 100 and a bid at 99, handed over now."""
    instruments, book = _frames()
    market = MarketBooks(depth=10, top_levels=10)
    market.on_frame(instruments)
    market.on_frame(book.frame([("99", "1")], [("100", "1")], snapshot=True))
    return market


async def test_conformance_when_backtest_venue_has_its_own_market_passes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A backtest venue meeting its own books on a settling time line passes the suite."""

    @asynccontextmanager
    async def make() -> AsyncIterator[VenueFixture]:
        timeline = Timeline(settle=True)
        venue = BacktestVenue(fees=FEES, scheduler=timeline, market=_market_with_a_book())
        async with trio.open_nursery() as nursery:
            await nursery.start(timeline.run)
            await nursery.start(venue.run)
            yield VenueFixture(venue, SYMBOL, D("0.5"), D("100"), D("99.5"))
            nursery.cancel_scope.cancel()

    await check_venue(make)


async def test_conformance_when_paper_venue_has_its_own_market_passes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A paper venue meeting its own books on a settling time line passes the suite."""

    @asynccontextmanager
    async def make() -> AsyncIterator[VenueFixture]:
        timeline = Timeline(settle=True)
        venue = PaperVenue(
            taker_fee_rate=D("0.004"), market=_market_with_a_book(), scheduler=timeline
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(timeline.run)
            await nursery.start(venue.run)
            yield VenueFixture(venue, SYMBOL, D("0.5"), D("100"), D("99.5"))
            nursery.cancel_scope.cancel()

    await check_venue(make)
