"""What the soak watches while the bot runs: the bus, the restart log, and a few log events.

:class:`RowCounter` is a lossless subscriber to every persisted topic that counts, per table,
the rows the sink should write; compared with DuckDB afterwards it gives rows lost.
:class:`Observer` follows feed, book, order and opportunity traffic, the restart log, the
audit log and the venue's connection (from its ``live.connection`` log event, through a
structlog processor), and says whether the bot is healthy now.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog
import trio

from actors import (
    RESTART_LOG_TOPIC,
    Bus,
    ChildStarted,
    Lossless,
    LossyLatest,
    Registry,
    Subscription,
    SupervisorEvent,
)
from arbitrade.messages import (
    TOPIC_AUDIT,
    TOPIC_BOOK_STATE,
    TOPIC_BOOK_TOP,
    TOPIC_FEED_STATE,
    TOPIC_OPPORTUNITIES,
    TOPIC_ORDERS,
    AuditEvent,
    BookHealth,
    BookStateChanged,
    FeedStateChanged,
    Opportunity,
    OrderUpdate,
)
from arbitrade.persistence import PERSISTED_TOPICS, mapping_for

SINK_NAME = "persistence_sink"
LIVE_FEED_STATES = frozenset({"live", "subscribed", "connected"})
_CAPACITY = 1_000_000
UNKEPT_AUDIT_KINDS = frozenset({"risk.accepted", "risk.rejected"})
"""Audit kinds counted but not kept: one per opportunity (tens of thousands an hour), and no
check reads them; kept, they grew the bot's RSS by ~20 MB over a 30-minute soak."""
RECENT_SECONDS = 600.0
"""Opportunity times older than this are forgotten (the checks read the last minute)."""


async def poll_until(predicate: Callable[[], bool], interval: float = 0.02) -> None:
    """Return once ``predicate()`` is true, asking every ``interval`` seconds (what is
    watched is computed state, so there is no event to wait on)."""
    while True:
        if predicate():
            return
        await trio.sleep(interval)


class RowCounter:
    """Counts, per table, the events published on the persisted topics: what the sink must
    have written when it stops. Subscribe before the tree starts (:meth:`attach`).

    Restart-log events from before the first sink incarnation started (the writer's start)
    cannot be seen by any sink and are not counted: they are recognised by their order in the
    restart-log subscription, which ends with the sink's own ``ChildStarted`` (published after
    the sink subscribed). Nothing else persisted is published before the sink starts.
    """

    def __init__(self) -> None:
        self.published: collections.Counter[str] = collections.Counter()
        self.sink_started = False
        self._subscriptions: list[Subscription] = []

    def attach(self, bus: Bus) -> None:
        """Subscribe (losslessly) to every persisted topic."""
        self._subscriptions = [bus.subscribe(t, Lossless(_CAPACITY)) for t in PERSISTED_TOPICS]

    def count(self, message: object) -> None:
        """Count one published message (public for tests)."""
        if isinstance(message, SupervisorEvent) and not self.sink_started:
            if not (isinstance(message, ChildStarted) and message.path.endswith("/" + SINK_NAME)):
                return
            self.sink_started = True
        mapping = mapping_for(type(message))
        if mapping is not None:
            self.published[mapping.table.name] += 1

    async def run(self) -> None:
        """Drain every subscription until cancelled."""
        async with trio.open_nursery() as nursery:
            for subscription in self._subscriptions:
                nursery.start_soon(self._drain, subscription)

    async def _drain(self, subscription: Subscription) -> None:
        with subscription:
            async for message in subscription:
                self.count(message)


