"""What the risk gate knows of each book's health: the book feed's announcements.

The feed publishes :class:`~arbitrade.messages.BookStateChanged` on ``TOPIC_BOOK_STATE`` (live,
stale while it reads more than ``max_lag`` behind the exchange, resyncing after a checksum
mismatch or when it stopped). :class:`BookStates` keeps the latest one per symbol; a starting
gate fills in what it missed from the feed's answer (:func:`caught_up_states`), never going
back on an announcement it already took from the bus.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from arbitrade.market.feeds import FeedLag, MarketState
from arbitrade.messages import BookHealth, BookStateChanged

CAUGHT_UP_LIVE: Final = "caught up from the feed: live"
CAUGHT_UP_LAGGING: Final = "caught up from the feed: feed lagging"


class BookStates:
    """The latest :class:`~arbitrade.messages.BookStateChanged` of every book heard about.

    Not thread-safe; the gate's core owns it. A symbol never announced is *unknown*: the
    check that reads these (``check_books_live``) lets unknown books through.
    """

    __slots__ = ("_states",)

    def __init__(self) -> None:
        self._states: dict[str, BookStateChanged] = {}

    def __len__(self) -> int:
        return len(self._states)

    def apply(self, change: BookStateChanged) -> None:
        """Take ``change`` as the book's health now (the bus delivers a feed's changes in
        the order it published them, so the latest received is the truth)."""
        self._states[change.symbol] = change

    def catch_up(self, states: Iterable[BookStateChanged]) -> int:
        """Take ``states`` (a feed's answer on start) for the books not yet heard about.

        A book already announced on the bus keeps that announcement: the gate subscribes
        before it asks, so whatever the bus brought is at least as new as the answer.
        Returns how many books were filled in.
        """
        filled = 0
        for change in states:
            if change.symbol not in self._states:
                self._states[change.symbol] = change
                filled += 1
        return filled

    def of(self, symbols: Iterable[str]) -> dict[str, BookStateChanged]:
        """The states of ``symbols`` that are known (unknown ones are left out)."""
        states = self._states
        return {symbol: states[symbol] for symbol in symbols if symbol in states}

    def not_live(self) -> dict[str, BookStateChanged]:
        """Every known book whose latest state is not live."""
        return {s: c for s, c in self._states.items() if c.health is not BookHealth.LIVE}

    def snapshot(self) -> Mapping[str, BookStateChanged]:
        """A copy of every known book's latest state."""
        return dict(self._states)


def caught_up_states(
    market: MarketState, lag: FeedLag | None, at: float
) -> tuple[BookStateChanged, ...]:
    """The book states a feed's answers imply, stamped ``at`` (when the gate asked).

    A lagging feed (``lag.lagging``) holds every book stale until it announces them live
    again, so every instrument of its universe is stale. Otherwise each book in
    ``market.tops`` (the feed's live books) is live; the others (resyncing, not yet
    snapshotted, or not subscribed at all) are left unknown: the answer cannot tell them
    apart, and a book that becomes live is announced on the bus anyway. ``lag`` None (the
    feed did not say) reads as not lagging.
    """
    if lag is not None and lag.lagging:
        universe = market.instruments.instruments if market.instruments is not None else ()
        return tuple(
            BookStateChanged(instrument.symbol, BookHealth.STALE, CAUGHT_UP_LAGGING, at)
            for instrument in universe
        )
    return tuple(
        BookStateChanged(top.symbol, BookHealth.LIVE, CAUGHT_UP_LIVE, at) for top in market.tops
    )
