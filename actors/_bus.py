"""Publish/subscribe topics with a delivery policy chosen by each subscriber.

``Lossless`` subscriptions are bounded and make ``publish`` wait for room (backpressure:
the persistence sink). ``LossyLatest`` subscriptions are bounded and drop their oldest
event when full, counting drops (dashboards): a stalled lossy subscriber never slows a
publisher.

``Bus.forward`` delivers a topic straight into an actor's mailbox: no queue or task between
them, so an event costs one hop instead of two (what ``Context.forward`` uses).
"""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs
import trio

from ._errors import ActorStopped

if TYPE_CHECKING:
    from ._ref import Ref


@attrs.frozen
class Lossless:
    """Keep every event; a full subscription makes ``publish`` wait."""

    capacity: int = 1000


@attrs.frozen
class LossyLatest:
    """Keep the newest ``capacity`` events; when full, drop the oldest and count it."""

    capacity: int = 100


type Policy = Lossless | LossyLatest


@attrs.frozen
class SubscriptionStatistics:
    """A snapshot of one subscription."""

    topic: str
    """The topic subscribed to."""
    policy: str
    """``lossless`` or ``lossy_latest``."""
    capacity: int
    """Events held before the policy applies."""
    queued: int
    """Events waiting to be received."""
    delivered: int
    """Events put in this subscription since it was made."""
    dropped: int
    """Events dropped (lossy) since it was made."""
    closed: bool
    """True once unsubscribed."""


@attrs.frozen
class BusStatistics:
    """A snapshot of the bus."""

    topics: int
    """Topics with at least one subscriber."""
    subscriptions: int
    """Live subscriptions over all topics."""
    published: int
    """Events published since the bus was made."""
    dropped: int
    """Events dropped by lossy subscriptions since the bus was made (incl. closed ones)."""


