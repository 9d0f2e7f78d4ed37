"""Builders of WebSocket v2 channel messages: instrument, book, ticker, trade, ohlc.

:class:`BookView` is what one subscriber's client holds for one pair: the server diffs the live
book against it and sends only what the client needs, the way Kraken does (deletes for levels
that vanished, the levels entering the window, no deletes for levels pushed out of scope).
Within a side, deletes come before inserts so that a client that truncates after every level
(instead of after the whole message) still ends up with the right book.
"""

from __future__ import annotations

from typing import Any

from arbitrade.sim._book import Book, Side
from arbitrade.sim._market import Trade
from arbitrade.sim._numbers import decimal_to_json, units_to_json
from arbitrade.sim._simulator import Simulator
from arbitrade.sim._stats import Candle
from arbitrade.sim._time import rfc3339, rfc3339_nanos
from arbitrade.sim._universe import Asset, AssetKind, Pair

BOOK_DEPTHS = (10, 25, 100, 500, 1000)


class BookView:
    """The top ``depth`` levels a client holds for one pair, as last sent."""

    __slots__ = ("depth", "levels", "version")

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.levels: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.version = -1

    def snapshot(self, book: Book) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The current top levels (bids, asks), remembered as what the client holds."""
        bids = book.top(Side.BID, self.depth)
        asks = book.top(Side.ASK, self.depth)
        self.levels = (dict(bids), dict(asks))
        self.version = book.version
        return bids, asks

    def diff(self, book: Book) -> tuple[list[tuple[int, int]], list[tuple[int, int]]] | None:
        """Level changes (bids, asks) since the last call; None when nothing visible changed."""
        if book.version == self.version:
            return None
        self.version = book.version
        changes: list[list[tuple[int, int]]] = [[], []]
        for side in (Side.BID, Side.ASK):
            held = self.levels[side]
            top = book.top(side, self.depth)
            current = dict(top)
            out = changes[side]
            for price in held:
                if price not in current and book.quantity(side, price) == 0:
                    out.append((price, 0))
            for price, lots in top:
                if held.get(price) != lots:
                    out.append((price, lots))
            self.levels[side].clear()
            self.levels[side].update(current)
        if not changes[0] and not changes[1]:
            return None
        return changes[0], changes[1]


def _levels(pair: Pair, levels: list[tuple[int, int]]) -> list[dict[str, Any]]:
    pp, qp = pair.price_precision, pair.qty_precision
    return [{"price": units_to_json(p, pp), "qty": units_to_json(q, qp)} for p, q in levels]


def book_message(
    pair: Pair,
    kind: str,
    bids: list[tuple[int, int]],
    asks: list[tuple[int, int]],
    checksum: int,
    timestamp: float,
) -> dict[str, Any]:
    return {
        "channel": "book",
        "type": kind,
        "data": [
            {
                "symbol": pair.symbol,
                "bids": _levels(pair, bids),
                "asks": _levels(pair, asks),
                "checksum": checksum,
                "timestamp": rfc3339(timestamp),
            }
        ],
    }


def ticker_data(sim: Simulator, pair: Pair) -> dict[str, Any]:
    book = sim.model.book(pair.symbol)
    stats = sim.model.stats(pair.symbol)
    pp, qp = pair.price_precision, pair.qty_precision
    bid, ask = book.best(Side.BID) or 0, book.best(Side.ASK) or 0
    change = stats.last_price - stats.open_price
    change_pct = round(change * 100 / stats.open_price, 2) if stats.open_price else 0.0
    return {
        "symbol": pair.symbol,
        "bid": units_to_json(bid, pp),
        "bid_qty": units_to_json(book.quantity(Side.BID, bid), qp),
        "ask": units_to_json(ask, pp),
        "ask_qty": units_to_json(book.quantity(Side.ASK, ask), qp),
        "last": units_to_json(stats.last_price, pp),
        "volume": units_to_json(stats.lots, qp),
        "vwap": units_to_json(stats.vwap, pp),
        "low": units_to_json(stats.low, pp),
        "high": units_to_json(stats.high, pp),
        "change": units_to_json(change, pp),
        "change_pct": change_pct,
        "timestamp": rfc3339(sim.model.now()),
    }


def trade_data(sim: Simulator, pair: Pair, trade: Trade) -> dict[str, Any]:
    return {
        "symbol": pair.symbol,
        "side": trade.side,
        "price": units_to_json(trade.price, pair.price_precision),
        "qty": units_to_json(trade.lots, pair.qty_precision),
        "ord_type": trade.ord_type,
        "trade_id": trade.trade_id,
        "timestamp": rfc3339(sim.model.time_of(trade.tick)),
    }


def ohlc_data(pair: Pair, candle: Candle, now: float) -> dict[str, Any]:
    pp, qp = pair.price_precision, pair.qty_precision
    vwap = candle.cost_units // candle.lots if candle.lots else candle.close
    return {
        "symbol": pair.symbol,
        "open": units_to_json(candle.open, pp),
        "high": units_to_json(candle.high, pp),
        "low": units_to_json(candle.low, pp),
        "close": units_to_json(candle.close, pp),
        "vwap": units_to_json(vwap, pp),
        "trades": candle.trades,
        "volume": units_to_json(candle.lots, qp),
        "interval_begin": rfc3339_nanos(candle.begin),
        "interval": candle.interval,
        "timestamp": rfc3339(now),
    }


def _asset_entry(asset: Asset) -> dict[str, Any]:
    fiatlike = asset.kind in (AssetKind.FIAT, AssetKind.STABLE)
    return {
        "id": asset.name,
        "status": "enabled",
        "precision": asset.decimals,
        "precision_display": asset.display_decimals,
        "borrowable": fiatlike or asset.tier == 1,
        "collateral_value": 1.0 if fiatlike else 0.5,
        "margin_rate": 0.02 if asset.tier == 1 else 0.0,
    }


def _pair_entry(pair: Pair) -> dict[str, Any]:
    return {
        "symbol": pair.symbol,
        "base": pair.base.name,
        "quote": pair.quote.name,
        "status": pair.status,
        "qty_precision": pair.qty_precision,
        "qty_increment": decimal_to_json(pair.qty_increment),
        "price_precision": pair.price_precision,
        "cost_precision": pair.cost_precision,
        "marginable": False,
        "has_index": pair.tier <= 2,
        "cost_min": decimal_to_json(pair.costmin),
        "tick_size": decimal_to_json(pair.price_increment),
        "price_increment": decimal_to_json(pair.price_increment),
        "qty_min": decimal_to_json(pair.ordermin),
    }


def instrument_message(sim: Simulator) -> dict[str, Any]:
    return {
        "channel": "instrument",
        "type": "snapshot",
        "data": {
            "assets": [_asset_entry(a) for a in sim.universe.assets],
            "pairs": [_pair_entry(p) for p in sim.universe.pairs],
        },
    }
