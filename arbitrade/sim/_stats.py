"""Per-pair trade statistics for the ``ticker`` and ``ohlc`` channels (and REST Ticker).

Everything is in integer ticks and lots; rolling windows are approximated by "since start" for
volume, VWAP, high and low (the simulator rarely runs for a day).
"""

from __future__ import annotations

import attrs

OHLC_INTERVALS = (1, 5, 15, 30, 60, 240, 1440, 10080, 21600)
"""Kraken's OHLC intervals in minutes."""
_INTERVAL_SECONDS = tuple((interval, interval * 60) for interval in OHLC_INTERVALS)


@attrs.define
class Candle:
    """One OHLC bar; ``cost_units`` is sum(price * lots) for the VWAP."""

    interval: int
    begin: float
    """Unix time (seconds) at which the bar opened."""
    open: int
    high: int
    low: int
    close: int
    lots: int = 0
    cost_units: int = 0
    trades: int = 0


@attrs.define
class PairStats:
    """Running statistics of one pair."""

    open_price: int
    last_price: int
    last_lots: int = 0
    high: int = 0
    low: int = 0
    lots: int = 0
    cost_units: int = 0
    trades: int = 0
    candles: dict[int, Candle] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        self.high = self.high or self.open_price
        self.low = self.low or self.open_price

    def record(self, price: int, lots: int, unix_time: float) -> None:
        """Account one trade at ``unix_time``."""
        self.last_price, self.last_lots = price, lots
        if price > self.high:
            self.high = price
        if price < self.low:
            self.low = price
        cost = price * lots
        self.lots += lots
        self.cost_units += cost
        self.trades += 1
        candles = self.candles
        for interval, seconds in _INTERVAL_SECONDS:
            begin = unix_time - unix_time % seconds
            candle = candles.get(interval)
            if candle is None or candle.begin != begin:
                close = candle.close if candle is not None else price
                candle = Candle(interval, begin, close, close, close, close)
                candles[interval] = candle
            if price > candle.high:
                candle.high = price
            if price < candle.low:
                candle.low = price
            candle.close = price
            candle.lots += lots
            candle.cost_units += cost
            candle.trades += 1

    def candle(self, interval: int, unix_time: float) -> Candle:
        """The bar of ``interval`` minutes containing ``unix_time`` (empty if no trade yet)."""
        begin = unix_time - unix_time % (interval * 60)
        candle = self.candles.get(interval)
        if candle is None or candle.begin != begin:
            price = self.last_price
            return Candle(interval, begin, price, price, price, price)
        return candle

    @property
    def vwap(self) -> int:
        """VWAP in ticks (rounded down); the last price before any trade."""
        return self.cost_units // self.lots if self.lots else self.last_price
