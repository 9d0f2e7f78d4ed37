"""One WebSocket v2 connection: requests, acknowledgements, subscriptions and publishing.

Three tasks per connection: the reader answers requests in order; the publisher wakes on the
simulator's pulse and sends what changed for each subscription (a slow client skips
intermediate book states, never gets an inconsistent book; it gets every status change,
execution and trade, in order); the writer sends frames and applies the frame-level faults
(garbage, truncation). The connection closes when the client goes, when a "drop connections"
fault fires, when the server stops, or when the client cannot keep up: its outgoing queue
stays full for ``slow_client_seconds``, or it fell behind what the simulator keeps of status
changes or executions (``sim.ws.slow_consumer``). Trades a lagging connection fell behind are
skipped as before, but said (``sim.ws.trades_skipped``): the market prints hundreds a second.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
import trio

from arbitrade.sim._book import Side, book_checksum
from arbitrade.sim._channels import (
    BOOK_DEPTHS,
    BookView,
    book_message,
    instrument_message,
    ohlc_data,
    ticker_data,
    trade_data,
)
from arbitrade.sim._config import RATE_TIERS
from arbitrade.sim._engine import OrderRequest
from arbitrade.sim._errors import EntriesForgotten
from arbitrade.sim._orders import Order, OrderRejected
from arbitrade.sim._simulator import Simulator
from arbitrade.sim._stats import OHLC_INTERVALS
from arbitrade.sim._time import rfc3339
from arbitrade.sim._universe import Pair

log = structlog.get_logger(__name__)

SendText = Callable[[str], Awaitable[None]]
ReceiveText = Callable[[], Awaitable[str | None]]

_PUBLIC_CHANNELS = frozenset({"book", "ticker", "trade", "ohlc", "instrument"})
_GARBAGE = "\x00\x01<html>502 Bad Gateway</html>\xff"
_INVALID_TOKEN = "ESession:Invalid session"  # noqa: S105 - an error string
_OUTBOX_FRAMES = 2000
"""Frames queued for one connection's writer; when full the publisher waits (bounded)."""
_SNAPSHOT_FILLS = 50
"""Kraken's ``snap_trades``: the snapshot holds this many of the latest fills."""


class _Closed(Exception):
    """The client went away (internal control flow)."""


