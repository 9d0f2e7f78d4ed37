"""What the feed actors answer when asked: their counters and the market state they hold."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from arbitrade.messages import BookTop, Instrument, InstrumentsLoaded

__all__ = [
    "FeedLag",
    "FeedStatistics",
    "GetFeedLag",
    "GetFeedStatistics",
    "GetMarketState",
    "MarketState",
    "instrument_from",
]


@attrs.frozen
class GetFeedStatistics:
    """Ask a feed for its counters (replies :class:`FeedStatistics`)."""


@attrs.frozen
class GetMarketState:
    """Ask the book feed what a late (re)started consumer missed (replies :class:`MarketState`)."""


@attrs.frozen
class MarketState:
    """The universe and the live books, as the book feed last published them.

    The feed publishes instruments only on (re)connect or an instrument update, so a consumer
    that restarts in between (the pair graph after a crash) asks for this to catch up.
    """

    instruments: InstrumentsLoaded | None
    """The universe last published (None before the first instrument snapshot)."""
    tops: tuple[BookTop, ...]
    """The latest top of every book that is live now (resyncing books are left out)."""


@attrs.frozen
class GetFeedLag:
    """Ask the book feed how far behind it reads (replies :class:`FeedLag`)."""


@attrs.frozen
class FeedLag:
    """How far behind the exchange the book feed reads, and how it catches up.

    Apart from :class:`FeedStatistics` on purpose: backtest reports embed those counters
    field by field (and pin their names), so new figures go here.
    """

    lag: float = 0.0
    """Seconds behind the exchange as of the latest stamped frame (0 before the first, or
    when the feed has no wall clock to compare with)."""
    lagging: bool = False
    """True while the lag is past ``max_lag`` and not yet back to ``caught_up_lag``."""
    lag_episodes: int = 0
    """Times the feed started lagging."""
    worst_lag: float = 0.0
    """The largest lag of the current (or last) episode."""
    clock_offset: float = 0.0
    """Our wall clock minus the exchange's stamps at their closest (seconds): the clocks'
    offset plus the network's floor; the lag is measured above it."""
    batches: int = 0
    """Batches of ready frames taken (each ends with its tops published)."""
    largest_batch: int = 0
    """Most frames taken in one batch."""
    conflated: int = 0
    """Book tops not published because a later top of the same book superseded them in the
    same batch or while lagging (each of their frames was still applied and verified)."""


@attrs.frozen
class FeedStatistics:
    """Counters of one feed incarnation (a channel feed has no books: those counters are 0)."""

    frames: int
    """Frames received on the connection."""
    book_messages: int
    """Book snapshots and updates applied."""
    tops_published: int
    """Book tops published on the bus."""
    mismatches: int
    """Checksum mismatches (each starts a resync of that book)."""
    decode_errors: int
    """Frames that were garbage, truncated or malformed."""
    books: int
    """Books kept."""
    relayed: int = 0
    """Channel messages relayed on ``TOPIC_MARKET_CHANNEL`` (channel feeds)."""


def instrument_from(pair: Any) -> Instrument:
    """The shared :class:`~arbitrade.messages.Instrument` of a decoded instrument pair."""
    return Instrument(
        symbol=pair.symbol,
        base=pair.base,
        quote=pair.quote,
        price_precision=pair.price_precision,
        qty_precision=pair.qty_precision,
        price_increment=pair.price_increment,
        qty_increment=pair.qty_increment,
        qty_min=pair.qty_min,
        cost_min=pair.cost_min if pair.cost_min is not None else Decimal(0),
        status=pair.status,
    )
