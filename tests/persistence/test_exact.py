"""Decimal text for DECIMAL(38,18): exact when it fits, refused when it does not."""

from __future__ import annotations

from decimal import Context, Decimal

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from arbitrade.persistence import UnrepresentableDecimal
from arbitrade.persistence._exact import decimal_text

representable = st.decimals(
    min_value=Decimal("-99999999999999999999.999999999999999999"),
    max_value=Decimal("99999999999999999999.999999999999999999"),
    places=18,
    allow_nan=False,
    allow_infinity=False,
)


class TestDecimalText:
    @given(representable)
    def test_text_when_value_fits_casts_back_to_the_same_value(self, value: Decimal) -> None:
        """DuckDB's cast of the text gives back exactly the value."""
        text = decimal_text(value, "x")
        cast = duckdb.sql(f"SELECT CAST('{text}' AS DECIMAL(38,18))").fetchall()[0][0]
        assert cast == value

    @given(representable, st.integers(min_value=1, max_value=20))
    def test_text_when_trailing_zeros_exceed_18_places_still_fits(
        self, value: Decimal, zeros: int
    ) -> None:
        """1.5000...0 with 25 places is 1.5: it fits."""
        padded = value.quantize(Decimal(1).scaleb(-18 - zeros), context=Context(prec=100))
        assert Decimal(decimal_text(padded, "x")) == value

    @pytest.mark.parametrize(
        "value",
        ["1E-19", "0.0000000000000000015", "100000000000000000000", "1E+20", "NaN", "-Infinity"],
    )
    def test_text_when_value_cannot_fit_refuses_naming_the_field(self, value: str) -> None:
        """Too many decimals, too many integer digits or not finite: refused, not rounded."""
        with pytest.raises(UnrepresentableDecimal, match=r"Fill\.fee"):
            decimal_text(Decimal(value), "Fill.fee")

    def test_text_when_value_uses_an_exponent_is_plain(self) -> None:
        """Scientific notation becomes plain digits DuckDB casts."""
        assert Decimal(decimal_text(Decimal("1E+5"), "x")) == Decimal(100000)
        assert "E" not in decimal_text(Decimal("1E-7"), "x")
