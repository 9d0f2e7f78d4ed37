"""FX rates into the home currency, learnt from book tops: what one unit of a currency is worth.

The position ledger (:mod:`arbitrade.execution._positions`) values a fill of a pair quoted in
another currency (BTC/EUR, home USD) at the rate known when the fill is applied: the mid of the
latest book top of ``QUOTE/HOME`` (EUR/USD), or one over the mid of ``HOME/QUOTE`` (USD/EUR)
when only that pair has been seen. Only currencies asked for are watched: the top of any other
pair costs one dict lookup and is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Final

import attrs

from arbitrade.messages import BookTop

_ONE: Final = Decimal(1)


def book_mid(top: BookTop) -> Decimal | None:
    """The exact mid of ``top``'s best bid and ask; None for a one-sided book."""
    if not top.bids or not top.asks:
        return None
    return (Decimal(top.bids[0][0] + top.asks[0][0]) / 2).scaleb(-top.price_precision)


@attrs.frozen
class FxRate:
    """What one unit of ``currency`` is worth in home, as the mid of one FX pair's book."""

    currency: str
    """The currency converted (a pair's quote currency, ``EUR``)."""
    symbol: str
    """The FX pair whose mid this is: ``EUR/USD``, or ``USD/EUR`` when ``inverted``."""
    mid: Decimal
    """That pair's latest mid (exact), always above zero."""
    inverted: bool
    """True when ``symbol`` is ``HOME/CURRENCY``: the rate is one over ``mid``."""

    @property
    def rate(self) -> Decimal:
        """Home per unit of ``currency`` (for display: an inverted one is rounded to Decimal's
        28 significant digits; :meth:`to_home` divides instead)."""
        return _ONE / self.mid if self.inverted else self.mid

    def to_home(self, amount: Decimal) -> Decimal:
        """``amount`` of ``currency`` in home: times the mid, or divided by an inverted one
        (one rounding, at Decimal's 28 significant digits, never a rounded rate)."""
        return amount / self.mid if self.inverted else amount * self.mid


class FxRates:
    """The latest rate of each watched currency into ``home``; see the module docstring.

    Args:
        home: the home currency.
        pairs: FX pairs to watch from the start (``EUR/USD`` or ``USD/EUR`` with home USD), so
            the first fill in their currency already finds a rate: the stat-arb pairs'
            ``y_fx`` / ``x_fx``.

    Raises:
        ValueError: a pair in ``pairs`` is not traded against home.
    """

    def __init__(self, home: str, pairs: Iterable[str] = ()) -> None:
        self.home = home
        self._watched: dict[str, tuple[str, bool]] = {}
        """FX symbol -> (the currency it converts, inverted)."""
        self._direct: dict[str, FxRate] = {}
        self._inverse: dict[str, FxRate] = {}
        for symbol in pairs:
            base, _, quote = symbol.partition("/")
            if quote == home and base != home:
                self.watch(base)
            elif base == home and quote != home:
                self.watch(quote)
            else:
                raise ValueError(f"FX pair {symbol!r} does not convert a currency into {home}")

    def watch(self, currency: str) -> None:
        """Record rates of ``currency`` from now on (home itself needs none: no-op)."""
        if currency == self.home:
            return
        self._watched.setdefault(f"{currency}/{self.home}", (currency, False))
        self._watched.setdefault(f"{self.home}/{currency}", (currency, True))

    def watches(self, currency: str) -> bool:
        """True when tops of ``currency``'s FX pairs are recorded."""
        return f"{currency}/{self.home}" in self._watched

    def observe(self, top: BookTop) -> bool:
        """Record ``top``'s mid if it is a watched FX pair; True when a rate changed.

        A one-sided (or non-positive) book leaves the last rate in place: a momentarily empty
        side says nothing about what the currency is worth.
        """
        watched = self._watched.get(top.symbol)
        if watched is None:
            return False
        mid = book_mid(top)
        if mid is None or mid <= 0:
            return False
        currency, inverted = watched
        rates = self._inverse if inverted else self._direct
        rates[currency] = FxRate(currency, top.symbol, mid, inverted)
        return True

    def rate(self, currency: str) -> FxRate | None:
        """The rate of ``currency`` (``QUOTE/HOME`` preferred to ``HOME/QUOTE``); None when
        neither pair has been seen (or ``currency`` is home: it needs no rate)."""
        return self._direct.get(currency) or self._inverse.get(currency)

    def pair_for(self, currency: str) -> str:
        """The FX pair a trader would look for to convert ``currency``: ``CURRENCY/HOME``."""
        return f"{currency}/{self.home}"
