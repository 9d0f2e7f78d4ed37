"""Errors of the simulator.

Exception tree::

    ValueError
    └── SimConfigError          a setting or data file of the simulator does not fit
    LookupError
    └── UnknownSymbol           a pair name the universe does not list
"""

from __future__ import annotations


class SimConfigError(ValueError):
    """A simulator setting or data file does not fit; ``field`` names where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class UnknownSymbol(LookupError):
    """A pair name (v2 symbol, REST name, altname or wsname) that the universe does not list."""

    def __init__(self, symbol: str) -> None:
        super().__init__(f"unknown pair {symbol!r}")
        self.symbol = symbol
