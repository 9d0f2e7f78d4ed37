"""Positions held across cycles, at average cost: realised PnL on reduction, unrealised on marks.

The portfolio (:mod:`arbitrade.execution.portfolio`) feeds this ledger the fills of position
cycles (stat-arb entries and closes), which the executor's per-cycle PnL cannot value: it
prices what a cycle leaves behind at that cycle's own prices. Each pair's position is held at
average cost in the pair's own quote currency; PnL is converted to home at the FX rate known
when it is computed (:mod:`arbitrade.execution._fx`; rate 1 for pairs quoted in home).

Rounding, all half-even to 1e-12 (:data:`QUANTUM`), in exactly two places:

- the average price (quote currency) whenever a fill adds to a position;
- a fill's realised PnL and a position's unrealised PnL, once, after conversion to home.

Everything else is exact Decimal up to Decimal's default 28 significant digits: the quote
amount is multiplied by the FX mid (or divided by the mid of a ``HOME/QUOTE`` pair), never by
a rounded rate. Pairs quoted in home skip the conversion, so their results are what they were
before FX pairs were valued.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

import attrs

from arbitrade.execution._fx import FxRate, FxRates, book_mid
from arbitrade.messages import BookTop, Fill, Side

POSITION_CYCLE_PREFIXES: Final = ("sa-",)
"""Cycle ids that open or close positions held across cycles: the stat-arb strategy's
opportunity ids are ``sa-<incarnation>-<n>`` (entries and closes alike)."""

QUANTUM: Final = Decimal("1e-12")
"""Average prices and PnL are kept to 1e-12 (as the executor keeps cycle PnL)."""
_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)


def is_position_cycle(cycle_id: str, prefixes: tuple[str, ...] = POSITION_CYCLE_PREFIXES) -> bool:
    """True when ``cycle_id`` belongs to a strategy that holds positions across cycles."""
    return cycle_id.startswith(prefixes)


def _round(value: Decimal) -> Decimal:
    return value.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


def _quote_of(symbol: str) -> str:
    return symbol.partition("/")[2]


@attrs.frozen
class OpenPosition:
    """One pair's open position, marked to market.

    Prices are in the pair's quote currency (``quote_currency``); ``unrealised_pnl`` is in
    home. A pair quoted in home has ``fx_rate`` 1 and both PnL fields equal.
    """

    symbol: str
    qty: Decimal
    """Signed base quantity: above zero long, below zero short."""
    average_price: Decimal
    """Average entry price in the quote currency (fees left out: they are realised when paid)."""
    mark_price: Decimal
    """The latest book mid, or the latest fill price when no book was seen (quote currency)."""
    unrealised_pnl: Decimal
    """``qty * (mark_price - average_price)`` converted to home at ``fx_rate``; 0 when no rate
    is known (``fx_rate`` None: read ``unrealised_pnl_quote`` then)."""
    quote_currency: str = attrs.field(
        default=attrs.Factory(lambda self: _quote_of(self.symbol), takes_self=True)
    )
    """The currency prices and ``unrealised_pnl_quote`` are in (``EUR`` for ``BTC/EUR``)."""
    fx_rate: Decimal | None = _ONE
    """Home per unit of quote used for ``unrealised_pnl``: 1 for a pair quoted in home, the
    mid of ``fx_pair`` (or one over it for ``HOME/QUOTE``), None when no rate is known yet."""
    fx_pair: str = ""
    """The FX pair whose mid gave ``fx_rate`` (empty for a pair quoted in home or no rate)."""
    unrealised_pnl_quote: Decimal = attrs.field(
        default=attrs.Factory(lambda self: self.unrealised_pnl, takes_self=True)
    )
    """``qty * (mark_price - average_price)`` in the quote currency, rounded to 1e-12."""


@attrs.define
class _Holding:
    qty: Decimal = _ZERO
    average: Decimal = _ZERO
    mark: Decimal = _ZERO


class PositionLedger:
    """Average-cost positions per pair, valued in ``home``; see the module docstring.

    A fill that adds to a position (or opens one) moves the average price; a fill against
    it realises ``closed * (price - average)`` for a long (the reverse for a short), and a
    fill larger than the position closes it and opens the rest the other way at the fill's
    price. Every fill's fee is realised as a loss when it is applied (a fee in quote as is, a
    fee in base times the fill price; a fee in base also leaves the position). What a fill
    realises in its quote currency is converted to home at the rate known at that moment.

    Args:
        home: the home currency.
        fx_pairs: FX pairs whose mids to record from the start (see
            :class:`~arbitrade.execution._fx.FxRates`); the quote currency of any pair the
            ledger holds is watched from its first fill on.

    Raises:
        ValueError: a pair in ``fx_pairs`` does not trade a currency against home.
    """

    def __init__(self, home: str, *, fx_pairs: Iterable[str] = ()) -> None:
        self.home = home
        self.rates = FxRates(home, fx_pairs)
        self._holdings: dict[str, _Holding] = {}

    def holds(self, fill: Fill) -> bool:
        """True when the ledger can follow ``fill``'s position: its fee is charged in the
        pair's quote or base currency (whether or not a rate into home is known)."""
        base, _, quote = fill.symbol.partition("/")
        return fill.fee_asset in (quote, base)

    def values(self, fill: Fill) -> bool:
        """True when :meth:`apply` can value ``fill`` in home now: the ledger :meth:`holds`
        it, and its pair is quoted in home or an FX rate of its quote currency is known."""
        quote = _quote_of(fill.symbol)
        return self.holds(fill) and (quote == self.home or self.rates.rate(quote) is not None)

    def apply(self, fill: Fill) -> Decimal:
        """Fold ``fill`` in; return the PnL it realises, net of its fee, in home.

        Raises:
            ValueError: the ledger cannot value ``fill`` (see :meth:`values`); nothing changed.
        """
        if not self.values(fill):
            raise ValueError(
                f"{fill.symbol} with a fee in {fill.fee_asset} cannot be valued in {self.home}"
                f" (no rate from {self.rates.pair_for(_quote_of(fill.symbol))} yet?)"
            )
        realised = self.track(fill)
        assert realised is not None  # values() said a rate is known
        return realised

    def track(self, fill: Fill) -> Decimal | None:
        """Fold ``fill`` into its position; return the PnL it realises in home, net of its
        fee, or None when no FX rate of its quote currency is known yet.

        Unlike :meth:`apply`, a fill without a rate still moves the position (quantity and
        average cost are in the quote currency and need none), so a later fill realises
        against the right average; only this fill's PnL in home is unknown and left to the
        caller (the portfolio books the executor's PnL for its cycle).

        Raises:
            ValueError: the ledger cannot hold ``fill`` (see :meth:`holds`); nothing changed.
        """
        if not self.holds(fill):
            raise ValueError(f"{fill.symbol} with a fee in {fill.fee_asset} cannot be held")
        quote = _quote_of(fill.symbol)
        self.rates.watch(quote)
        realised = self._move(fill, quote)
        if quote == self.home:
            return _round(realised)
        rate = self.rates.rate(quote)
        return None if rate is None else _round(rate.to_home(realised))

    def _move(self, fill: Fill, quote: str) -> Decimal:
        """Move ``fill``'s position; the PnL realised in quote, fee included, unrounded."""
        base = fill.symbol.partition("/")[0]
        fee = fill.fee if fill.fee_asset == quote else fill.fee * fill.price
        holding = self._holdings.setdefault(fill.symbol, _Holding())
        signed = fill.qty if fill.side is Side.BUY else -fill.qty
        if fill.fee_asset == base:  # a fee taken in base changes what is held
            signed -= fill.fee
        realised = -fee
        if signed == 0:  # a fee in base as large as the fill: nothing more is held
            pass
        elif holding.qty == 0 or (holding.qty > 0) == (signed > 0):
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
        return realised

    def mark_book(self, top: BookTop) -> None:
        """Mark ``top``'s pair (if held) to its mid, and record it as an FX rate if it
        converts a watched currency into home; a one-sided book is ignored. A top of any
        other pair costs two dict lookups."""
        holding = self._holdings.get(top.symbol)
        if holding is not None:
            mid = book_mid(top)
            if mid is not None:
                holding.mark = mid
        self.rates.observe(top)

    def positions(self) -> tuple[OpenPosition, ...]:
        """The open positions, sorted by symbol."""
        return tuple(
            self._position(symbol, holding)
            for symbol, holding in sorted(self._holdings.items())
            if holding.qty != 0
        )

    def _position(self, symbol: str, holding: _Holding) -> OpenPosition:
        quote = _quote_of(symbol)
        in_quote = holding.qty * (holding.mark - holding.average)
        if quote == self.home:
            unrealised = _round(in_quote)
            return OpenPosition(symbol, holding.qty, holding.average, holding.mark, unrealised)
        rate: FxRate | None = self.rates.rate(quote)
        return OpenPosition(
            symbol,
            holding.qty,
            holding.average,
            holding.mark,
            _ZERO if rate is None else _round(rate.to_home(in_quote)),
            quote_currency=quote,
            fx_rate=None if rate is None else rate.rate,
            fx_pair="" if rate is None else rate.symbol,
            unrealised_pnl_quote=_round(in_quote),
        )
