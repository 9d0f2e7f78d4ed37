"""How far behind the exchange a feed reads: the exchange's own stamp against the wall clock.

Kraken stamps each ``book`` update (and each trade) with the time it happened (RFC 3339). A
feed that reads those frames seconds after they were stamped trades on a past market without
knowing it: :class:`LagMonitor` compares the stamp of the latest frame read with the feed's wall
clock (injected: a backtest passes the recording's time) and says when the feed starts lagging
past a threshold and when it has caught up (below a lower one, so it does not flap).

Two corrections make the reading mean "behind", not "clocks disagree":

- The wall clock is read once, at the first frame, and advanced by Trio's clock after that: a
  run on a virtual clock (tests, backtests) keeps stamps and "now" on one time line, and a
  wall clock stepped by NTP mid-run does not read as lag.
- The lag is what exceeds the smallest difference seen so far (the clock offset between the
  exchange and us plus the network's floor; the first frames of a connection, its snapshots,
  are fresh). A local clock seconds off, or a replay of old frames, is not lag.

- A stamp lag that lasts ``REBASE_AFTER`` seconds while the feed has no backlog (every read
  found one message and nothing more waiting) and its pings come straight back is the
  exchange's clock falling behind ours, not us reading late: the floor moves up to it
  (``rebased``). Reading behind, the feed finds more frames ready than it takes at once, and
  its pings wait behind the backlog.

The second reading needs no clock but ours: the feed pings every second, and a pong queues
behind everything sent before it, wherever that waits (our socket, or the exchange's outbox
when the exchange itself cannot send fast enough). The age of the oldest unanswered ping is
the pipe's lag; the feed's lag is the larger of the two.

What it cannot see: a feed already behind at its very first frame, a connection that sends
nothing (the stall watch and the heartbeat watchdog see that), and a frame stamped in the
future by mistake (it lowers the floor, so later frames read as lagging until the feed
restarts).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable

import attrs

__all__ = ["REBASE_AFTER", "LagChange", "LagMonitor", "exchange_time"]

REBASE_AFTER = 5.0
"""Seconds of lag without a backlog after which the exchange's clock, not the feed, is behind
(the simulator's market clock falls behind when its tick loop skips ahead after a stall)."""


def exchange_time(stamp: str) -> float | None:
    """Unix seconds of a Kraken RFC 3339 stamp (``2023-09-25T09:04:31.742599Z``, up to nine
    fractional digits), or None when it does not parse (a stamp is informational: a bad one
    is ignored, never an error)."""
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is None:  # Kraken writes Z; a naive stamp is read as UTC too
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


class LagChange(enum.Enum):
    """What one lag reading changed."""

    NONE = "none"
    STARTED = "started"
    """The lag went past ``max_lag``: the feed is lagging from now on."""
    ENDED = "ended"
    """The lag came back to ``caught_up_lag`` or below: the feed has caught up."""


@attrs.define
class LagMonitor:
    """The lag of one feed incarnation and whether it counts as lagging.

    Args:
        wall_clock: Unix time now (``time.time``; a backtest passes the recording's time),
            read at the first frame.
        max_lag: seconds behind the exchange's stamp past which the feed is lagging.
        caught_up_lag: seconds at or below which a lagging feed has caught up (lower than
            ``max_lag``: a lag hovering at the threshold does not flap).
        now: the monotonic clock (``trio.current_time``) that advances the wall clock after
            its first reading, and times the episodes.
    """

    wall_clock: Callable[[], float]
    max_lag: float
    caught_up_lag: float
    now: Callable[[], float]
    lag: float = 0.0
    """Seconds behind as of the latest reading (0 before the first): the larger of
    :attr:`stamp_lag` and :attr:`pipe_lag`."""
    stamp_lag: float = 0.0
    """Seconds the latest stamp is behind the wall clock, above the floor (:attr:`offset`)."""
    worst: float = 0.0
    """The largest lag of the current episode (or of the last, once caught up)."""
    lagging_since: float | None = None
    """Monotonic time the current episode started; None while not lagging."""
    episodes: int = 0
    """Lag episodes started (a feed that keeps up has none)."""
    last_episode: float = 0.0
    """Seconds the last finished episode lasted (monotonic clock)."""
    offset: float | None = None
    """The smallest ``wall - stamp`` seen (seconds; None before the first frame): the clock
    offset between the exchange and us plus the network's floor."""
    rebased: int = 0
    """Times the floor moved up: a lag without a backlog, so the exchange's clock was behind."""
    _quiet_since: float | None = None
    _pings: list[float] = attrs.field(factory=list)
    _anchor: tuple[float, float] | None = None
    _stamp: str = ""
    _stamp_time: float = 0.0

    @property
    def lagging(self) -> bool:
        """True from a reading past ``max_lag`` until one at ``caught_up_lag`` or below."""
        return self.lagging_since is not None

    def ping_sent(self) -> float:
        """Note a ping going out now; returns its token for :meth:`ping_answered`."""
        sent = self.now()
        self._pings.append(sent)
        return sent

    def ping_answered(self, token: float) -> None:
        """The ping of ``token`` was answered (or given up on): it no longer counts."""
        if token in self._pings:
            self._pings.remove(token)

    @property
    def pipe_lag(self) -> float:
        """Seconds the oldest unanswered ping has waited: a pong queues behind everything the
        exchange sent before it, on either side of the connection, so this is how long a
        message takes through the pipe, on our clock alone (0 with nothing outstanding)."""
        return self.now() - self._pings[0] if self._pings else 0.0

    def observe(self, stamp: str | None, *, backlog: bool = True) -> LagChange:
        """Take the exchange stamp of the latest frame read (None: no new frame, judge the
        pings alone); say what changed.

        The lag is the larger of the stamps' lag and :attr:`pipe_lag`. ``backlog`` says
        whether more frames were ready than the feed took at once (False: it read everything
        there was). An unparsable stamp changes nothing. The same stamp as last time is not
        parsed again (a batch of one exchange instant costs one parse).
        """
        mono = self.now()
        if stamp is not None:
            if stamp != self._stamp:
                at = exchange_time(stamp)
                if at is None:
                    return LagChange.NONE
                self._stamp, self._stamp_time = stamp, at
            anchor = self._anchor
            if anchor is None:
                anchor = self._anchor = (self.wall_clock(), mono)
            difference = anchor[0] + (mono - anchor[1]) - self._stamp_time
            offset = self.offset
            if offset is None or difference < offset:
                offset = self.offset = difference
            self.stamp_lag = difference - offset
            if self.lagging_since is not None:
                self._rebase_if_clock_behind(difference, mono, backlog)
        lag = self.lag = max(self.stamp_lag, self.pipe_lag)
        if self.lagging_since is None:
            if lag > self.max_lag:
                self.lagging_since = mono
                self.episodes += 1
                self.worst = lag
                return LagChange.STARTED
            return LagChange.NONE
        self.worst = max(self.worst, lag)
        if lag <= self.caught_up_lag:
            self._quiet_since = None
            self.last_episode = mono - self.lagging_since
            self.lagging_since = None
            return LagChange.ENDED
        return LagChange.NONE

    def _rebase_if_clock_behind(self, difference: float, mono: float, backlog: bool) -> None:
        # Stamps behind, yet nothing waits to be read and pings come straight back: the
        # exchange's clock is behind, not us.
        if backlog or self.pipe_lag > self.caught_up_lag:
            self._quiet_since = None
        elif self._quiet_since is None:
            self._quiet_since = mono
        elif mono - self._quiet_since >= REBASE_AFTER:
            self.offset = difference
            self.rebased += 1
            self.stamp_lag = 0.0
            self._quiet_since = None

    def episode_seconds(self) -> float:
        """How long the current episode has lasted (0 when not lagging)."""
        since = self.lagging_since
        return 0.0 if since is None else self.now() - since
