"""Exact numbers from Kraken's JSON numbers.

Kraken's WebSocket v2 sends prices and quantities as JSON numbers, which orjson reads as
floats. A float determines the decimal Kraken meant only when that decimal has at most 15
significant digits (IEEE 754 doubles round-trip 15 digits), and the float alone cannot tell
whether it had more. Book levels carry a known precision ``p``, so the number of significant
digits is that of the integer unit count ``N = x * 10**p``:

* ``N`` below 10**15: ``round(x * 10**p)`` is ``N`` exactly (the float product's relative
  error is under 2**-52, so its absolute error stays under 0.25 of a unit);
* ``x * 10**p`` at or above 10**15 - 1: the float cannot be trusted, :class:`NeedsExactParse`
  makes the codec re-read the frame with a Decimal-preserving parser
  (``json.loads(parse_float=Decimal)``), which is always exact.

Fields without a known precision (tickers, trades, executions, instruments) never trust a
float at all: :func:`to_decimal` raises :class:`NeedsExactParse` for one, and the codec reads
those channels with the exact parser from the start.

Off-grid numbers (more decimals than the precision) are refused where they can be seen: exactly
on the exact path, and beyond a thousandth of a unit on the fast path.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Final

__all__ = [
    "EXACT_UNIT_LIMIT",
    "FAST_UNIT_LIMIT",
    "NeedsExactParse",
    "NotANumber",
    "OffGrid",
    "to_decimal",
    "to_units",
]

FAST_UNIT_LIMIT: Final = 10**12
"""Below this many units, ``round(x * 10**p)`` of an on-grid float is the exact unit count."""

OFF_GRID_TOLERANCE: Final = 1e-3
"""A float product further than this from an integer is off the precision grid (see above)."""

EXACT_UNIT_LIMIT: Final = 10**15
"""Below this many units (15 significant digits) a float determines the decimal exactly."""


class NeedsExactParse(Exception):
    """This float may not determine the decimal Kraken sent: re-read the frame exactly."""


class NotANumber(ValueError):
    """A field that must be a JSON number was something else (string, bool, null, inf)."""


class OffGrid(ValueError):
    """A number has more decimals than the instrument's precision allows."""


def to_decimal(value: object) -> Decimal:
    """The exact Decimal of a JSON number read by the exact parser (int or Decimal).

    Raises:
        NotANumber: ``value`` is not an int or Decimal (bools are refused too), or not finite.
        NeedsExactParse: ``value`` is a float: re-read the frame with the exact parser.
    """
    kind = type(value)
    if kind is float:
        raise NeedsExactParse
    if kind is int:
        return Decimal(value)  # type: ignore[arg-type]
    if kind is Decimal:
        if not value.is_finite():  # type: ignore[attr-defined]
            raise NotANumber(f"not a finite number: {value!r}")
        return value  # type: ignore[return-value]
    raise NotANumber(f"expected a number, got {type(value).__name__} {value!r:.40}")


def to_units(value: object, precision: int) -> int:
    """The exact integer count of ``10**-precision`` units in ``value`` (slow, general path).

    The book's hot path inlines the common case; this one handles ints, Decimals and large
    floats, and says what is wrong.

    Raises:
        NotANumber: not a finite number.
        NeedsExactParse: a float too large to carry the decimal Kraken sent.
        OffGrid: the value has more decimals than ``precision``.
    """
    if type(value) is float:
        if not math.isfinite(value):
            raise NotANumber(f"not a finite number: {value!r}")
        if abs(value) * 10.0**precision >= EXACT_UNIT_LIMIT - 1:
            raise NeedsExactParse
        # Below the limit the shortest repr is the decimal Kraken sent, if it was on the grid.
        decimal = Decimal(repr(value))
    else:
        decimal = to_decimal(value)
    scaled = decimal.scaleb(precision)
    if scaled != scaled.to_integral_value():
        raise OffGrid(f"{decimal} has more than {precision} decimals")
    return int(scaled)