class Connection:
    """The server side of one WebSocket v2 connection (public or private endpoint)."""

    def __init__(self, sim: Simulator, *, private: bool, connection_id: int) -> None:
        self.sim = sim
        self.private = private
        self.connection_id = connection_id
        self.books: dict[str, BookView] = {}
        self.tickers: dict[str, tuple[str, tuple[int, int, int, int]]] = {}
        self.trades: set[str] = set()
        self.ohlc: dict[str, set[int]] = {}
        self.instrument = False
        self.executions_key: str | None = None
        self._executions_cursor = 0
        self._sequence = 0
        self._trade_cursor = sim.trade_log.end
        self._status_cursor = sim.status_changes.end
        self._send, self._receive = trio.open_memory_channel[str](_OUTBOX_FRAMES)
        self._last_sent = 0.0
        self._scope: trio.CancelScope | None = None
        self.closed_as_slow: str | None = None
        """Why the connection was closed for not keeping up (None while it keeps up)."""

    # -- running -----------------------------------------------------------------------------
    async def run(self, send_text: SendText, receive_text: ReceiveText) -> None:
        """Serve the connection until the client closes or a drop fault fires."""
        drop_generation = self.sim.drop_generation
        async with trio.open_nursery() as nursery:
            self._scope = nursery.cancel_scope
            nursery.start_soon(self._writer, send_text)
            await self._queue(self._status_message())

            async def read() -> None:
                try:
                    await self._reader(receive_text)
                finally:
                    nursery.cancel_scope.cancel()

            nursery.start_soon(read)
            nursery.start_soon(self._publisher)
            nursery.start_soon(self._dropper, drop_generation, nursery.cancel_scope)

    async def _dropper(self, generation: int, scope: trio.CancelScope) -> None:
        started = trio.current_time()
        while True:
            every = self.sim.faults.drop_every_seconds
            if self.sim.drop_generation != generation or (
                every > 0 and trio.current_time() - started >= every
            ):
                log.info("sim.ws.dropped", connection_id=self.connection_id)
                scope.cancel()
                return
            with trio.move_on_after(0.1 if every else math.inf):
                await self.sim.pulse.wait_past(self.sim.pulse.generation)

    async def _writer(self, send_text: SendText) -> None:
        async for frame in self._receive:
            faults = self.sim.faults
            if faults.garbage_frames and self.sim.take_fault("garbage_frames"):
                await send_text(_GARBAGE)
            channel_message = '"channel"' in frame[:20]
            if (
                faults.truncated_frames
                and channel_message
                and self.sim.take_fault("truncated_frames")
            ):
                frame = frame[: max(1, len(frame) // 2)]
            await send_text(frame)
            self._last_sent = trio.current_time()

    async def _queue(self, message: dict[str, Any]) -> None:
        await self._put(orjson.dumps(message).decode())

    async def _put(self, text: str) -> None:
        """Queue one frame; wait while the outbox is full, at most ``slow_client_seconds``.

        A client that has not read for that long is closed as Kraken closes one that does
        not keep up: frames are never dropped from a connection that stays open.
        """
        try:
            self._send.send_nowait(text)
            return
        except trio.WouldBlock:
            pass
        with trio.move_on_after(self.sim.config.slow_client_seconds):
            await self._send.send(text)
            return
        self._close_as_slow(f"outbox full for {self.sim.config.slow_client_seconds:g} s")
        await trio.lowlevel.checkpoint()  # the cancelled scope stops us here

    def _close_as_slow(self, reason: str) -> None:
        log.warning("sim.ws.slow_consumer", connection_id=self.connection_id, reason=reason)
        self.closed_as_slow = reason
        if self._scope is not None:
            self._scope.cancel()

    async def _flush(self, messages: list[dict[str, Any]]) -> None:
        # send_nowait is no checkpoint: the market's tick cannot run between these frames, so
        # a burst goes out whole; only a full outbox (a slow client) makes us wait.
        for message in messages:
            await self._put(orjson.dumps(message).decode())

    async def _reader(self, receive_text: ReceiveText) -> None:
        while True:
            text = await receive_text()
            if text is None:
                return
            time_in = self.sim.clock()
            try:
                request = orjson.loads(text)
            except orjson.JSONDecodeError:
                await self._queue(
                    {
                        "error": "Malformed request",
                        "success": False,
                        "time_in": rfc3339(time_in),
                        "time_out": rfc3339(time_in),
                    }
                )
                continue
            if not isinstance(request, dict):
                continue
            if self.sim.faults.ack_delay_seconds:
                await trio.sleep(self.sim.faults.ack_delay_seconds)
            await self._dispatch(request, time_in)

    # -- requests ----------------------------------------------------------------------------
    def _ack(
        self,
        request: dict[str, Any],
        time_in: float,
        *,
        result: Any = None,
        error: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"method": request.get("method")}
        if "req_id" in request:
            message["req_id"] = request["req_id"]
        if error is not None:
            message["error"] = error
            message["success"] = False
        else:
            if result is not None:
                message["result"] = result
            message["success"] = True
        message.update(extra)
        message["time_in"] = rfc3339(time_in)
        message["time_out"] = rfc3339(self.sim.clock())
        return message

    async def _dispatch(self, request: dict[str, Any], time_in: float) -> None:
        method = request.get("method")
        params = request.get("params") if isinstance(request.get("params"), dict) else {}
        assert isinstance(params, dict)
        if method == "ping":
            message = {"method": "pong"}
            if "req_id" in request:
                message["req_id"] = request["req_id"]
            message["time_in"] = rfc3339(time_in)
            message["time_out"] = rfc3339(self.sim.clock())
            await self._queue(message)
        elif method in ("subscribe", "unsubscribe"):
            await self._subscription(request, params, time_in, subscribe=method == "subscribe")
        elif isinstance(method, str) and method in _PRIVATE_METHODS:
            if not self.private:
                await self._queue(self._ack(request, time_in, error="Method not supported"))
                return
            key = self.sim.key_for_token(params.get("token"))
            if key is None:
                await self._queue(self._ack(request, time_in, error=_INVALID_TOKEN))
                return
            if "trade" not in self.sim.keys[key].permissions:
                await self._queue(self._ack(request, time_in, error="EGeneral:Permission denied"))
                return
            await _PRIVATE_METHODS[method](self, key, request, params, time_in)
        else:
            await self._queue(self._ack(request, time_in, error="Method not found"))

    async def _subscription(
        self, request: dict[str, Any], params: dict[str, Any], time_in: float, *, subscribe: bool
    ) -> None:
        channel = params.get("channel")
        if channel == "executions":
            await self._executions(request, params, time_in, subscribe=subscribe)
            return
        if not isinstance(channel, str) or channel not in _PUBLIC_CHANNELS:
            await self._queue(self._ack(request, time_in, error="Channel not supported"))
            return
        if channel == "instrument":
            self.instrument = subscribe
            ack = {
                "channel": "instrument",
                "snapshot": bool(params.get("snapshot", True)),
                "warnings": ["tick_size is deprecated, use price_increment"],
            }
            await self._queue(self._ack(request, time_in, result=ack))
            if subscribe and params.get("snapshot", True) and "instrument" not in self._stalled():
                await self._queue(instrument_message(self.sim))
            return
        symbols = params.get("symbol")
        if not isinstance(symbols, list) or not symbols:
            await self._queue(self._ack(request, time_in, error="EGeneral:Invalid arguments"))
            return
        depth = params.get("depth", 10)
        # type() is int: 10.0 and True compare equal to a valid depth or interval, then break.
        if channel == "book" and (type(depth) is not int or depth not in BOOK_DEPTHS):
            await self._queue(self._ack(request, time_in, error="EGeneral:Invalid arguments:depth"))
            return
        interval = params.get("interval", 1)
        if channel == "ohlc" and (type(interval) is not int or interval not in OHLC_INTERVALS):
            await self._queue(
                self._ack(request, time_in, error="EGeneral:Invalid arguments:interval")
            )
            return
        snapshot = bool(params.get("snapshot", True))
        for symbol in symbols:
            pair = self.sim.universe.find_pair(symbol) if isinstance(symbol, str) else None
            if pair is None or pair.symbol != symbol:
                await self._queue(
                    self._ack(
                        request,
                        time_in,
                        symbol=symbol,
                        error=f"Currency pair not supported {symbol}",
                    )
                )
                continue
            result: dict[str, Any] = {"channel": channel}
            if channel == "book":
                result.update(depth=depth, snapshot=snapshot, symbol=symbol)
            elif channel == "ticker":
                trigger = params.get("event_trigger", "trades")
                result.update(event_trigger=trigger, snapshot=snapshot, symbol=symbol)
            elif channel == "ohlc":
                result.update(interval=interval, snapshot=snapshot, symbol=symbol)
            else:
                result.update(snapshot=snapshot, symbol=symbol)
            await self._queue(self._ack(request, time_in, result=result))
            if subscribe:
                await self._start(channel, pair, params, snapshot, depth, interval)
            else:
                self._stop(channel, pair, interval)

    async def _start(
        self,
        channel: str,
        pair: Pair,
        params: dict[str, Any],
        snapshot: bool,
        depth: int,
        interval: int,
    ) -> None:
        sim = self.sim
        symbol = pair.symbol
        if channel == "book":
            view = BookView(depth)
            self.books[symbol] = view
            book = sim.model.book(symbol)
            bids, asks = view.snapshot(book)
            if snapshot:
                await self._queue(
                    book_message(
                        pair, "snapshot", bids, asks, self._checksum(symbol), sim.model.now()
                    )
                )
        elif channel == "ticker":
            trigger = params.get("event_trigger", "trades")
            self.tickers[symbol] = (str(trigger), self._bbo(symbol))
            if snapshot:
                await self._queue(
                    {"channel": "ticker", "type": "snapshot", "data": [ticker_data(sim, pair)]}
                )
        elif channel == "trade":
            self.trades.add(symbol)
            if snapshot:
                recent = [t for t in sim.trade_log[-5000:] if t.symbol == symbol][-50:]
                await self._queue(
                    {
                        "channel": "trade",
                        "type": "snapshot",
                        "data": [trade_data(sim, pair, t) for t in recent],
                    }
                )
        elif channel == "ohlc":
            self.ohlc.setdefault(symbol, set()).add(interval)
            if snapshot:
                now = sim.model.now()
                candle = sim.model.stats(symbol).candle(interval, now)
                await self._queue(
                    {
                        "channel": "ohlc",
                        "type": "snapshot",
                        "timestamp": rfc3339(now),
                        "data": [ohlc_data(pair, candle, now)],
                    }
                )

    def _stop(self, channel: str, pair: Pair, interval: int) -> None:
        if channel == "book":
            self.books.pop(pair.symbol, None)
        elif channel == "ticker":
            self.tickers.pop(pair.symbol, None)
        elif channel == "trade":
            self.trades.discard(pair.symbol)
        elif channel == "ohlc":
            self.ohlc.get(pair.symbol, set()).discard(interval)

    async def _executions(
        self, request: dict[str, Any], params: dict[str, Any], time_in: float, *, subscribe: bool
    ) -> None:
        if not self.private:
            await self._queue(self._ack(request, time_in, error="Channel not supported"))
            return
        token = params.get("token")
        key = self.sim.key_for_token(token)
        if key is None:
            await self._queue(self._ack(request, time_in, error=_INVALID_TOKEN))
            return
        snap_orders = bool(params.get("snap_orders", True))
        snap_trades = bool(params.get("snap_trades", False))
        result = {
            "channel": "executions",
            "maxratecount": RATE_TIERS[self.sim.keys[key].rate_tier][1][0],
            "snapshot": snap_orders,
            "snap_orders": snap_orders,
            "snap_trades": snap_trades,
        }
        await self._queue(self._ack(request, time_in, result=result))
        if not subscribe:
            self.executions_key = None
            return
        assert isinstance(token, str)
        self.sim.hold_token(token)
        self.executions_key = key
        events = self.sim.executions.get(key)
        self._executions_cursor = events.end if events is not None else 0
        # Kraken: the last 50 fills (oldest first) when asked, then the open orders; fills
        # first so a reader folding by cum_qty meets each trade before the totals it explains
        data: list[dict[str, Any]] = []
        if snap_trades:
            fills = [e for e in self.sim.executions.get(key, ()) if e.get("exec_type") == "trade"]
            data.extend(fills[-_SNAPSHOT_FILLS:])
        if snap_orders:
            data.extend(self._order_snapshot(order) for order in self.sim.engine.open_orders(key))
        self._sequence += 1
        await self._queue(
            {"channel": "executions", "type": "snapshot", "data": data, "sequence": self._sequence}
        )

    def _order_snapshot(self, order: Order) -> dict[str, Any]:
        from arbitrade.sim._reports import execution_event

        pair = self.sim.universe.pair(order.symbol)
        return execution_event(order, pair, "new", None, self.sim.model.usd_price(pair.quote.name))

    # -- publishing --------------------------------------------------------------------------
    def _stalled(self) -> frozenset[str]:
        return self.sim.faults.stalled_channels

    def _checksum(self, symbol: str) -> int:
        checksum = book_checksum(self.sim.model.book(symbol))
        if self.sim.faults.corrupt_checksums and self.sim.take_fault("corrupt_checksums"):
            checksum = zlib.crc32(str(checksum).encode()) or 1
        return checksum

    def _bbo(self, symbol: str) -> tuple[int, int, int, int]:
        book = self.sim.model.book(symbol)
        bid, ask = book.best(Side.BID) or 0, book.best(Side.ASK) or 0
        return bid, book.quantity(Side.BID, bid), ask, book.quantity(Side.ASK, ask)

    async def _publisher(self) -> None:
        sim = self.sim
        seen = sim.pulse.generation
        heartbeat = sim.config.heartbeat_seconds
        while True:
            with trio.move_on_after(heartbeat):
                await sim.pulse.wait_past(seen)
            seen = sim.pulse.generation
            try:
                messages = self._collect()
            except EntriesForgotten as behind:
                self._close_as_slow(str(behind))
                await trio.lowlevel.checkpoint()
                return
            sent = len(messages)
            await self._flush(messages)
            subscribed = bool(
                self.books
                or self.tickers
                or self.trades
                or self.ohlc
                or self.instrument
                or self.executions_key
            )
            idle = trio.current_time() - self._last_sent >= heartbeat
            if not sent and subscribed and idle and "heartbeat" not in self._stalled():
                await self._queue({"channel": "heartbeat"})

    def _collect(self) -> list[dict[str, Any]]:
        """Everything due on this connection now, built without yielding to other tasks.

        Raises:
            EntriesForgotten: the connection fell behind what the simulator keeps of status
                changes, trades or executions; the caller closes it.
        """
        sim = self.sim
        stalled = self._stalled()
        out: list[dict[str, Any]] = []
        # Every change, in order: a status that flips and flips back is two messages.
        for system in sim.status_changes.since(self._status_cursor):
            out.append(self._status_message(system))
        self._status_cursor = sim.status_changes.end
        now = sim.model.now()
        if "book" not in stalled:
            for symbol, view in list(self.books.items()):
                changes = view.diff(sim.model.book(symbol))
                if changes is not None:
                    pair = sim.universe.pair(symbol)
                    message = book_message(
                        pair, "update", changes[0], changes[1], self._checksum(symbol), now
                    )
                    out.append(message)
        new_trades, behind = self._new_trades()
        traded = {t.symbol for t in new_trades}
        if behind:
            # Tickers and candles are state: sent as they are now for every symbol that may
            # have traded among the trades forgotten.
            traded |= set(self.tickers) | set(self.ohlc)
        if "trade" not in stalled and self.trades:
            out.extend(self._trade_messages(new_trades))
        if "ticker" not in stalled and self.tickers:
            for symbol, (trigger, last_bbo) in list(self.tickers.items()):
                bbo = self._bbo(symbol)
                if (trigger == "bbo" and bbo != last_bbo) or (
                    trigger != "bbo" and symbol in traded
                ):
                    self.tickers[symbol] = (trigger, bbo)
                    out.append(
                        {
                            "channel": "ticker",
                            "type": "update",
                            "data": [ticker_data(sim, sim.universe.pair(symbol))],
                        }
                    )
        if "ohlc" not in stalled and self.ohlc:
            for symbol, intervals in list(self.ohlc.items()):
                if symbol not in traded:
                    continue
                pair = sim.universe.pair(symbol)
                stats = sim.model.stats(symbol)
                for interval in sorted(intervals):
                    out.append(
                        {
                            "channel": "ohlc",
                            "type": "update",
                            "timestamp": rfc3339(now),
                            "data": [ohlc_data(pair, stats.candle(interval, now), now)],
                        }
                    )
        if self.executions_key is not None and "executions" not in stalled:
            events = sim.executions.get(self.executions_key)
            if events is not None and events.end > self._executions_cursor:
                for event in events.since(self._executions_cursor):
                    self._sequence += 1
                    out.append(
                        {
                            "channel": "executions",
                            "type": "update",
                            "data": [event],
                            "sequence": self._sequence,
                        }
                    )
                self._executions_cursor = events.end
        return out

    def _new_trades(self) -> tuple[list[Any], bool]:
        """Trades printed since the last call, and whether some were forgotten meanwhile.

        A connection behind the trade record (it read slower than the market printed, for
        longer than ``trades_keep`` trades) gets the trades still kept and skips the older
        ones, never silently: ``sim.ws.trades_skipped`` says how many when it has a trade
        subscription. Tickers and candles are state: they are then sent as they are now.
        """
        trade_log = self.sim.trade_log
        if not self.trades and not self.tickers and not self.ohlc:
            # Nothing here reads trades: never fall behind for want of reading them.
            self._trade_cursor = trade_log.end
            return [], False
        behind = False
        try:
            new = trade_log.since(self._trade_cursor)
        except EntriesForgotten as forgotten:
            behind = True
            if self.trades:
                log.warning(
                    "sim.ws.trades_skipped",
                    connection_id=self.connection_id,
                    skipped=forgotten.start - forgotten.position,
                )
            new = trade_log.since(forgotten.start)
        self._trade_cursor = trade_log.end
        return new, behind

    def _trade_messages(self, trades: list[Any]) -> list[dict[str, Any]]:
        by_symbol: dict[str, list[Any]] = {}
        for trade in trades:
            if trade.symbol in self.trades:
                by_symbol.setdefault(trade.symbol, []).append(trade)
        out: list[dict[str, Any]] = []
        for symbol, items in by_symbol.items():
            pair = self.sim.universe.pair(symbol)
            out.append(
                {
                    "channel": "trade",
                    "type": "update",
                    "data": [trade_data(self.sim, pair, t) for t in items],
                }
            )
        return out

    def _status_message(self, system: str | None = None) -> dict[str, Any]:
        return {
            "channel": "status",
            "type": "update",
            "data": [
                {
                    "api_version": "v2",
                    "connection_id": self.connection_id,
                    "system": self.sim.faults.system_status if system is None else system,
                    "version": "2.0.10",
                }
            ],
        }

    # -- private methods ---------------------------------------------------------------------
    async def _add_order(
        self, key: str, request: dict[str, Any], params: dict[str, Any], time_in: float
    ) -> None:
        try:
            order = self._place(key, params, params.get("symbol"), "add_order")
        except OrderRejected as rejected:
            await self._queue(self._ack(request, time_in, error=rejected.error))
            return
        await self._queue(self._ack(request, time_in, result=_order_result(order)))

    def _place(self, key: str, params: dict[str, Any], symbol: Any, method: str) -> Order | None:
        deadline = params.get("deadline")
        if isinstance(deadline, str) and deadline < rfc3339(self.sim.clock()):
            raise OrderRejected("EService:Deadline elapsed")
        userref = params.get("order_userref")
        request = OrderRequest(
            symbol=str(symbol or ""),
            side=str(params.get("side", "")),
            order_type=str(params.get("order_type", "")),
            qty=params.get("order_qty"),
            limit_price=params.get("limit_price"),
            time_in_force=str(params.get("time_in_force", "gtc")).lower(),
            post_only=bool(params.get("post_only", False)),
            cl_ord_id=params.get("cl_ord_id") if isinstance(params.get("cl_ord_id"), str) else None,
            userref=userref if isinstance(userref, int) else None,
            validate=bool(params.get("validate", False)),
        )
        public = {k: v for k, v in params.items() if k != "token"}
        return self.sim.place_order(key, request, transport="ws", method=method, params=public)

    async def _batch_add(
        self, key: str, request: dict[str, Any], params: dict[str, Any], time_in: float
    ) -> None:
        orders = params.get("orders")
        if not isinstance(orders, list) or not 2 <= len(orders) <= 15:
            await self._queue(self._ack(request, time_in, error="EGeneral:Invalid arguments"))
            return
        symbol = params.get("symbol")
        results: list[Any] = []
        # Validate all first: a validation failure rejects the whole batch.
        for item in orders:
            if not isinstance(item, dict):
                await self._queue(self._ack(request, time_in, error="EGeneral:Invalid arguments"))
                return
        for item in orders:
            merged = {
                **item,
                "token": params.get("token"),
                "validate": params.get("validate", False),
            }
            try:
                order = self._place(key, merged, symbol, "batch_add")
            except OrderRejected as rejected:
                results.append({"error": rejected.error})
                continue
            results.append(_order_result(order))
        await self._queue(self._ack(request, time_in, result=results))

    async def _cancel_order(
        self, key: str, request: dict[str, Any], params: dict[str, Any], time_in: float
    ) -> None:
        engine = self.sim.engine
        lists = {name: params.get(name) for name in ("order_id", "cl_ord_id", "order_userref")}
        if not any(isinstance(v, list) and v for v in lists.values()):
            await self._queue(self._ack(request, time_in, error="EGeneral:Invalid arguments"))
            return
        idents: list[tuple[str, Any]] = [
            (name, value)
            for name, values in lists.items()
            if isinstance(values, list)
            for value in values
        ]
        for name, value in idents:
            found = engine.find_orders(
                key,
                order_ids=[value] if name == "order_id" and isinstance(value, str) else [],
                cl_ord_ids=[value] if name == "cl_ord_id" and isinstance(value, str) else [],
                userrefs=[value] if name == "order_userref" and isinstance(value, int) else [],
            )
            open_orders = [o for o in found if o.is_open]
            if not open_orders:
                await self._queue(self._ack(request, time_in, error="EOrder:Unknown order"))
                continue
            for order in open_orders:
                try:
                    self.sim.cancel_order(key, order)
                except OrderRejected as rejected:
                    await self._queue(self._ack(request, time_in, error=rejected.error))
                    continue
                result: dict[str, Any] = {"order_id": order.order_id}
                if order.cl_ord_id is not None:
                    result["cl_ord_id"] = order.cl_ord_id
                await self._queue(self._ack(request, time_in, result=result))

    async def _batch_cancel(
        self, key: str, request: dict[str, Any], params: dict[str, Any], time_in: float
    ) -> None:
        ids = params.get("orders")
        if not isinstance(ids, list) or not 2 <= len(ids) <= 50:
            await self._queue(self._ack(request, time_in, error="EGeneral:Invalid arguments"))
            return
        count = 0
        for ident in ids:
            for order in self.sim.engine.find_orders(
                key, order_ids=[str(ident)], cl_ord_ids=[str(ident)]
            ):
                if order.is_open:
                    try:
                        self.sim.cancel_order(key, order)
                        count += 1
                    except OrderRejected:
                        continue
        await self._queue(self._ack(request, time_in, result={"count": count}))

    async def _cancel_all(
        self, key: str, request: dict[str, Any], params: dict[str, Any], time_in: float
    ) -> None:
        try:
            count = self.sim.cancel_all(key)
        except OrderRejected as rejected:
            await self._queue(self._ack(request, time_in, error=rejected.error))
            return
        await self._queue(self._ack(request, time_in, result={"count": count}))

    async def _cancel_after(
        self, key: str, request: dict[str, Any], params: dict[str, Any], time_in: float
    ) -> None:
        timeout = params.get("timeout")
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not 0 <= timeout < 86400:
            await self._queue(self._ack(request, time_in, error="EGeneral:Invalid arguments"))
            return
        now = self.sim.clock()
        trigger = now + timeout if timeout else now
        self.sim.arm_dead_man_switch(key, timeout)
        result = {
            "currentTime": rfc3339(now)[:19] + "Z",
            "triggerTime": rfc3339(trigger)[:19] + "Z",
        }
        await self._queue(self._ack(request, time_in, result=result))


def _order_result(order: Order | None) -> dict[str, Any]:
    if order is None:
        return {}
    result: dict[str, Any] = {"order_id": order.order_id}
    if order.cl_ord_id is not None:
        result["cl_ord_id"] = order.cl_ord_id
    if order.userref is not None:
        result["order_userref"] = order.userref
    return result


_PrivateMethod = Callable[[Connection, str, dict[str, Any], dict[str, Any], float], Awaitable[None]]
_PRIVATE_METHODS: dict[str, _PrivateMethod] = {
    "add_order": Connection._add_order,
    "batch_add": Connection._batch_add,
    "cancel_order": Connection._cancel_order,
    "batch_cancel": Connection._batch_cancel,
    "cancel_all": Connection._cancel_all,
    "cancel_all_orders_after": Connection._cancel_after,
}
