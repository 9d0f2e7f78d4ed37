"""How far behind the exchange a feed reads: the exchange's own stamp against the wall clock.

Kraken stamps each ``book`` update (and each trade) with the time it happened (RFC 3339). A
feed that reads those frames seconds after they were stamped trades on a past market without
knowing it: :class:`LagMonitor` compares the stamp of the latest frame read with the feed's wall
clock (injected: a backtest passes the recording's time) and says when the feed starts lagging
past a threshold and when it has caught up (below a lower one, so it does not flap).

What the lag cannot see: a connection that sends nothing (the stall watch and the heartbeat
watchdog see that), and a skew between the exchange's clock and ours (Kraken's clock is NTP
time; ours should be too: a skew of a second reads as a second of lag).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable

import attrs

__all__ = ["LagChange", "LagMonitor", "exchange_time"]


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
        wall_clock: Unix time now (``time.time``; a backtest passes the recording's time).
        max_lag: seconds behind the exchange's stamp past which the feed is lagging.
        caught_up_lag: seconds at or below which a lagging feed has caught up (lower than
            ``max_lag``: a lag hovering at the threshold does not flap).
        now: the monotonic clock (``trio.current_time``) for how long a lag episode lasted.
    """

    wall_clock: Callable[[], float]
    max_lag: float
    caught_up_lag: float
    now: Callable[[], float]
    lag: float = 0.0
    """Seconds behind as of the latest reading (0 before the first)."""
    worst: float = 0.0
    """The largest lag of the current episode (or of the last, once caught up)."""
    lagging_since: float | None = None
    """Monotonic time the current episode started; None while not lagging."""
    episodes: int = 0
    """Lag episodes started (a feed that keeps up has none)."""
    last_episode: float = 0.0
    """Seconds the last finished episode lasted (monotonic clock)."""
    _stamp: str = ""
    _stamp_time: float = 0.0

    @property
    def lagging(self) -> bool:
        """True from a reading past ``max_lag`` until one at ``caught_up_lag`` or below."""
        return self.lagging_since is not None

    def observe(self, stamp: str) -> LagChange:
        """Take the exchange stamp of the latest frame read; say what changed.

        An unparsable stamp changes nothing. The same stamp as last time is not parsed again
        (a batch of frames from one exchange instant costs one parse).
        """
        if stamp != self._stamp:
            at = exchange_time(stamp)
            if at is None:
                return LagChange.NONE
            self._stamp, self._stamp_time = stamp, at
        lag = self.wall_clock() - self._stamp_time
        self.lag = lag
        if self.lagging_since is None:
            if lag > self.max_lag:
                self.lagging_since = self.now()
                self.episodes += 1
                self.worst = lag
                return LagChange.STARTED
            return LagChange.NONE
        self.worst = max(self.worst, lag)
        if lag <= self.caught_up_lag:
            self.last_episode = self.now() - self.lagging_since
            self.lagging_since = None
            return LagChange.ENDED
        return LagChange.NONE

    def episode_seconds(self) -> float:
        """How long the current episode has lasted (0 when not lagging)."""
        since = self.lagging_since
        return 0.0 if since is None else self.now() - since
