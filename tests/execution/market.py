"""Instruments and books of a small USD/BTC/ETH market for execution tests."""

from __future__ import annotations

from decimal import Decimal

from arbitrade.messages import BookTop, Instrument

D = Decimal

INSTRUMENTS = (
    Instrument("BTC/USD", "BTC", "USD", 1, 8, D("0.1"), D("0.00000001"), D("0.0001"), D("0.5")),
    Instrument("ETH/USD", "ETH", "USD", 2, 8, D("0.01"), D("0.00000001"), D("0.001"), D("0.5")),
    Instrument(
        "ETH/BTC", "ETH", "BTC", 5, 8, D("0.00001"), D("0.00000001"), D("0.001"), D("0.00002")
    ),
)
PRECISIONS = {i.symbol: (i.price_precision, i.qty_precision) for i in INSTRUMENTS}


def book(
    symbol: str,
    bids: list[tuple[str, str]],
    asks: list[tuple[str, str]],
    *,
    at: float = 0.0,
    sequence: int = 1,
) -> BookTop:
    """A BookTop from Decimal text levels at the symbol's precisions."""
    price_precision, qty_precision = PRECISIONS[symbol]

    def ticks(levels: list[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
        return tuple(
            (int(D(p).scaleb(price_precision)), int(D(q).scaleb(qty_precision))) for p, q in levels
        )

    return BookTop(symbol, ticks(bids), ticks(asks), price_precision, qty_precision, at, sequence)


BOOKS = (
    book("BTC/USD", [("49990", "1")], [("50000", "1")]),
    book("ETH/USD", [("2600", "10")], [("2601", "10")]),
    book("ETH/BTC", [("0.04999", "10")], [("0.05", "10")]),
)