class Observer:
    """Follows the running bot and judges its health (see :meth:`health`)."""

    def __init__(self, clock: Callable[[], float] = trio.current_time) -> None:
        self._clock = clock
        self.feeds: dict[str, str] = {}
        """Last state per feed channel."""
        self.books: dict[str, BookHealth] = {}
        """Last health per book symbol."""
        self.feed_relives = 0
        """Feeds that became live again after being something else."""
        self.book_resyncs = 0
        """Books that became live again after resyncing or going stale."""
        self.checksum_failures = 0
        self.book_tops = 0
        self.last_book_top_at: float | None = None
        self.opportunity_times: collections.deque[float] = collections.deque()
        """Opportunities seen in the last :data:`RECENT_SECONDS` (older ones are forgotten)."""
        self.order_times: list[float] = []
        self.restart_log: list[SupervisorEvent] = []
        self.audit: list[AuditEvent] = []
        """Every audit event but the per-opportunity risk decisions (see ``audit_counts``)."""
        self.audit_counts: collections.Counter[str] = collections.Counter()
        """Audit events seen, by kind, kept or not."""
        self.venue_connected: bool | None = None
        """From the venue's ``live.connection`` events; None when it logs none (paper)."""
        self.venue_reconnects = 0
        self.events_seen: collections.Counter[str] = collections.Counter()
        self._subscriptions: list[tuple[Subscription, Callable[[Any], None]]] = []

    # --- wiring --------------------------------------------------------------------------------
    def attach(self, bus: Bus) -> None:
        """Subscribe to what is watched (before the tree starts, to miss nothing)."""
        lossless = Lossless(_CAPACITY)
        self._subscriptions = [
            (bus.subscribe(TOPIC_FEED_STATE, lossless), self.on_feed),
            (bus.subscribe(TOPIC_BOOK_STATE, lossless), self.on_book),
            (bus.subscribe(TOPIC_BOOK_TOP, LossyLatest(1000)), self.on_book_top),
            (bus.subscribe(TOPIC_OPPORTUNITIES, lossless), self.on_opportunity),
            (bus.subscribe(TOPIC_ORDERS, lossless), self.on_order),
            (bus.subscribe(RESTART_LOG_TOPIC, lossless), self.on_restart_event),
            (bus.subscribe(TOPIC_AUDIT, lossless), self.on_audit),
        ]

    async def run(self) -> None:
        """Drain every subscription until cancelled."""
        async with trio.open_nursery() as nursery:
            for subscription, handle in self._subscriptions:
                nursery.start_soon(self._drain, subscription, handle)

    @staticmethod
    async def _drain(subscription: Subscription, handle: Callable[[Any], None]) -> None:
        with subscription:
            async for message in subscription:
                handle(message)

    def log_processor(
        self, _logger: object, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """A structlog processor: notes the log events the soak reads, passes all on."""
        event = event_dict.get("event")
        if isinstance(event, str):
            self.events_seen[event] += 1
            if event == "live.connection":
                connected = bool(event_dict.get("connected"))
                if connected and self.venue_connected is False:
                    self.venue_reconnects += 1
                self.venue_connected = connected
        return event_dict

    def tap_logs(self) -> None:
        """Put :meth:`log_processor` first in structlog's processor chain."""
        processors = list(structlog.get_config()["processors"])
        structlog.configure(processors=[self.log_processor, *processors])

    # --- handlers (public so tests can feed them) ----------------------------------------------
    def on_feed(self, change: FeedStateChanged) -> None:
        before = self.feeds.get(change.channel)
        live = change.state in LIVE_FEED_STATES
        if live and before is not None and before not in LIVE_FEED_STATES:
            self.feed_relives += 1
        self.feeds[change.channel] = change.state

    def on_book(self, change: BookStateChanged) -> None:
        before = self.books.get(change.symbol)
        if not change.checksum_ok:
            self.checksum_failures += 1
        if change.health is BookHealth.LIVE and before not in (None, BookHealth.LIVE):
            self.book_resyncs += 1
        self.books[change.symbol] = change.health

    def on_book_top(self, _top: object) -> None:
        self.book_tops += 1
        self.last_book_top_at = self._clock()

    def on_opportunity(self, _opportunity: Opportunity) -> None:
        now = self._clock()
        times = self.opportunity_times
        times.append(now)
        while times[0] < now - RECENT_SECONDS:
            times.popleft()

    def on_order(self, _update: OrderUpdate) -> None:
        self.order_times.append(self._clock())

    def on_restart_event(self, event: SupervisorEvent) -> None:
        self.restart_log.append(event)

    def on_audit(self, event: AuditEvent) -> None:
        self.audit_counts[event.kind] += 1
        if event.kind not in UNKEPT_AUDIT_KINDS:
            self.audit.append(event)

    # --- verdicts ------------------------------------------------------------------------------
    def health(self, registry: Registry) -> tuple[bool, tuple[str, ...]]:
        """Healthy: every node of the tree running, the venue connected (when it reports),
        every feed that ever reported live, every book that ever reported live."""
        reasons: list[str] = [
            f"{node.path} {node.status}" for node in registry.snapshot() if node.status != "running"
        ]
        if self.venue_connected is False:
            reasons.append("venue disconnected")
        reasons += [f"feed {c} {s}" for c, s in self.feeds.items() if s not in LIVE_FEED_STATES]
        not_live = [s for s, h in self.books.items() if h is not BookHealth.LIVE]
        if not_live:
            reasons.append(f"{len(not_live)} books not live (e.g. {not_live[0]})")
        return not reasons, tuple(reasons)

    @property
    def has_market(self) -> bool:
        """True once feeds or books have reported (the market part is wired)."""
        return bool(self.feeds or self.books or self.book_tops)
