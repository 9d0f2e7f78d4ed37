"""The actor base class and the context the runtime gives each actor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog
import trio

from ._bus import Lossless
from ._errors import MailboxFull

if TYPE_CHECKING:
    from ._bus import Bus, Subscription
    from ._ref import Ref
    from ._registry import Registry


class Context:
    """What an actor knows about its place in the system.

    Attributes:
        name: The actor's name in its supervisor.
        path: Its path in the tree, e.g. ``root/feeds/book``.
        ref: A ref to itself (stable across restarts).
        bus: The system's bus.
        registry: The system's registry of refs.
        log: A structlog logger bound to ``actor=path``.
    """

    __slots__ = ("_spawn", "_stop", "bus", "log", "name", "path", "ref", "registry")

    def __init__(
        self,
        ref: Ref[Any],
        bus: Bus,
        registry: Registry,
        stop: Callable[[], None] | None = None,
        spawn: Callable[[Callable[..., Awaitable[object]], tuple[Any, ...]], None] | None = None,
    ) -> None:
        self._stop = stop
        self._spawn = spawn
        self.ref = ref
        self.name = ref.name
        self.path = ref.path
        self.bus = bus
        self.registry = registry
        self.log: structlog.stdlib.BoundLogger = structlog.get_logger("actors").bind(actor=ref.path)

    def lookup(self, name_or_path: str) -> Ref[Any]:
        """A sibling by name (``"executor"``) or any actor by path (``"root/executor"``).

        Raises:
            ActorNotFound: nothing is registered under either reading.
        """
        if "/" not in name_or_path:
            parent = self.path.rpartition("/")[0]
            sibling = f"{parent}/{name_or_path}" if parent else name_or_path
            found = self.registry.get(sibling)
            if found is not None:
                return found
        return self.registry.lookup(name_or_path)

    def start_soon(self, task: Callable[..., Awaitable[object]], *args: Any) -> None:
        """Run ``task(*args)`` beside the message loop, linked to this incarnation.

        The task is cancelled when the incarnation ends (stop, crash or restart), so it never
        outlives the state it works on. If it raises, the incarnation crashes with that
        exception (the supervisor restarts it as for any crash); a task that returns ends
        quietly. Use it for work that is not driven by messages: a network connection, a
        timer, a bus subscription (see :meth:`forward`). Callable from ``on_start`` on.

        Raises:
            RuntimeError: the actor is not run by a supervisor or harness.
        """
        if self._spawn is None:
            raise RuntimeError(f"{self.path} cannot start tasks outside a running system")
        self._spawn(task, args)

    def forward(self, topic: str, policy: Any) -> None:
        """Subscribe to a bus ``topic`` and deliver its events to this actor's mailbox.

        ``policy`` is :class:`~actors.Lossless` (events wait for room in the mailbox:
        backpressure reaches the publisher) or :class:`~actors.LossyLatest` (the newest events
        are kept when the actor falls behind). The subscription lives as long as this
        incarnation: events published while the actor restarts are not delivered.

        ``Lossless`` events go straight into the mailbox (:meth:`~actors.Bus.forward`: no
        task between, publish order kept across topics); the mailbox's capacity bounds them,
        not the policy's. ``LossyLatest`` events wait in their own subscription, and a
        linked task moves them to the mailbox as it takes them.
        """
        if isinstance(policy, Lossless):
            self.start_soon(_hold, self.bus.forward(topic, self.ref))
            return
        subscription = self.bus.subscribe(topic, policy)
        self.start_soon(_pump, subscription, self.ref)

    async def publish(self, topic: str, event: Any) -> None:
        """Publish ``event`` on the bus from a message handler, without a schedule point of
        its own when every subscriber has room at once.

        Same delivery as :meth:`~actors.Bus.publish`: when a lossless subscriber (or a
        forwarded mailbox) is full, it waits for room, and that wait is a schedule point
        (and may be cancelled: see ``Bus.publish``). When nobody is full it returns without
        yielding: the handler goes back to the message loop, whose next receive is the
        schedule point, so a handler that publishes a few events pays for one yield, not
        one per event. A linked task that publishes in a loop must checkpoint by itself.
        """
        try:
            self.bus.publish_nowait(topic, event)
        except trio.WouldBlock:
            await self.bus.publish(topic, event)

    async def tell(self, ref: Ref[Any], message: object) -> None:
        """Send ``message`` to ``ref`` from a message handler, yielding only to wait for room.

        As :meth:`~actors.Ref.send` (same errors), but without its schedule point when the
        mailbox has room at once; see :meth:`publish` for why a handler may skip it.
        """
        try:
            ref.send_nowait(message)
        except MailboxFull:
            await ref.send(message)

    def stop(self) -> None:
        """Stop this actor after the current message: a normal exit, so a transient or
        temporary child is not restarted (a permanent one is)."""
        if self._stop is not None:
            self._stop()


async def _hold(subscription: Subscription) -> None:
    """Keep a forwarding subscription for as long as the incarnation runs."""
    with subscription:
        await trio.sleep_forever()


async def _pump(subscription: Any, ref: Ref[Any]) -> None:
    with subscription:
        async for event in subscription:
            await ref.send(event)


class Actor[M]:
    """Owns its state and handles one message at a time from a bounded mailbox.

    Override ``receive`` (its return value is the reply to ``ask``), and optionally
    ``on_start`` / ``on_stop``. A fresh instance is built for every (re)start.

    An exception from ``receive`` crashes this incarnation: the pending ask (if any)
    fails with ``ActorCrashed`` and the supervisor decides whether to restart.
    """

    _context: Context | None = None
    abandoned_thread: bool = False
    """Set by thread actors that had to abandon a thread that would not stop."""

    @property
    def context(self) -> Context:
        """The actor's context; available from ``on_start`` on.

        Raises:
            RuntimeError: the actor is not (yet) run by a supervisor or harness.
        """
        if self._context is None:
            raise RuntimeError(
                f"{type(self).__name__} has no context yet: it is set before on_start()"
            )
        return self._context

    async def on_start(self) -> None:
        """Runs before the first message. Raising fails the start (``ChildStartFailed``
        on a first start; a crash counted toward intensity on a restart)."""

    async def receive(self, message: M) -> object:
        """Handle one message; the return value is the reply to an ``ask``."""
        raise NotImplementedError(f"{type(self).__name__}.receive is not implemented")

    async def on_stop(self) -> None:
        """Runs once after every incarnation whose ``on_start`` succeeded: after a graceful
        stop, a crash or a cancellation, within the child's shutdown timeout."""
