"""Settings of the market-data feeds (``config/market.toml``, env ``MARKET_<FIELD>``)."""

from __future__ import annotations

import attrs
from attrs import validators as v

BOOK_DEPTHS = (10, 25, 100, 500, 1000)
WS_TRANSPORTS = ("trio-websocket", "wsproto")


def _below_max_lag(
    instance: MarketSettings, attribute: attrs.Attribute[float], value: float
) -> None:
    if value >= instance.max_lag:
        raise ValueError(
            f"caught_up_lag must be below max_lag ({instance.max_lag:g} s), got {value:g}"
        )


@attrs.frozen(kw_only=True)
class MarketSettings:
    """What the feeds subscribe to, when they call a connection dead or a feed behind.

    Raises:
        ValueError: a field out of range, naming it (``caught_up_lag`` must be below
            ``max_lag``).
    """

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
    channels: tuple[str, ...] = ("ticker",)
    """Further public channels fed to the bus besides instrument and book (``ticker``,
    ``trade``, ``ohlc``). Nothing that decides reads them yet, so only ``ticker`` (one update
    per pair and change) is on by default; ``trade`` is opt-in: over the full universe the
    simulator prints about 800 trades a second, which the bot would decode for nothing."""
    subscribe_batch: int = attrs.field(default=50, validator=v.ge(1))
    """Symbols per subscribe request (one acknowledgement comes back per symbol)."""
    max_lag: float = attrs.field(default=2.0, validator=v.gt(0))
    """Seconds the feed may read behind the exchange's stamps (``timestamp`` of book updates,
    against the wall clock) before it calls its books stale and audits ``feed.lagging``."""
    caught_up_lag: float = attrs.field(default=0.5, validator=[v.ge(0), _below_max_lag])
    """Seconds behind at or under which a lagging feed has caught up (``feed.caught_up``;
    its books are live again). Below ``max_lag`` so a lag near the threshold does not flap."""
    conflate: bool = True
    """Apply every frame the connection has ready in one go (each book checksum-verified) and
    publish each changed book's top once per batch, the latest. False: one top per frame (the
    benchmark's comparison). Either way a lagging feed holds its tops until it has caught up."""
    max_batch: int = attrs.field(default=1024, validator=v.ge(1))
    """Most frames taken in one batch before the feed lets other tasks run."""
    ws_transport: str = attrs.field(default="wsproto", validator=v.in_(WS_TRANSPORTS))
    """The WebSocket library under the market feeds (ADR 0013): ``wsproto``
    (``arbitrade.kraken._wsproto_transport``, the default) hands over every frame one socket
    read brings, so a feed behind a backlog catches up in a few turns of a busy loop;
    ``trio-websocket`` hands over one message per turn (its reader task waits on a channel
    send after each). A transport passed to the feeds (a replay, a recorder) overrides this."""
