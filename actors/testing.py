"""Test harness: run one actor (or a small tree) with probe refs standing in for its peers.

Use it under a virtual clock (pytest-trio's ``autojump_clock`` fixture, a
``trio.testing.MockClock(autojump_threshold=0)``) so that ``within=`` and ``for_=`` cost no
real time::

    async def test_strategy_when_tick_arrives_sends_intent(autojump_clock):
        async with actors.testing.open_harness() as harness:
            executor = harness.probe("root/executor")
            ref = await harness.start(actors.ChildSpec("strategy", factory=Strategy))
            await ref.send(Tick(...))
            await executor.expect(OrderIntent, predicate=lambda m: m.qty == 1, within=1.0)

Failed expectations raise ``ExpectationFailed`` (an ``AssertionError``) saying what was
expected, where, and what arrived instead.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio

from ._actor import Actor
from ._errors import ActorError, SupervisorGaveUp
from ._events import RESTART_LOG_TOPIC, ChildCrashed, SupervisorEvent
from ._ref import Ref, _Ask, _Crash
from ._specs import (
    DEFAULT_INTENSITY,
    DEFAULT_MAILBOX,
    ChildSpec,
    Intensity,
    Mailbox,
    Strategy,
    SupervisorSpec,
)
from ._system import System, collapse

__all__ = [
    "ExpectationFailed",
    "Harness",
    "InjectedCrash",
    "Probe",
    "open_harness",
]


class ExpectationFailed(AssertionError):
    """An ``expect...`` of the harness was not met; the message says what arrived instead."""


class InjectedCrash(ActorError):
    """The default error ``Harness.crash`` makes an actor raise."""


def _describe(predicate: Callable[[Any], bool] | None) -> str:
    if predicate is None:
        return ""
    code = getattr(predicate, "__code__", None)
    where = f" at {code.co_filename.rsplit('/', 1)[-1]}:{code.co_firstlineno}" if code else ""
    return f" matching {getattr(predicate, '__name__', repr(predicate))}{where}"


def _summary(items: list[Any], limit: int = 5) -> str:
    if not items:
        return "nothing arrived"
    shown = ", ".join(repr(item) for item in items[:limit])
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return f"got {len(items)} other: {shown}{more}"


class _Inbox:
    """Items in arrival order, consumed by expectations."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.queue: collections.deque[Any] = collections.deque()
        self.history: list[Any] = []
        self.lot = trio.lowlevel.ParkingLot()

    def put(self, item: Any) -> None:
        self.queue.append(item)
        self.history.append(item)
        self.lot.unpark_all()

    async def expect[T](
        self, kind: type[T], predicate: Callable[[T], bool] | None, within: float, what: str
    ) -> T:
        skipped: list[Any] = []
        with trio.move_on_after(within):
            while True:
                while not self.queue:
                    await self.lot.park()
                item = self.queue.popleft()
                if isinstance(item, kind) and (predicate is None or predicate(item)):
                    return item
                skipped.append(item)
        raise ExpectationFailed(
            f"{self.where} expected {what} {kind.__name__}{_describe(predicate)} "
            f"within {within:g}s; {_summary(skipped)}"
        )

    async def expect_none(self, for_: float, what: str) -> None:
        with trio.move_on_after(for_):
            while not self.queue:
                await self.lot.park()
            raise ExpectationFailed(
                f"{self.where} expected no {what} for {for_:g}s; got {self.queue[0]!r}"
            )


class Probe:
    """A stand-in peer: a registered ref whose messages the test inspects.

    Asks to the probe are answered with ``reply(message)`` (default: ``None``).
    """

    def __init__(self, ref: Ref[Any], reply: Callable[[Any], object] | None) -> None:
        self.ref = ref
        self.path = ref.path
        self._reply = reply
        self._inbox = _Inbox(f"probe {ref.path!r}")

    @property
    def received(self) -> tuple[Any, ...]:
        """Every message that reached the probe, in order (consumed or not)."""
        return tuple(self._inbox.history)

    async def expect[T](
        self,
        message_type: type[T],
        predicate: Callable[[T], bool] | None = None,
        *,
        within: float = 1.0,
    ) -> T:
        """The next message of ``message_type`` (matching ``predicate``) within ``within``
        seconds of trio time; messages before it that do not match are consumed.

        Raises:
            ExpectationFailed: none arrived in time (lists what arrived instead).
        """
        return await self._inbox.expect(message_type, predicate, within, "a message")

    async def expect_no_message(self, *, for_: float) -> None:
        """Pass if no (unconsumed) message arrives for ``for_`` seconds.

        Raises:
            ExpectationFailed: a message arrived (it is named in the error).
        """
        await self._inbox.expect_none(for_, "message")

    async def _run(self) -> None:
        receive = self.ref._receive
        async for item in receive:
            if type(item) is _Ask:
                reply = self._reply(item.message) if self._reply is not None else None
                item.reply(reply)
                self._inbox.put(item.message)
            else:
                self._inbox.put(item)


