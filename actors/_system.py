"""The entry points: a system owns the bus, the registry and the restart log, and runs
supervision trees inside a Trio nursery."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from ._bus import Bus
from ._cell import ActorCell
from ._events import RESTART_LOG_TOPIC, RestartLog, SupervisorEvent
from ._ref import Ref
from ._registry import Registry
from ._specs import ChildSpec, Mailbox, SupervisorSpec
from ._supervisor import Supervisor
from ._timer import AskTimer

DEBUG_ENV = "ACTORS_DEBUG"
"""Set to ``1`` to turn on debug checks (immutable messages) when ``debug`` is not given."""


class System:
    """The bus, registry and restart log shared by the trees it runs.

    Attributes:
        bus: Publish/subscribe; restart-log events go to ``RESTART_LOG_TOPIC``.
        registry: Refs by path, and a snapshot of the tree.
        restart_log: The newest restart-log events, in memory.
        debug: Whether sends check that messages are immutable.
    """

    def __init__(self, *, debug: bool | None = None, seed: int | None = None) -> None:
        self.debug = debug if debug is not None else os.environ.get(DEBUG_ENV, "") == "1"
        self.bus = Bus()
        self.registry = Registry()
        self.restart_log = RestartLog()
        self._rng = random.Random(seed)  # noqa: S311 - jitter, not security
        self._roots: list[Supervisor] = []
        self._timer = AskTimer()

    async def run(
        self, tree: SupervisorSpec, *, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run ``tree`` until ``stop()`` or cancellation; report ``started(self)`` once every
        child has started.

        Raises:
            ChildStartFailed: a child failed to start (started ones were stopped in reverse).
            SupervisorGaveUp: the root exceeded its restart intensity.
        """
        root = Supervisor(tree, tree.name, self)
        self._roots.append(root)
        failure: BaseException | None = None
        try:
            async with trio.open_nursery() as nursery:
                if not self._timer.running:
                    await nursery.start(self._timer.run)
                try:
                    await root.run(_StartedWith(task_status, self))
                except BaseException as error:  # re-raised below, outside the nursery
                    failure = error
                finally:
                    nursery.cancel_scope.cancel()
        finally:
            self._roots.remove(root)
        if failure is not None:
            raise failure

    def stop(self) -> None:
        """Ask every running tree to stop in reverse start order (returns at once)."""
        for root in self._roots:
            root.request_stop()

    def _build(self, spec: ChildSpec | SupervisorSpec, path: str) -> Any:
        if isinstance(spec, SupervisorSpec):
            return Supervisor(spec, path, self)
        ref = self._new_ref(path, spec.mailbox)
        kind = getattr(spec.factory, "kind", "actor")
        cell = ActorCell(spec, ref, self, kind if isinstance(kind, str) else "actor")
        self.registry._describe(path, cell.describe)
        return cell

    def _new_ref(self, path: str, mailbox: Mailbox) -> Ref[Any]:
        ref: Ref[Any] = Ref(path, mailbox, debug=self.debug)
        ref._timer = self._timer
        self.registry.register(ref)
        return ref

    def _record(self, event: SupervisorEvent) -> None:
        self.restart_log.record(event)
        self.bus._publish_urgent(RESTART_LOG_TOPIC, event)


class _StartedWith:
    def __init__(self, task_status: Any, value: object) -> None:
        self._task_status = task_status
        self._value = value

    def started(self, value: None = None) -> None:
        self._task_status.started(self._value)


async def run_system(
    tree: SupervisorSpec,
    *,
    debug: bool | None = None,
    seed: int | None = None,
    task_status: Any = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``tree`` in a new ``System``: ``system = await nursery.start(run_system, tree)``.

    Runs until ``system.stop()`` or cancellation (which stops the tree in reverse order).

    Raises:
        ChildStartFailed: from ``nursery.start`` when a child fails to start.
        SupervisorGaveUp: the root supervisor exceeded its restart intensity.
    """
    await System(debug=debug, seed=seed).run(tree, task_status=task_status)


@asynccontextmanager
async def open_system(
    tree: SupervisorSpec, *, debug: bool | None = None, seed: int | None = None
) -> AsyncIterator[System]:
    """Start ``tree``; yield the system; on exit stop the tree in reverse start order.

    Raises (plain exceptions, not exception groups):
        ChildStartFailed: a child failed to start.
        SupervisorGaveUp: the root gave up (the block is cancelled first).
    """
    system = System(debug=debug, seed=seed)
    error: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(system.run, tree)
            try:
                yield system
            finally:
                system.stop()
    except BaseExceptionGroup as group:
        error = collapse(group)
    if error is not None:
        # Raised outside the handler so the traceback shows the error, not the group.
        raise error


def collapse(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception in ``group`` besides ``trio.Cancelled``, else the group itself."""
    leaves = list(_leaves(group))
    others = [leaf for leaf in leaves if not isinstance(leaf, trio.Cancelled)]
    if len(others) == 1:
        only: BaseException = others[0]
        return only
    return group


def _leaves(error: BaseException) -> Any:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error
