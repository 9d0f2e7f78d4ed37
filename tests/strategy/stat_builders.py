"""Builders shared by the stat-arb tests: instruments, book tops, settings and price series."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np

from arbitrade.messages import BookTop, Instrument
from arbitrade.strategy.stat_arb import PairSpec, StatArbSettings, structure_stat_arb_settings


def instrument(
    symbol: str,
    *,
    price_precision: int = 2,
    qty_precision: int = 8,
    qty_increment: str = "0.00000001",
    qty_min: str = "0.0001",
    cost_min: str = "0.5",
    status: str = "online",
) -> Instrument:
    """An instrument like Kraken's, with the rules the tests vary."""
    base, quote = symbol.split("/")
    return Instrument(
        symbol=symbol,
        base=base,
        quote=quote,
        price_precision=price_precision,
        qty_precision=qty_precision,
        price_increment=Decimal(1).scaleb(-price_precision),
        qty_increment=Decimal(qty_increment),
        qty_min=Decimal(qty_min),
        cost_min=Decimal(cost_min),
        status=status,
    )


ETH = instrument("ETH/USD", qty_min="0.002")
BTC = instrument("BTC/USD", price_precision=1, qty_min="0.0001")
INSTRUMENTS = {ETH.symbol: ETH, BTC.symbol: BTC}
PAIR = PairSpec(y="ETH/USD", x="BTC/USD")


def top(symbol: str, mid: float, *, at: float = 0.0, precision: int | None = None) -> BookTop:
    """A one-level book around ``mid``: bid one tick below, ask one tick above."""
    if precision is None:
        precision = INSTRUMENTS[symbol].price_precision if symbol in INSTRUMENTS else 2
    ticks = round(mid * 10**precision)
    return BookTop(
        symbol=symbol,
        bids=((ticks - 1, 10**8),),
        asks=((ticks + 1, 10**8),),
        price_precision=precision,
        qty_precision=8,
        received_at=at,
        sequence=0,
    )


def settings(**values: Any) -> StatArbSettings:
    """Settings for one ETH~BTC pair with small windows, every observation taken."""
    base: dict[str, Any] = {
        "pairs": [{"y": PAIR.y, "x": PAIR.x}],
        "window": 20,
        "zscore_window": 10,
        "exit_z": 0.5,
        "sample_interval_seconds": 0,
        "capital": "1000",
        "limit_slippage_bps": "0",
    }
    base.update(values)
    return structure_stat_arb_settings(base)


def cointegrated_prices(
    n: int, *, seed: int = 7, half_life: float = 8.0, noise: float = 0.004
) -> tuple[list[float], list[float]]:
    """(ETH, BTC) mids whose log spread is an Ornstein-Uhlenbeck process around a fixed ratio."""
    rng = np.random.default_rng(seed)
    phi = math.exp(-math.log(2) / half_life)
    log_x = math.log(30_000.0) + np.cumsum(rng.normal(0, 0.002, n))
    spread = np.zeros(n)
    for t in range(1, n):
        spread[t] = phi * spread[t - 1] + rng.normal(0, noise)
    log_y = -1.0 + 0.9 * log_x + spread
    return [float(v) for v in np.exp(log_y)], [float(v) for v in np.exp(log_x)]
