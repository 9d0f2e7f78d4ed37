"""The loop that runs one actor incarnation after another for its supervisor.

Hot path: one mailbox receive, two identity checks and the handler call per message.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog
import trio

from ._actor import Actor, Context
from ._errors import ActorStopped
from ._ref import Ref, _Ask, _Crash, crashed
from ._registry import NodeInfo

if TYPE_CHECKING:
    from ._specs import ChildSpec
    from ._system import System

_log = structlog.get_logger("actors")


class ActorCell:
    """Owns a child's ref across incarnations and runs each incarnation's message loop."""

    def __init__(self, spec: ChildSpec, ref: Ref[Any], system: System, kind: str) -> None:
        self.spec = spec
        self.ref = ref
        self.path = ref.path
        self.kind = kind
        self.system = system
        self.status = "idle"
        self.restarts = 0
        self.abandoned = False
        self.forced = False
        self._stop_requested = False
        self._stop_deadline = math.inf
        self._loop_scope: trio.CancelScope | None = None
        self._tasks: trio.Nursery | None = None
        self._task_error: BaseException | None = None

    def describe(self) -> NodeInfo:
        return NodeInfo(self.path, self.kind, self.status, self.restarts, self.ref.statistics())

    def request_stop(self) -> None:
        """Finish the current message (if any), run ``on_stop``, return: within the
        shutdown timeout counted from now (the supervisor cancels after it)."""
        self._stop_requested = True
        if self._stop_deadline == math.inf and self.spec.shutdown_timeout is not None:
            self._stop_deadline = trio.current_time() + self.spec.shutdown_timeout
        scope = self._loop_scope
        if scope is not None and self.ref._idle():
            scope.cancel()

    def finalize(self) -> int:
        """The child stopped for good: close its mailbox, failing queued asks."""
        return self.ref._close()

    async def run(self, task_status: trio.TaskStatus[None]) -> None:
        """Start one incarnation, report started, handle messages until stopped.

        Raises whatever ``on_start`` raises (before started), ``receive`` raises, or a task
        started with ``Context.start_soon`` raises (the incarnation's linked tasks).
        """
        self.ref._reopen()
        self._stop_requested = False
        self._stop_deadline = math.inf
        self.abandoned = False
        self.forced = False
        self._task_error = None
        failure: Exception | None = None
        # Linked tasks live in this nursery; nothing raises out of its body or its tasks (a
        # task's error is recorded and re-raised below), so a crash leaves as one plain
        # exception rather than an exception group.
        async with trio.open_nursery() as tasks:
            self._tasks = tasks
            try:
                await self._run_incarnation(task_status)
            except Exception as error:
                failure = error
            finally:
                self._tasks = None
                tasks.cancel_scope.cancel()
        if failure is None:
            failure = self._task_error
        if failure is not None:
            raise failure

    async def _run_incarnation(self, task_status: trio.TaskStatus[None]) -> None:
        actor = self.spec.build()
        actor._context = Context(
            self.ref, self.system.bus, self.system.registry, self.request_stop, self._spawn
        )
        await actor.on_start()
        task_status.started()
        try:
            with trio.CancelScope() as self._loop_scope:
                if self._task_error is not None:  # a linked task failed during on_start
                    self._loop_scope.cancel()
                await self._loop(actor)
        finally:
            self._loop_scope = None
            await self._stop_actor(actor)

    def _spawn(self, task: Callable[..., Awaitable[object]], args: tuple[Any, ...]) -> None:
        tasks = self._tasks
        if tasks is None:
            raise RuntimeError(f"{self.path} is not running: it cannot start tasks")
        tasks.start_soon(self._linked, task, args)

    async def _linked(self, task: Callable[..., Awaitable[object]], args: tuple[Any, ...]) -> None:
        try:
            await task(*args)
        except Exception as raised:
            error: Exception = raised
            # A task that ran its own nursery reports one failure as a group of one: the
            # restart log should name the failure itself.
            while isinstance(error, ExceptionGroup) and len(error.exceptions) == 1:
                error = error.exceptions[0]
            if self._task_error is None:
                self._task_error = error
            scope = self._loop_scope
            if scope is not None:
                scope.cancel()

    async def _stop_actor(self, actor: Actor[Any]) -> None:
        deadline = self._stop_deadline
        if deadline == math.inf and self.spec.shutdown_timeout is not None:
            deadline = trio.current_time() + self.spec.shutdown_timeout
        with trio.CancelScope(shield=True, deadline=deadline) as scope:
            try:
                await actor.on_stop()
            except Exception as error:
                _log.warning(
                    "actor.on_stop_failed",
                    path=self.path,
                    error_type=type(error).__name__,
                    error_message=str(error),
                )
        self.abandoned = actor.abandoned_thread
        self.forced = scope.cancelled_caught

    async def _loop(self, actor: Actor[Any]) -> None:
        receive = self.ref._receive.receive
        handle = actor.receive
        path = self.path
        while not self._stop_requested:
            item: Any = await receive()
            kind = type(item)
            if kind is _Ask:
                try:
                    result = await handle(item.message)
                except BaseException as error:
                    if isinstance(error, Exception):
                        item.fail(crashed(path, error))
                    else:
                        item.fail(ActorStopped(path, "stopped before replying"))
                    raise
                item.reply(result)
            elif kind is _Crash:
                raise item.error
            else:
                await handle(item)
