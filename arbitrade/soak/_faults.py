"""The faults the soak fires, a seeded plan of them, and the record kept of each.

Faults fire one at a time, so each recovery is attributed to exactly one cause. The order is
a seeded shuffle repeated until the time is up (every kind fires once before any fires
twice), and each fault's parameters (how long a stall lasts, how many frames are cut) are
drawn from the same generator: the same seed gives the same sequence.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterator

import attrs


class FaultKind(enum.StrEnum):
    """What goes wrong. Exchange faults are simulator knobs; the rest happen inside the bot."""

    DROP_CONNECTIONS = "drop_connections"
    STALLED_CHANNEL = "stalled_channel"
    CORRUPT_CHECKSUMS = "corrupt_checksums"
    GARBAGE_FRAMES = "garbage_frames"
    TRUNCATED_FRAMES = "truncated_frames"
    ACK_DELAY = "ack_delay"
    RATE_LIMIT_ERRORS = "rate_limit_errors"
    NONCE_ERRORS = "nonce_errors"
    MAINTENANCE = "maintenance"
    CANCEL_ONLY = "cancel_only"
    PERSISTENCE_THREAD_CRASH = "persistence_thread_crash"
    FEED_ACTOR_CRASH = "feed_actor_crash"
    GRAPH_ACTOR_CRASH = "graph_actor_crash"
    SLOW_DASHBOARD_CLIENT = "slow_dashboard_client"

    @property
    def inside_bot(self) -> bool:
        """True for faults of the bot itself (crashes, a slow client), not of the exchange."""
        return self in _INSIDE


_INSIDE = frozenset(
    {
        FaultKind.PERSISTENCE_THREAD_CRASH,
        FaultKind.FEED_ACTOR_CRASH,
        FaultKind.GRAPH_ACTOR_CRASH,
        FaultKind.SLOW_DASHBOARD_CLIENT,
    }
)

STALLABLE = ("book", "ticker", "trade", "heartbeat", "executions")
"""Channels a stall may pick from (the plan keeps those the bot subscribes to)."""
PRIVATE_STALLABLE = frozenset({"heartbeat", "executions"})
"""Channels only the venue's private connection carries."""
PRIVATE_STALL_MIN = 3.0
"""Shortest private stall: the venue calls two quiet seconds a stall (Kraken's heartbeat is
once a second), so a shorter one is normal jitter, not a fault to be seen."""


@attrs.frozen
class PlannedFault:
    """One fault to fire: its kind and its drawn parameters."""

    kind: FaultKind
    seconds: float = 0.0
    """How long it lasts (stalls, delays, status changes, the slow client); 0: instant."""
    count: int = 0
    """How many (corrupt checksums, garbage or cut frames, REST errors)."""
    channel: str = ""
    """The stalled channel."""
    delay: float = 0.0
    """Seconds each acknowledgement and REST answer is held back (ack delay)."""
    gap: float = 1.0
    """Quiet seconds after it recovered, before the next fault."""


def fault_plan(
    seed: int,
    kinds: tuple[FaultKind, ...] = tuple(FaultKind),
    stallable: tuple[str, ...] = STALLABLE,
) -> Iterator[PlannedFault]:
    """An endless seeded sequence of faults: shuffled rounds in which every kind fires once;
    stalls pick one of ``stallable`` (a channel nobody subscribes to cannot be seen stalling).

    Raises:
        ValueError: ``stallable`` is empty or names a channel outside :data:`STALLABLE`.
    """
    unknown = sorted(set(stallable) - set(STALLABLE))
    if not stallable or unknown:
        raise ValueError(f"stallable channels must be some of {STALLABLE}, got {stallable}")
    rng = random.Random(seed)  # noqa: S311 - a reproducible plan, not a secret
    while True:
        round_ = list(kinds)
        rng.shuffle(round_)
        for kind in round_:
            yield _draw(rng, kind, stallable)


def stallable_channels(public: tuple[str, ...]) -> tuple[str, ...]:
    """The channels a stall may pick for a bot whose feeds subscribe ``public`` besides book
    (the live venue's private channels always)."""
    return tuple(c for c in STALLABLE if c == "book" or c in public or c in PRIVATE_STALLABLE)


def _draw(rng: random.Random, kind: FaultKind, stallable: tuple[str, ...]) -> PlannedFault:
    gap = rng.uniform(0.5, 3.0)
    if kind is FaultKind.STALLED_CHANNEL:
        channel = rng.choice(stallable)
        seconds = rng.uniform(1.0, 6.0)
        if channel in PRIVATE_STALLABLE:  # 3-6 s: a quiet second or two is no stall there
            seconds = PRIVATE_STALL_MIN + (seconds - 1.0) * (6.0 - PRIVATE_STALL_MIN) / 5.0
        return PlannedFault(kind, seconds=seconds, channel=channel, gap=gap)
    if kind is FaultKind.ACK_DELAY:
        delay = rng.uniform(0.2, 1.5)
        return PlannedFault(kind, seconds=rng.uniform(2.0, 6.0), delay=delay, gap=gap)
    if kind in (FaultKind.MAINTENANCE, FaultKind.CANCEL_ONLY):
        return PlannedFault(kind, seconds=rng.uniform(1.0, 5.0), gap=gap)
    if kind is FaultKind.SLOW_DASHBOARD_CLIENT:
        return PlannedFault(kind, seconds=rng.uniform(5.0, 15.0), gap=gap)
    if kind in (
        FaultKind.CORRUPT_CHECKSUMS,
        FaultKind.GARBAGE_FRAMES,
        FaultKind.TRUNCATED_FRAMES,
        FaultKind.RATE_LIMIT_ERRORS,
        FaultKind.NONCE_ERRORS,
    ):
        return PlannedFault(kind, count=rng.randint(1, 3), gap=gap)
    return PlannedFault(kind, gap=gap)


@attrs.define
class FaultRecord:
    """What happened to one fired fault (times on the Trio clock).

    ``recovered_at`` is None while (or if never) recovered; ``measurable`` is False with a
    ``note`` when the bot has nothing that could show a recovery (no such actor, no books).
    """

    kind: FaultKind
    injected_at: float
    cleared_at: float
    """When the exchange behaved again (equal to ``injected_at`` for instant faults)."""
    target: str = ""
    """The crashed actor's path, the stalled channel, the endpoint of the slow client."""
    recovered_at: float | None = None
    visible: bool = False
    """Seen in the restart log or the audit log."""
    measurable: bool = True
    note: str = ""
    no_audit_source: str = ""
    """Why no part of the bot could audit this fault (empty: one can, and must)."""

    @property
    def recovered(self) -> bool:
        return self.recovered_at is not None

    @property
    def seconds_to_recover(self) -> float | None:
        """From the end of the fault to recovery (None if not recovered)."""
        if self.recovered_at is None:
            return None
        return max(0.0, self.recovered_at - self.cleared_at)
