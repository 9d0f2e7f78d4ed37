"""The feed actors: a Kraken WebSocket v2 connection per channel, supervised.

This module is the feeds' public face; the implementation is split by idea:
``_connected`` (the client and its watchers), ``_book_feed`` (books, batches, lag),
``_channel_feed`` (ticker, trade), ``_lag``, ``_statistics`` and ``_errors``.

:class:`BookFeed` owns the ``instrument`` and ``book`` channels and the L2 books they keep: each
frame is decoded, applied and checksum-verified in place (no extra hop on the hot path), and a
change goes out on the bus as a :class:`~arbitrade.messages.BookTop` stamped with the frame's
receive time. Every instrument snapshot or update goes out as the whole universe
(:class:`~arbitrade.messages.InstrumentsLoaded`: an update's changed pairs merged into the
last snapshot). :class:`ChannelFeed` relays another public channel (ticker, trade) to the bus.

Failure handling, and why:

- A checksum mismatch marks that book ``resyncing`` (the graph suspends it) and resubscribes
  that symbol for a fresh snapshot; it is logged (``feed.checksum_mismatch``) and counted.
- A dropped connection or a heartbeat loss crashes the feed actor (:class:`FeedDisconnected`):
  the supervisor restarts it with backoff, the restart log says what happened, and the new
  incarnation reconnects and resubscribes, so every book starts again from a snapshot. Before
  it goes, the feed marks its books ``resyncing`` so no decision is taken on them meanwhile.
- A subscription cut short by the connection dropping leaves the crash to the connection
  watcher, so the restart log names the cause (``connection dropped``, ``heartbeat lost``)
  rather than the request that happened to be waiting.
- A garbage or truncated frame decodes to a typed ``DecodeError``: counted and logged
  (``feed.bad_frame``), never a crash.
- What the exchange does wrong without breaking the connection also goes to the audit log
  (``TOPIC_AUDIT``, kinds in :mod:`arbitrade.market._audit`, at most one per kind and subject
  every 5 s with a count): bad frames, checksum mismatches, a change of the exchange's engine
  state, a request Kraken held too long (a ping every second measures it with Kraken's own
  ``time_in``/``time_out``), and a subscribed channel gone quiet while the connection is up.
- A book feed reading behind the exchange by more than ``max_lag`` (its frames' stamps
  against the wall clock, or its once-a-second pings waiting for their pongs; see
  :mod:`arbitrade.market._lag`) audits ``feed.lagging`` and announces its books ``STALE``
  (tops held, frames still applied and verified) until it is back within ``caught_up_lag``
  (``feed.caught_up``, books ``LIVE`` with their tops).
- Subscriptions go out all at once (every batch of ``subscribe_batch`` symbols without
  waiting for the previous acknowledgements), and each book is live as soon as its snapshot
  is in: after a reconnect the books come back in one round trip, not one per batch.
"""

from arbitrade.market._book_feed import BookFeed as BookFeed
from arbitrade.market._channel_feed import TOPIC_MARKET_CHANNEL as TOPIC_MARKET_CHANNEL
from arbitrade.market._channel_feed import ChannelFeed as ChannelFeed
from arbitrade.market._connected import ConnectedFeed as ConnectedFeed
from arbitrade.market._errors import FeedDisconnected as FeedDisconnected
from arbitrade.market._statistics import FeedLag as FeedLag
from arbitrade.market._statistics import FeedStatistics as FeedStatistics
from arbitrade.market._statistics import GetFeedLag as GetFeedLag
from arbitrade.market._statistics import GetFeedStatistics as GetFeedStatistics
from arbitrade.market._statistics import GetMarketState as GetMarketState
from arbitrade.market._statistics import MarketState as MarketState
from arbitrade.market._statistics import instrument_from as instrument_from

__all__ = [
    "TOPIC_MARKET_CHANNEL",
    "BookFeed",
    "ChannelFeed",
    "ConnectedFeed",
    "FeedDisconnected",
    "FeedLag",
    "FeedStatistics",
    "GetFeedLag",
    "GetFeedStatistics",
    "GetMarketState",
    "MarketState",
    "instrument_from",
]
