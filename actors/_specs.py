"""Supervision strategies as data: child specs, restart types, intensity and backoff.

A supervisor interprets these values; nothing here runs anything.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ._actor import Actor


class Restart(enum.Enum):
    """When a child that exited is restarted (OTP restart types)."""

    PERMANENT = "permanent"
    """Always restarted, whether it crashed or returned."""
    TRANSIENT = "transient"
    """Restarted only after a crash (an exception); a normal exit is final."""
    TEMPORARY = "temporary"
    """Never restarted; its crash is logged and it stays stopped."""


class Strategy(enum.Enum):
    """Which children are restarted when one child must be restarted (OTP strategies)."""

    ONE_FOR_ONE = "one_for_one"
    """Only the failed child."""
    ONE_FOR_ALL = "one_for_all"
    """All children: the others are stopped in reverse order, then all start in order."""
    REST_FOR_ONE = "rest_for_one"
    """The failed child and those started after it."""


class Overflow(enum.Enum):
    """What a mailbox does when it is full.

    ``RAISE`` is the backpressure policy: ``send`` waits for room, ``send_nowait`` raises
    ``MailboxFull``. The dropping policies never wait, in either verb: the message is
    dropped (``DROP_NEWEST``) or the oldest queued one is (``DROP_OLDEST``, "latest wins"),
    and ``MailboxStatistics.dropped`` counts it. A dropped ask fails with ``MailboxFull``.
    """

    RAISE = "raise"
    DROP_NEWEST = "drop_newest"
    DROP_OLDEST = "drop_oldest"


@attrs.frozen
class Mailbox:
    """A bounded mailbox: a Trio memory channel of ``capacity`` with an overflow policy."""

    capacity: int = 1000
    """Messages queued before the overflow policy applies (at least 1)."""
    overflow: Overflow = Overflow.RAISE
    """What happens when full; see ``Overflow``."""

    def __attrs_post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"Mailbox.capacity must be >= 1, got {self.capacity}")


DEFAULT_MAILBOX = Mailbox()


@attrs.frozen
class Intensity:
    """At most ``max_restarts`` restarts within ``within`` seconds, else the supervisor gives up.

    Every restart counts, including ones that succeeded (OTP semantics).
    """

    max_restarts: int = 3
    within: float = 5.0


DEFAULT_INTENSITY = Intensity()


@attrs.frozen
class Backoff:
    """Exponential backoff with jitter before restarting a child.

    The n-th consecutive restart waits ``min(maximum, initial * multiplier**n)`` seconds,
    scaled by a random factor in ``[1 - jitter, 1 + jitter]``. The count resets when an
    incarnation has run for ``reset_after`` seconds.
    """

    initial: float = 0.1
    maximum: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.2
    reset_after: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The delay before restart number ``attempt`` (0-based) of a run of failures."""
        base = min(self.maximum, self.initial * self.multiplier**attempt)
        if self.jitter:
            base *= 1.0 + rng.uniform(-self.jitter, self.jitter)
        return max(0.0, base)


@attrs.frozen
class ChildSpec:
    """How to build, restart and stop one actor child.

    ``factory(*args, **kwargs)`` must return a fresh ``Actor`` for every (re)start.
    ``shutdown_timeout`` bounds a graceful stop (finish the current message, run
    ``on_stop``); after it the child is cancelled. ``None`` waits forever.
    """

    name: str
    factory: Callable[..., Actor[Any]]
    restart: Restart = Restart.PERMANENT
    mailbox: Mailbox = DEFAULT_MAILBOX
    backoff: Backoff | None = None
    shutdown_timeout: float | None = 5.0
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        _check_name(self.name)

    def build(self) -> Actor[Any]:
        """A new actor instance for one incarnation."""
        return self.factory(*self.args, **self.kwargs)


@attrs.frozen
class SupervisorSpec:
    """A supervisor: its children in start order and how it restarts them.

    As a child of another supervisor it is restarted per ``restart`` / ``backoff``;
    its stop waits for its own children (``shutdown_timeout=None``) by default.
    """

    name: str
    children: Sequence[ChildSpec | SupervisorSpec] = ()
    strategy: Strategy = Strategy.ONE_FOR_ONE
    intensity: Intensity = DEFAULT_INTENSITY
    restart: Restart = Restart.PERMANENT
    backoff: Backoff | None = None
    shutdown_timeout: float | None = None

    def __attrs_post_init__(self) -> None:
        _check_name(self.name)
        names = [child.name for child in self.children]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"supervisor {self.name!r} has duplicate child names: {duplicates}")


def _check_name(name: str) -> None:
    if not name or "/" in name:
        raise ValueError(f"an actor name must be non-empty without '/', got {name!r}")
