"""Hypothesis strategies for the pair graph: small random universes and books around fair values.

(``tests/strategies.py`` did not exist when these were written; move them there when it does.)
Prices are drawn around a fair value per asset, perturbed per pair, so that some cycles are
mispriced and profitable after fees while most are not.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import strategies as st

from arbitrade.messages import BookTop, Instrument

ASSETS = ("USD", "EUR", "BTC", "ETH", "SOL", "ADA")
QTY_MINIMUMS = (Decimal(0),) * 4 + (Decimal("0.01"), Decimal(1))
COST_MINIMUMS = (Decimal(0),) * 4 + (Decimal("0.5"), Decimal(5))
FEE_RATES = (Decimal(0), Decimal("0.001"), Decimal("0.0026"), Decimal("0.004"))


@dataclass(frozen=True)
class Market:
    """A random universe: instruments, a fee rate per symbol and books for (some of) them."""

    instruments: tuple[Instrument, ...]
    fee_rates: dict[str, Decimal]
    books: dict[str, BookTop]
    homes: tuple[str, ...]


@st.composite
def instruments(
    draw: st.DrawFn, minimums: bool = True
) -> tuple[tuple[Instrument, ...], dict[str, float]]:
    """Random pairs over a few assets (each unordered pair at most once) and fair values.

    ``minimums=False`` gives every pair zero ``qty_min`` and ``cost_min``.
    """
    assets = draw(st.lists(st.sampled_from(ASSETS), min_size=3, max_size=5, unique=True))
    pair_options = list(itertools.combinations(assets, 2))
    fair = {asset: draw(st.floats(0.2, 20.0)) for asset in assets}
    chosen = draw(
        st.lists(
            st.sampled_from(pair_options),
            min_size=min(4, len(pair_options)),
            max_size=len(pair_options),
            unique=True,
        )
    )
    result = []
    for first, second in chosen:
        base, quote = (first, second) if draw(st.booleans()) else (second, first)
        price_precision = draw(st.integers(2, 5))
        qty_precision = draw(st.sampled_from((0, 2, 3, 4, 5, 6, 8)))
        qty_step = draw(st.sampled_from((1, 1, 1, 1, 1, 10)))
        price_step = draw(st.sampled_from((1, 1, 1, 5)))
        result.append(
            Instrument(
                symbol=f"{base}/{quote}",
                base=base,
                quote=quote,
                price_precision=price_precision,
                qty_precision=qty_precision,
                price_increment=Decimal(price_step).scaleb(-price_precision),
                qty_increment=Decimal(qty_step).scaleb(-qty_precision),
                qty_min=draw(st.sampled_from(QTY_MINIMUMS)) if minimums else Decimal(0),
                cost_min=draw(st.sampled_from(COST_MINIMUMS)) if minimums else Decimal(0),
                status=draw(st.sampled_from(("online",) * 9 + ("cancel_only",))),
            )
        )
    return tuple(result), fair


@st.composite
def book_top(
    draw: st.DrawFn, instrument: Instrument, fair_price: float, received_at: float = 0.0
) -> BookTop:
    """A book around ``fair_price`` perturbed by up to 5 %, with 0 to 4 levels a side."""
    mid = fair_price * draw(st.floats(0.95, 1.05))
    scale = 10**instrument.price_precision
    half_spread = draw(st.floats(0.0001, 0.004))
    bids: list[tuple[int, int]] = []
    asks: list[tuple[int, int]] = []
    best_bid = max(int(mid * (1 - half_spread) * scale), 2)
    best_ask = max(int(mid * (1 + half_spread) * scale) + 1, best_bid + 1)
    price = best_bid
    for _ in range(draw(st.sampled_from((0, 1, 2, 3, 4, 4)))):
        bids.append((price, draw(st.integers(1, 50 * 10**instrument.qty_precision))))
        price -= draw(st.integers(1, max(1, scale // 50)))
        if price <= 0:
            break
    price = best_ask
    for _ in range(draw(st.sampled_from((0, 1, 2, 3, 4, 4)))):
        asks.append((price, draw(st.integers(1, 50 * 10**instrument.qty_precision))))
        price += draw(st.integers(1, max(1, scale // 50)))
    return BookTop(
        symbol=instrument.symbol,
        bids=tuple(bids),
        asks=tuple(asks),
        price_precision=instrument.price_precision,
        qty_precision=instrument.qty_precision,
        received_at=received_at,
        sequence=0,
    )


@st.composite
def markets(draw: st.DrawFn, minimums: bool = True) -> Market:
    """A universe with a book for most pairs."""
    universe, fair = draw(instruments(minimums))
    books = {}
    for instrument in universe:
        if draw(st.integers(0, 9)) == 0:
            continue
        books[instrument.symbol] = draw(
            book_top(instrument, fair[instrument.base] / fair[instrument.quote])
        )
    assets = sorted(fair)
    homes = tuple(draw(st.lists(st.sampled_from(assets), min_size=1, max_size=3, unique=True)))
    return Market(
        instruments=universe,
        fee_rates={i.symbol: draw(st.sampled_from(FEE_RATES)) for i in universe},
        books=books,
        homes=homes,
    )
