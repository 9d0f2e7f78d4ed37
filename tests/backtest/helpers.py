"""Small recordings built in tests: instrument, book snapshot and update frames."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from arbitrade.backtest import FrameRecorder

WALL0 = 1_714_557_600 * 10**9
"""2024-05-01T10:00:00Z in ns: the wall time of the first frame of these recordings."""


def pair(
    symbol: str,
    price_precision: int = 2,
    qty_precision: int = 4,
    *,
    qty_min: str = "0.0001",
    cost_min: str = "0.5",
) -> dict[str, Any]:
    base, quote = symbol.split("/")
    return {
        "symbol": symbol,
        "base": base,
        "quote": quote,
        "status": "online",
        "price_precision": price_precision,
        "qty_precision": qty_precision,
        "price_increment": float(f"1e-{price_precision}"),
        "qty_increment": float(f"1e-{qty_precision}"),
        "qty_min": float(qty_min),
        "cost_min": float(cost_min),
        "marginable": False,
    }


def instrument_frame(pairs: Sequence[dict[str, Any]]) -> str:
    assets = sorted({p["base"] for p in pairs} | {p["quote"] for p in pairs})
    return orjson.dumps(
        {
            "channel": "instrument",
            "type": "snapshot",
            "data": {
                "assets": [
                    {"id": a, "status": "enabled", "precision": 8, "precision_display": 5}
                    for a in assets
                ],
                "pairs": list(pairs),
            },
        }
    ).decode()


def write_recording(
    out: Path, payloads: Sequence[str], *, step_ns: int = 10**9, session: str = "s1"
) -> Path:
    """Write ``payloads`` one ``step_ns`` apart from WALL0; returns ``out``."""
    recorder = FrameRecorder(out, session=session)
    for index, payload in enumerate(payloads):
        recorder.record("ws-1", payload, WALL0 + index * step_ns, 5 * 10**9 + index * step_ns)
    recorder.close()
    return out


class BookFrames:
    """Book frames of one symbol with Kraken's checksum, tracking the book they describe."""

    def __init__(self, symbol: str, price_precision: int = 2, qty_precision: int = 4) -> None:
        from arbitrade.market import OrderBook

        self.symbol = symbol
        self.price_precision = price_precision
        self.qty_precision = qty_precision
        self.book = OrderBook(
            symbol, price_precision=price_precision, qty_precision=qty_precision, depth=10
        )

    def _levels(self, levels: Sequence[tuple[str, str]]) -> list[tuple[int, int]]:
        from decimal import Decimal

        return [
            (
                int(Decimal(p).scaleb(self.price_precision)),
                int(Decimal(q).scaleb(self.qty_precision)),
            )
            for p, q in levels
        ]

    def frame(
        self,
        bids: Sequence[tuple[str, str]],
        asks: Sequence[tuple[str, str]],
        *,
        snapshot: bool = False,
    ) -> str:
        """A snapshot or update frame; levels as (price, qty) text."""
        bid_levels, ask_levels = self._levels(bids), self._levels(asks)
        if snapshot:
            self.book.apply_snapshot(bid_levels, ask_levels)
        else:
            self.book.apply_update(bid_levels, ask_levels)
        item = {
            "symbol": self.symbol,
            "bids": [{"price": float(p), "qty": float(q)} for p, q in bids],
            "asks": [{"price": float(p), "qty": float(q)} for p, q in asks],
            "checksum": self.book.checksum(),
            "timestamp": "2024-05-01T10:00:00.000000Z",
        }
        kind = "snapshot" if snapshot else "update"
        return orjson.dumps({"channel": "book", "type": kind, "data": [item]}).decode()
