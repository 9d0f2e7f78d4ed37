"""Exact numbers on the wire: integer ticks and lots rendered as JSON numbers or REST strings.

Books and orders hold prices and quantities as integers at the instrument's precision; these
helpers turn them into decimal text without ever passing through a float.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

import orjson


def units_to_text(value: int, precision: int) -> str:
    """``value`` units of 10**-precision as the shortest plain decimal (``4.0``, ``0.001``)."""
    if precision == 0:
        return str(value)
    sign = "-" if value < 0 else ""
    digits = str(abs(value)).rjust(precision + 1, "0")
    whole, fraction = digits[:-precision], digits[-precision:].rstrip("0")
    return f"{sign}{whole}.{fraction or '0'}"


def units_to_fixed(value: int, precision: int) -> str:
    """``value`` units as a fixed-point string with exactly ``precision`` decimals (REST style)."""
    if precision == 0:
        return str(value)
    sign = "-" if value < 0 else ""
    digits = str(abs(value)).rjust(precision + 1, "0")
    return f"{sign}{digits[:-precision]}.{digits[-precision:]}"


def units_to_json(value: int, precision: int) -> orjson.Fragment:
    """A JSON number fragment for orjson, exact to the last digit."""
    return orjson.Fragment(units_to_text(value, precision).encode())


def decimal_to_json(value: Decimal) -> orjson.Fragment:
    """A Decimal as a plain JSON number (no exponent)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    return orjson.Fragment(text.encode())


MAX_INTEGER_DIGITS = 20
"""Numbers with more integer digits than this are invalid order input (no asset comes close)."""


def to_units(value: object, precision: int) -> int | None:
    """Parse a number (str, int, float or Decimal) into units; None when off the grid or invalid.

    A value with more decimals than ``precision`` is off the grid (Kraken answers
    ``EOrder:Tick size check failed`` or ``EGeneral:Invalid arguments``), so it returns None
    instead of rounding. So does a number beyond :data:`MAX_INTEGER_DIGITS` integer digits.
    """
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        return None
    # A huge exponent ("1e999999") would overflow scaleb or build a million-digit int.
    if not number.is_finite() or number.adjusted() > MAX_INTEGER_DIGITS:
        return None
    scaled = number.scaleb(precision)
    if scaled != scaled.to_integral_value(rounding=ROUND_DOWN):
        return None
    return int(scaled)


def parse_decimal(value: object) -> Decimal | None:
    """A finite Decimal from untrusted input, or None."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None