class Subscription:
    """A subscriber's queue of events. Iterate it, or ``receive()`` one at a time.

    Subscribing takes effect at once (no event published after ``subscribe`` returns is
    missed); leaving the ``with``/``async with`` block or ``close()`` unsubscribes.
    """

    def __init__(self, bus: Bus, topic: str, policy: Policy, sink: Ref[Any] | None = None) -> None:
        self.topic = topic
        self.policy = policy
        self._bus = bus
        self._sink = sink
        self._lossless = isinstance(policy, Lossless)
        self._capacity = policy.capacity
        self._queue: collections.deque[Any] = collections.deque()
        self._not_empty = trio.lowlevel.ParkingLot()
        self._not_full = trio.lowlevel.ParkingLot()
        self._delivered = 0
        self._dropped = 0
        self._closed = False

    def _put(self, event: Any) -> None:
        queue = self._queue
        if len(queue) >= self._capacity and not self._lossless:
            queue.popleft()
            self._dropped += 1
            self._bus._dropped += 1
        queue.append(event)
        self._delivered += 1
        if self._not_empty:
            self._not_empty.unpark()

    def _full(self) -> bool:
        if self._sink is not None:
            return not self._closed and self._sink._full()
        return self._lossless and len(self._queue) >= self._capacity and not self._closed

    async def _forward(self, event: Any) -> None:
        """Put ``event`` in the sink's mailbox, waiting for room (a stopped actor drops it)."""
        sink = self._sink
        assert sink is not None
        try:
            if not sink._put_nowait(event):
                await sink.send(event)
        except ActorStopped:
            return
        self._delivered += 1

    async def receive(self) -> Any:
        """The next event, waiting for one.

        Raises:
            trio.EndOfChannel: the subscription was closed and is drained.

        Cancellation never loses an event: a receive is cancelled only before it takes one
        (the schedule point after taking it is shielded, as in Trio's own channels).
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        queue = self._queue
        if queue:
            event = queue.popleft()
            if self._not_full:
                self._not_full.unpark()
            await trio.lowlevel.cancel_shielded_checkpoint()
            return event
        # Parking is the schedule point: once woken with an event queued, take it without
        # yielding again (as Trio's memory channels do), which saves a task step per event.
        while not queue:
            if self._closed:
                raise trio.EndOfChannel
            await self._not_empty.park()
        event = queue.popleft()
        if self._not_full:
            self._not_full.unpark()
        return event

    def receive_nowait(self) -> Any:
        """The next event if one is queued.

        Raises:
            trio.WouldBlock: nothing is queued.
            trio.EndOfChannel: the subscription was closed and is drained.
        """
        if not self._queue:
            raise trio.EndOfChannel if self._closed else trio.WouldBlock
        event = self._queue.popleft()
        if self._not_full:
            self._not_full.unpark()
        return event

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        while True:
            try:
                yield await self.receive()
            except trio.EndOfChannel:
                return

    def close(self) -> None:
        """Unsubscribe; queued events can still be received, then ``EndOfChannel``."""
        if not self._closed:
            self._closed = True
            self._bus._remove(self)
            self._not_empty.unpark_all()
            self._not_full.unpark_all()

    def statistics(self) -> SubscriptionStatistics:
        """A frozen snapshot of this subscription."""
        return SubscriptionStatistics(
            topic=self.topic,
            policy="lossless" if self._lossless else "lossy_latest",
            capacity=self._capacity,
            queued=len(self._queue),
            delivered=self._delivered,
            dropped=self._dropped,
            closed=self._closed,
        )

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Bus:
    """Topics to subscriptions. Safe to subscribe and unsubscribe at any time."""

    def __init__(self) -> None:
        self._topics: dict[str, list[Subscription]] = {}
        self._published = 0
        self._dropped = 0

    def subscribe(self, topic: str, policy: Policy | None = None) -> Subscription:
        """Subscribe to ``topic`` now (default policy: ``Lossless()``)."""
        subscription = Subscription(self, topic, policy if policy is not None else Lossless())
        self._add(subscription)
        return subscription

    def forward(self, topic: str, ref: Ref[Any]) -> Subscription:
        """Deliver every event of ``topic`` straight into ``ref``'s mailbox, from now on.

        No queue and no task sit between the bus and the mailbox: ``publish`` puts the event
        in the mailbox itself, so the mailbox's capacity and overflow policy apply (with the
        backpressure policy, ``publish`` waits while the mailbox is full; ``publish_nowait``
        raises ``trio.WouldBlock``). Events keep their publish order, across topics too.
        Events for an actor that stopped for good are dropped. The returned subscription
        only counts (``delivered``; ``queued`` stays 0) and ends it: ``close()`` it (or leave
        its ``with`` block) to stop forwarding; it cannot be received from.
        """
        subscription = Subscription(self, topic, Lossless(ref._mailbox.capacity), sink=ref)
        self._add(subscription)
        return subscription

    def _add(self, subscription: Subscription) -> None:
        # Copy on write: publishers iterate the old list safely while we change it.
        topic = subscription.topic
        self._topics[topic] = [*self._topics.get(topic, ()), subscription]

    def _remove(self, subscription: Subscription) -> None:
        remaining = [s for s in self._topics.get(subscription.topic, ()) if s is not subscription]
        if remaining:
            self._topics[subscription.topic] = remaining
        else:
            self._topics.pop(subscription.topic, None)

    async def publish(self, topic: str, event: Any) -> None:
        """Deliver ``event`` to every subscriber of ``topic``.

        Waits while a lossless subscriber is full (backpressure); lossy subscribers never
        make it wait. If cancelled while waiting, subscribers already served keep the
        event and the rest do not get it.
        """
        self._published += 1
        for subscription in self._topics.get(topic, ()):
            if subscription._sink is not None:
                if not subscription._closed:
                    await subscription._forward(event)
                continue
            while subscription._full():
                await subscription._not_full.park()
            if not subscription._closed:
                subscription._put(event)
        await trio.lowlevel.checkpoint()

    def publish_nowait(self, topic: str, event: Any) -> None:
        """Deliver ``event`` without waiting.

        Raises:
            trio.WouldBlock: a lossless subscriber is full; nobody got the event.
        """
        subscriptions = self._topics.get(topic, ())
        for subscription in subscriptions:
            if subscription._full():
                raise trio.WouldBlock
        self._deliver(subscriptions, event)

    def _publish_urgent(self, topic: str, event: Any) -> None:
        """Deliver without waiting, past lossless capacity if need be (the restart log:
        rare, and a supervisor must never block on a stalled subscriber). A full mailbox
        fed by ``forward`` cannot grow: it drops the event and counts it."""
        self._deliver(self._topics.get(topic, ()), event)

    def _deliver(self, subscriptions: list[Subscription] | tuple[()], event: Any) -> None:
        self._published += 1
        for subscription in subscriptions:
            sink = subscription._sink
            if sink is None:
                subscription._put(event)
            elif not subscription._closed:
                try:
                    put = sink._put_nowait(event)
                except ActorStopped:
                    continue
                if put:
                    subscription._delivered += 1
                else:  # only an urgent event finds a full mailbox: it cannot go past capacity
                    subscription._dropped += 1
                    self._dropped += 1

    def statistics(self) -> BusStatistics:
        """A frozen snapshot of the bus."""
        return BusStatistics(
            topics=len(self._topics),
            subscriptions=sum(len(subs) for subs in self._topics.values()),
            published=self._published,
            dropped=self._dropped,
        )

    def subscriptions(self, topic: str) -> tuple[SubscriptionStatistics, ...]:
        """Statistics of every live subscription of ``topic``."""
        return tuple(s.statistics() for s in self._topics.get(topic, ()))