class Harness:
    """A system with probes, started children, crash injection and the restart log."""

    def __init__(self, system: System, nursery: trio.Nursery) -> None:
        self.system = system
        self.bus = system.bus
        self.registry = system.registry
        self._nursery = nursery
        self._probes: list[Probe] = []
        self._events = _Inbox("restart log")
        self._subscription = system.bus.subscribe(RESTART_LOG_TOPIC)
        nursery.start_soon(self._collect_events)

    async def _collect_events(self) -> None:
        async for event in self._subscription:
            self._events.put(event)

    def probe(
        self,
        path: str,
        *,
        reply: Callable[[Any], object] | None = None,
        mailbox: Mailbox = DEFAULT_MAILBOX,
    ) -> Probe:
        """Register a probe at ``path`` (e.g. ``"root/executor"``) and return it."""
        ref = self.system._new_ref(path, mailbox)
        probe = Probe(ref, reply)
        self._probes.append(probe)
        self._nursery.start_soon(probe._run)
        return probe

    async def start(
        self,
        child: ChildSpec | Callable[[], Actor[Any]],
        *,
        name: str | None = None,
        supervisor: str = "root",
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        intensity: Intensity = DEFAULT_INTENSITY,
    ) -> Ref[Any]:
        """Start one actor under a supervisor named ``supervisor``; return its ref.

        ``child`` is a ``ChildSpec`` or a factory (then ``name`` is required).

        Raises:
            ChildStartFailed: its ``on_start`` raised.
        """
        if not isinstance(child, ChildSpec):
            if name is None:
                raise TypeError("start(factory) needs name=...")
            child = ChildSpec(name, factory=child)
        tree = SupervisorSpec(supervisor, [child], strategy=strategy, intensity=intensity)
        await self.start_tree(tree)
        return self.registry.lookup(f"{supervisor}/{child.name}")

    async def start_tree(self, tree: SupervisorSpec) -> None:
        """Start a small tree; it runs until the harness closes.

        Raises:
            ChildStartFailed: a child's start raised.
        """
        await self._nursery.start(self._run_tree, tree)

    async def _run_tree(self, tree: SupervisorSpec, *, task_status: Any) -> None:
        # A give-up is recorded in the restart log; tests read it there.
        with contextlib.suppress(SupervisorGaveUp):
            await self.system.run(tree, task_status=task_status)

    async def crash(
        self,
        target: str | Ref[Any],
        error: BaseException | None = None,
        *,
        within: float = 5.0,
    ) -> None:
        """Make the actor raise ``error`` (default ``InjectedCrash``) when it reaches this
        point in its mailbox, and wait until its supervisor has logged the crash.

        Raises:
            ExpectationFailed: the crash was not logged within ``within`` seconds (the actor
                is stuck on an earlier message, or is not supervised).
            MailboxFull: the mailbox is full.
        """
        ref = target if isinstance(target, Ref) else self.registry.lookup(target)
        error = error if error is not None else InjectedCrash(f"crash injected into {ref.path}")
        log = self.system.restart_log
        start = seen = log.total
        ref._inject(_Crash(error))
        with trio.move_on_after(within):
            while True:
                await log.wait_for_more(seen)
                seen = log.total
                fresh = log.events()[-(seen - start) :]
                if any(
                    isinstance(e, ChildCrashed)
                    and e.path == ref.path
                    and e.error_message == str(error)
                    for e in fresh
                ):
                    return
        raise ExpectationFailed(
            f"crash injected into {ref.path!r} was not logged within {within:g}s"
        )

    @property
    def restart_log(self) -> tuple[SupervisorEvent, ...]:
        """Every restart-log event so far, oldest first."""
        return self.system.restart_log.events()

    async def expect_event[E: SupervisorEvent](
        self,
        event_type: type[E],
        predicate: Callable[[E], bool] | None = None,
        *,
        within: float = 1.0,
    ) -> E:
        """The next restart-log event of ``event_type`` (matching ``predicate``) within
        ``within`` seconds; earlier non-matching events are consumed.

        Raises:
            ExpectationFailed: none arrived in time (lists what did).
        """
        return await self._events.expect(event_type, predicate, within, "an event")

    async def stop(self) -> None:
        """Stop every started tree in reverse order."""
        self.system.stop()


@asynccontextmanager
async def open_harness(*, debug: bool = True, seed: int = 0) -> AsyncIterator[Harness]:
    """A harness over a fresh system (debug checks on by default); closed on exit, which
    stops every started tree in reverse order."""
    system = System(debug=debug, seed=seed)
    error: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            harness = Harness(system, nursery)
            try:
                yield harness
            finally:
                system.stop()
                harness._subscription.close()
                for probe in harness._probes:
                    probe.ref._send.close()
    except BaseExceptionGroup as group:
        error = collapse(group)
    if error is not None:
        raise error
