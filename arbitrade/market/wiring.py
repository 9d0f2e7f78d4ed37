"""The market-data part of the supervision tree: feeds, then the pair graph.

``market_supervisor(url, market, graph, fees)`` returns a supervisor of the book feed (which
keeps instruments and books), one feed per further public channel, and the pair-graph actor.
Feeds restart one by one with backoff when their connection drops; the graph restarts alone.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Final

from actors import Backoff, ChildSpec, Intensity, Mailbox, Strategy, SupervisorSpec
from arbitrade.graph import FeeRates, GraphSettings
from arbitrade.kraken import Transport
from arbitrade.market._settings import MarketSettings
from arbitrade.market.feeds import BookFeed, ChannelFeed
from arbitrade.strategy.triangular import PairGraphActor

BOOK_FEED: Final = "feed.book"
PAIR_GRAPH: Final = "pair_graph"
FEED_BACKOFF: Final = Backoff(initial=0.1, maximum=5.0, jitter=0.3, reset_after=10.0)
"""A feed restarts after 0.1 s, doubling up to 5 s while it keeps failing within 10 s of
running. The wait is part of the bot's recovery time (the soak counts it); Kraken's own waits
(5 s after maintenance) are in the WebSocket client, after the exchange is back."""


def market_supervisor(
    url: str,
    market: MarketSettings,
    graph: GraphSettings,
    fees: FeeRates,
    *,
    transport: Transport | None = None,
    capital: Decimal | None = None,
    name: str = "market",
    connection_timers: bool = True,
    wall_clock: Callable[[], float] | None = None,
) -> SupervisorSpec:
    """Feeds (book first: it announces the instruments) and the pair graph, one for one.

    The graph starts before the feeds so it is subscribed to the bus when the first instrument
    snapshot goes out; after a crash of its own it catches up from the book feed. ``capital``
    caps each cycle's start amount (see ``PairGraphActor``). ``connection_timers=False``
    turns off the book feed's connection watch and ack probe: for a replay transport only
    (see ``BookFeed``). ``wall_clock`` (Unix time now; a backtest passes the recording's)
    lets the book feed measure its lag behind the exchange's stamps; None: no lag measured.
    """
    children: list[ChildSpec] = [
        ChildSpec(
            PAIR_GRAPH,
            factory=PairGraphActor,
            args=(graph, fees),
            kwargs={"capital": capital, "book_feed": BOOK_FEED},
            mailbox=Mailbox(capacity=20_000),
        ),
        ChildSpec(
            BOOK_FEED,
            factory=BookFeed,
            args=(url, market),
            kwargs={
                "transport": transport,
                "connection_timers": connection_timers,
                "wall_clock": wall_clock,
            },
            backoff=FEED_BACKOFF,
            shutdown_timeout=2.0,
        ),
    ]
    children += [
        ChildSpec(
            f"feed.{channel}",
            factory=ChannelFeed,
            args=(url, market, channel),
            kwargs={"transport": transport},
            backoff=FEED_BACKOFF,
            shutdown_timeout=2.0,
        )
        for channel in market.channels
    ]
    return SupervisorSpec(
        name,
        children,
        strategy=Strategy.ONE_FOR_ONE,
        intensity=Intensity(max_restarts=30, within=60.0),
    )
