"""Positions held across cycles, at average cost: realised PnL on reduction, unrealised on marks.

The portfolio (:mod:`arbitrade.execution.portfolio`) feeds this ledger the fills of position
cycles (stat-arb entries and closes), which the executor's per-cycle PnL cannot value: it
prices what a cycle leaves behind at that cycle's own prices. Only pairs quoted in the home
currency are held here (a base asset and its average cost in home); all arithmetic is exact
Decimal, rounded half-even to 1e-12 of home where a division or a product of prices is kept.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

import attrs

from arbitrade.messages import BookTop, Fill, Side

POSITION_CYCLE_PREFIXES: Final = ("sa-",)
"""Cycle ids that open or close positions held across cycles: the stat-arb strategy's
opportunity ids are ``sa-<incarnation>-<n>`` (entries and closes alike)."""

QUANTUM: Final = Decimal("1e-12")
"""Average prices and PnL are kept to 1e-12 (as the executor keeps cycle PnL)."""
_ZERO: Final = Decimal(0)


def is_position_cycle(cycle_id: str, prefixes: tuple[str, ...] = POSITION_CYCLE_PREFIXES) -> bool:
    """True when ``cycle_id`` belongs to a strategy that holds positions across cycles."""
    return cycle_id.startswith(prefixes)


def _round(value: Decimal) -> Decimal:
    return value.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


@attrs.frozen
class OpenPosition:
    """One pair's open position, marked to market."""

    symbol: str
    qty: Decimal
    """Signed base quantity: above zero long, below zero short."""
    average_price: Decimal
    """Average entry price in home (fees left out: they are realised when paid)."""
    mark_price: Decimal
    """The latest book mid, or the latest fill price when no book was seen."""
    unrealised_pnl: Decimal
    """``qty * (mark_price - average_price)``, in home."""


@attrs.define
class _Holding:
    qty: Decimal = _ZERO
    average: Decimal = _ZERO
    mark: Decimal = _ZERO


class PositionLedger:
    """Average-cost positions per pair quoted in ``home``; see the module docstring.

    A fill that adds to a position (or opens one) moves the average price; a fill against
    it realises ``closed * (price - average)`` for a long (the reverse for a short), and a
    fill larger than the position closes it and opens the rest the other way at the fill's
    price. Every fill's fee is realised as a loss when it is applied.
    """

    def __init__(self, home: str) -> None:
        self.home = home
        self._holdings: dict[str, _Holding] = {}

    def values(self, fill: Fill) -> bool:
        """True when the ledger can hold ``fill`` (its pair is quoted in home, its fee is
        charged in home or in the pair's base)."""
        base, _, quote = fill.symbol.partition("/")
        return quote == self.home and fill.fee_asset in (quote, base)

    def apply(self, fill: Fill) -> Decimal:
        """Fold ``fill`` in; return the PnL it realises, net of its fee, in home.

        Raises:
            ValueError: the ledger cannot value ``fill`` (see :meth:`values`).
        """
        if not self.values(fill):
            raise ValueError(
                f"{fill.symbol} with a fee in {fill.fee_asset} is not held in {self.home}"
            )
        base = fill.symbol.partition("/")[0]
        fee = fill.fee if fill.fee_asset == self.home else fill.fee * fill.price
        holding = self._holdings.setdefault(fill.symbol, _Holding())
        signed = fill.qty if fill.side is Side.BUY else -fill.qty
        if fill.fee_asset == base:  # a fee taken in base changes what is held
            signed -= fill.fee
        realised = -fee
        if holding.qty == 0 or (holding.qty > 0) == (signed > 0):
            total = holding.qty + signed
            holding.average = _round(
                (abs(holding.qty) * holding.average + abs(signed) * fill.price) / abs(total)
            )
            holding.qty = total
        else:
            closed = min(abs(signed), abs(holding.qty))
            direction = 1 if holding.qty > 0 else -1
            realised += closed * (fill.price - holding.average) * direction
            holding.qty += signed
            if holding.qty == 0:
                holding.average = _ZERO
            elif (holding.qty > 0) != (direction > 0):  # went through zero: the rest is new
                holding.average = fill.price
        holding.mark = fill.price
        return _round(realised)

    def mark_book(self, top: BookTop) -> None:
        """Mark ``top``'s pair (if held) to its mid; a one-sided book is ignored."""
        holding = self._holdings.get(top.symbol)
        if holding is None or not top.bids or not top.asks:
            return
        mid_ticks = Decimal(top.bids[0][0] + top.asks[0][0]) / 2
        holding.mark = mid_ticks.scaleb(-top.price_precision)

    def positions(self) -> tuple[OpenPosition, ...]:
        """The open positions, sorted by symbol."""
        return tuple(
            OpenPosition(
                symbol=symbol,
                qty=holding.qty,
                average_price=holding.average,
                mark_price=holding.mark,
                unrealised_pnl=_round(holding.qty * (holding.mark - holding.average)),
            )
            for symbol, holding in sorted(self._holdings.items())
            if holding.qty != 0
        )
