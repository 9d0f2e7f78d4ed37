"""Errors of the simulator.

Exception tree::

    ValueError
    └── SimConfigError          a setting or data file of the simulator does not fit
    LookupError
    ├── UnknownSymbol           a pair name the universe does not list
    └── EntriesForgotten        a reader of a bounded record fell behind what it keeps
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


class EntriesForgotten(LookupError):
    """A reader asked a bounded record for entries it no longer keeps (it fell behind).

    The simulator closes a WebSocket connection that gets this rather than skip what the
    connection has not sent yet.

    Attributes:
        position: the absolute position the reader asked from.
        start: the absolute position of the oldest entry still kept.
    """

    def __init__(self, position: int, start: int) -> None:
        super().__init__(
            f"entries from position {position} were forgotten; the oldest kept is {start}"
        )
        self.position = position
        self.start = start
