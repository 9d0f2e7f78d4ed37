"""Exact Decimal text for DECIMAL(38,18) columns: never rounded, refused when it cannot fit."""

from __future__ import annotations

from decimal import Context, Decimal

from arbitrade.persistence._errors import UnrepresentableDecimal

_SCALE = Decimal("1e-18")
_LIMIT = Decimal(10) ** 20
_WIDE = Context(prec=120)


def decimal_text(value: Decimal, field: str) -> str:
    """``value`` as text that DuckDB casts to DECIMAL(38,18) without any rounding.

    The common case (plain notation, at most 18 fractional and 20 integer digits) costs one
    ``str``; other values are checked exactly (``Decimal("1.50000000000000000000")`` fits,
    ``Decimal("1E-19")`` does not).

    Raises:
        UnrepresentableDecimal: the value is not finite, has a non-zero digit beyond the
            18th decimal place, or has 21 or more integer digits. ``field`` names it.
    """
    if not value.is_finite():
        raise UnrepresentableDecimal(field, value)
    text = str(value)
    if "E" not in text:
        dot = text.find(".")
        integer_digits = (dot if dot >= 0 else len(text)) - (text[0] == "-")
        fraction_digits = len(text) - dot - 1 if dot >= 0 else 0
        if fraction_digits <= 18 and integer_digits <= 20:
            return text
    scaled = value.quantize(_SCALE, context=_WIDE)
    # copy_abs, not abs(): abs() rounds to the default context's 28 digits.
    if scaled != value or scaled.copy_abs() >= _LIMIT:
        raise UnrepresentableDecimal(field, value)
    return format(scaled, "f")
