"""Typed, immutable messages of Kraken's WebSocket v2 envelope and public channels.

Every frame the codec reads becomes exactly one of these values (or a :class:`DecodeError`).
Prices and quantities are exact: :class:`~decimal.Decimal` in general, integer ticks and lots
(at the instrument's precisions) in :class:`BookMessage`, whose hot path cannot afford Decimals.
Timestamps stay the RFC 3339 strings Kraken sent (some have nine fractional digits, which
``datetime`` cannot hold).
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

import attrs

from arbitrade.market.book import Level

__all__ = [
    "AssetInfo",
    "BookBatch",
    "BookMessage",
    "Candle",
    "DecodeError",
    "Heartbeat",
    "InstrumentMessage",
    "OhlcMessage",
    "PairInfo",
    "Pong",
    "RequestRejected",
    "Status",
    "SubscriptionAck",
    "Ticker",
    "TickerMessage",
    "Trade",
    "TradeMessage",
]


@attrs.frozen
class DecodeError:
    """A frame that is not valid JSON, not a message we know, or has a field that does not fit.

    It is a value, not an exception: the codec counts and logs it and the caller's loop goes on.
    """

    reason: str
    """What is wrong, naming the field (``data[0].bids[2].price: expected a number, got str``)."""
    excerpt: str
    """The start of the offending frame (at most 200 characters), for the log."""


@attrs.frozen
class Heartbeat:
    """``{"channel": "heartbeat"}``: the connection is alive while nothing else flows."""


@attrs.frozen
class Status:
    """The ``status`` channel: the engine's state, sent on connect and on every change."""

    system: str
    """``online``, ``cancel_only``, ``post_only`` or ``maintenance``."""
    api_version: str
    connection_id: int
    """Unsigned 64-bit: may exceed 2**63."""
    version: str


@attrs.frozen
class Pong:
    """The answer to ``{"method": "ping"}``."""

    req_id: int | None
    time_in: str | None
    time_out: str | None
    warnings: tuple[str, ...] = ()


@attrs.frozen
class SubscriptionAck:
    """A successful ``subscribe`` or ``unsubscribe``: one per symbol (``symbol`` is a string)."""

    method: str
    req_id: int | None
    channel: str
    symbol: str | None
    """None for channels without symbols (``executions``, ``instrument`` lists them all)."""
    warnings: tuple[str, ...] = ()
    time_in: str | None = None
    time_out: str | None = None


@attrs.frozen
class RequestRejected:
    """Any request Kraken answered with ``"success": false`` (subscribe, add_order, ...).

    ``error`` is Kraken's string; :func:`arbitrade.kraken.error_from_kraken` types it.
    """

    method: str
    req_id: int | None
    error: str
    symbol: str | None = None
    time_in: str | None = None
    time_out: str | None = None


@attrs.frozen
class AssetInfo:
    """One asset of the ``instrument`` channel."""

    id: str
    status: str
    precision: int
    precision_display: int


@attrs.frozen
class PairInfo:
    """One pair of the ``instrument`` channel: its precisions drive books and order formatting."""

    symbol: str
    base: str
    quote: str
    status: str
    price_precision: int
    qty_precision: int
    price_increment: Decimal
    qty_increment: Decimal
    qty_min: Decimal
    cost_min: Decimal | None
    cost_precision: int | None
    marginable: bool


@attrs.frozen
class InstrumentMessage:
    """The ``instrument`` channel: every asset and pair (snapshot) or changed ones (update)."""

    type: str
    assets: tuple[AssetInfo, ...]
    pairs: tuple[PairInfo, ...]


class BookMessage(NamedTuple):
    """One symbol's ``book`` snapshot or update, in integer ticks and lots.

    ``bids`` and ``asks`` are ``(price_ticks, qty_lots)`` pairs at the instrument's
    ``price_precision`` / ``qty_precision``, in the order Kraken sent them (apply them in
    order: a price may appear twice). Zero lots deletes a level.

    The one message that is a ``NamedTuple`` rather than a frozen attrs class: it is made for
    every book frame, and a frozen attrs instance costs about twice as much to build (see
    ``benchmarks/bench_book.py``). It is just as immutable; compare it only with BookMessages.
    """

    symbol: str
    is_snapshot: bool
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    checksum: int
    timestamp: str | None


@attrs.frozen
class BookBatch:
    """A ``book`` frame whose ``data`` held more than one symbol (Kraken normally sends one)."""

    messages: tuple[BookMessage, ...]


@attrs.frozen
class Ticker:
    """Level 1 of one symbol."""

    symbol: str
    bid: Decimal
    bid_qty: Decimal
    ask: Decimal
    ask_qty: Decimal
    last: Decimal
    volume: Decimal
    vwap: Decimal
    low: Decimal
    high: Decimal
    change: Decimal
    change_pct: Decimal
    timestamp: str | None = None


@attrs.frozen
class TickerMessage:
    """The ``ticker`` channel."""

    type: str
    tickers: tuple[Ticker, ...]


@attrs.frozen
class Trade:
    """One public trade."""

    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    ord_type: str
    trade_id: int
    timestamp: str


@attrs.frozen
class TradeMessage:
    """The ``trade`` channel (the snapshot is the last 50 trades)."""

    type: str
    trades: tuple[Trade, ...]


@attrs.frozen
class Candle:
    """One OHLC candle."""

    symbol: str
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    vwap: Decimal
    trades: int
    volume: Decimal
    interval_begin: str
    interval: int


@attrs.frozen
class OhlcMessage:
    """The ``ohlc`` channel."""

    type: str
    timestamp: str | None
    candles: tuple[Candle, ...]
