"""Settings of the market-data feeds (``config/market.toml``, env ``MARKET_<FIELD>``)."""

from __future__ import annotations

import attrs
from attrs import validators as v

BOOK_DEPTHS = (10, 25, 100, 500, 1000)


@attrs.frozen(kw_only=True)
class MarketSettings:
    """What the feeds subscribe to and when they call a connection dead."""

    symbols: tuple[str, ...] = ()
    """v2 symbols whose books are kept (``BTC/USD``); empty: every online pair."""
    max_symbols: int = attrs.field(default=1000, validator=v.ge(1))
    """At most this many books when ``symbols`` is empty (the first online pairs by name)."""
    depth: int = attrs.field(default=10, validator=v.in_(BOOK_DEPTHS))
    """Book depth subscribed: 10, 25, 100, 500 or 1000."""
    top_levels: int = attrs.field(default=10, validator=v.ge(1))
    """Levels of each side carried by a ``BookTop`` (the depth the graph can walk)."""
    heartbeat_timeout: float = attrs.field(default=10.0, validator=v.gt(0))
    """Seconds without any frame before a connection is called dead (Kraken: 1 s heartbeats)."""
    request_timeout: float = attrs.field(default=30.0, validator=v.gt(0))
    """Seconds a subscription may wait for its acknowledgements before the feed restarts."""
    channels: tuple[str, ...] = ("ticker", "trade")
    """Further public channels fed to the bus besides instrument and book."""
    subscribe_batch: int = attrs.field(default=50, validator=v.ge(1))
    """Symbols per subscribe request (one acknowledgement comes back per symbol)."""
