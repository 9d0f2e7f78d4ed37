"""An OTP-style supervisor: starts children in order, restarts them per strategy within an
intensity limit, stops them in reverse order, and escalates by raising ``SupervisorGaveUp``.

Children run in the supervisor's nursery, each in its own cancel scope that is shielded once
the child has started: outer cancellation (Ctrl-C) reaches the supervisor only, which then
stops its children in reverse order, each within its shutdown timeout.
"""

from __future__ import annotations

import collections
import math
from typing import TYPE_CHECKING, Protocol

import attrs
import trio

from ._errors import ChildStartFailed, SupervisorGaveUp
from ._events import (
    ChildCrashed,
    ChildRestarted,
    ChildStarted,
    ChildStopped,
    SupervisorEscalated,
    error_location,
)
from ._registry import NodeInfo
from ._specs import ChildSpec, Restart, Strategy, SupervisorSpec

if TYPE_CHECKING:
    from ._system import System


class _Process(Protocol):
    path: str
    kind: str
    status: str
    restarts: int
    abandoned: bool
    forced: bool

    async def run(self, task_status: trio.TaskStatus[None]) -> None: ...
    def request_stop(self) -> None: ...
    def finalize(self) -> int: ...


class _ShieldOnStarted:
    """Task status that shields the child's scope once it has started."""

    def __init__(self, task_status: trio.TaskStatus[None], scope: trio.CancelScope) -> None:
        self._task_status = task_status
        self._scope = scope
        self.started_ok = False

    def started(self, value: None = None) -> None:
        self._scope.shield = True
        self.started_ok = True
        self._task_status.started()


@attrs.frozen
class _Exited:
    slot: _Slot
    generation: int
    error: Exception | None


@attrs.frozen
class _RestartDue:
    token: int


_STOP = object()


class _Slot:
    def __init__(self, index: int, spec: ChildSpec | SupervisorSpec, process: _Process) -> None:
        self.index = index
        self.spec = spec
        self.process = process
        self.state = "idle"  # idle | running | waiting | stopped
        self.generation = 0
        self.scope: trio.CancelScope | None = None
        self.done: trio.Event | None = None
        self.attempt = 0
        self.started_at = -math.inf
        self.pending = 0
        self.backoff_used = 0.0
        self.started_once = False


class _GiveUp(Exception):
    def __init__(self, error: Exception | None) -> None:
        super().__init__()
        self.error = error


class Supervisor:
    """Runs the children of one ``SupervisorSpec`` (see the module docstring)."""

    kind = "supervisor"

    def __init__(self, spec: SupervisorSpec, path: str, system: System) -> None:
        self.spec = spec
        self.path = path
        self.system = system
        self.status = "idle"
        self.restarts = 0
        self.abandoned = False
        self.forced = False
        self._slots = [
            _Slot(index, child, system._build(child, f"{path}/{child.name}"))
            for index, child in enumerate(spec.children)
        ]
        self._events: trio.MemorySendChannel[object] | None = None
        self._stop_requested = False
        self._restart_times: collections.deque[float] = collections.deque()
        self._token = 0
        self._nursery: trio.Nursery | None = None
        system.registry._describe(path, self.describe)

    def describe(self) -> NodeInfo:
        return NodeInfo(self.path, self.kind, self.status, self.restarts, None)

    def request_stop(self) -> None:
        """Stop all children in reverse start order, then return from ``run``."""
        self._stop_requested = True
        if self._events is not None:
            self._events.send_nowait(_STOP)

    def finalize(self) -> int:
        return 0

    async def run(self, task_status: trio.TaskStatus[None]) -> None:
        """Start the children in order, report started, supervise until stopped.

        Raises:
            ChildStartFailed: a child failed to start (started ones were stopped).
            SupervisorGaveUp: restart intensity exceeded (all children were stopped).
        """
        send, receive = trio.open_memory_channel[object](math.inf)
        self._events = send
        self._stop_requested = False
        self._restart_times.clear()
        for slot in self._slots:
            slot.state, slot.started_once, slot.attempt = "idle", False, 0
        failure: Exception | None = None
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            try:
                await self._start_initial()
                task_status.started()
                self.status = "running" if self.status in ("idle", "starting") else self.status
                await self._supervise(receive)
            except ChildStartFailed as error:
                failure = error
            except _GiveUp as give_up:
                failure = self._escalate(give_up.error)
            finally:
                # Also on cancellation (even mid-start): started children are shielded, so
                # they stop only through here, in reverse order.
                with trio.CancelScope(shield=True):
                    await self._stop_all()
                nursery.cancel_scope.cancel()
        self._events = None
        if failure is not None:
            raise failure

    def _escalate(self, error: Exception | None) -> SupervisorGaveUp:
        intensity = self.spec.intensity
        self.system._record(
            SupervisorEscalated(
                path=self.path,
                name=self.spec.name,
                at=trio.current_time(),
                max_restarts=intensity.max_restarts,
                within=intensity.within,
                error_type=type(error).__name__ if error else "",
                error_message=str(error) if error else "",
            )
        )
        gave_up = SupervisorGaveUp(self.path, intensity.max_restarts, intensity.within, error)
        gave_up.__cause__ = error
        return gave_up

    # -- starting ------------------------------------------------------------------------

    async def _start_initial(self) -> None:
        for slot in self._slots:
            try:
                await self._start_slot(slot)
            except Exception as error:
                self._record_crash(slot, error, "start")
                with trio.CancelScope(shield=True):
                    await self._stop_all()
                if isinstance(error, ChildStartFailed):
                    raise
                raise ChildStartFailed(slot.process.path, error) from error

    async def _start_slot(self, slot: _Slot) -> None:
        assert self._nursery is not None
        slot.generation += 1
        slot.process.status = "starting"
        try:
            await self._nursery.start(self._child_task, slot, slot.generation)
        except BaseException:
            slot.process.status = "stopped"
            raise
        slot.state = "running"
        slot.process.status = "running"
        slot.started_at = trio.current_time()
        if slot.started_once:
            self.system._record(
                ChildRestarted(
                    path=slot.process.path,
                    name=slot.spec.name,
                    at=slot.started_at,
                    restart_count=slot.process.restarts,
                    backoff=slot.backoff_used,
                )
            )
        else:
            slot.started_once = True
            self.system._record(
                ChildStarted(
                    path=slot.process.path,
                    name=slot.spec.name,
                    at=slot.started_at,
                    kind=slot.process.kind,
                )
            )

    async def _child_task(
        self, slot: _Slot, generation: int, task_status: trio.TaskStatus[None]
    ) -> None:
        done = trio.Event()
        slot.done = done
        error: Exception | None = None
        scope = trio.CancelScope()
        slot.scope = scope
        status = _ShieldOnStarted(task_status, scope)
        try:
            with scope:
                try:
                    await slot.process.run(status)
                except Exception as exc:
                    if not status.started_ok:
                        raise
                    error = exc
        finally:
            done.set()
        if status.started_ok and self._events is not None:
            self._events.send_nowait(_Exited(slot, generation, error))

    # -- supervising ---------------------------------------------------------------------

    async def _supervise(self, events: trio.MemoryReceiveChannel[object]) -> None:
        async for event in events:
            if event is _STOP or self._stopping():
                return
            if isinstance(event, _Exited):
                slot = event.slot
                if event.generation == slot.generation and slot.state == "running":
                    await self._handle_exit(slot, event.error, "run")
            elif isinstance(event, _RestartDue):
                await self._restart_group(event.token)
            if self._stopping():
                return

    def _stopping(self) -> bool:
        return self._stop_requested

    async def _handle_exit(self, slot: _Slot, error: Exception | None, phase: str) -> None:
        worklist: list[tuple[_Slot, Exception | None, str]] = [(slot, error, phase)]
        while worklist:
            slot, error, phase = worklist.pop()
            slot.state = "stopped"
            slot.process.status = "stopped"
            if error is not None:
                self._record_crash(slot, error, phase)
            if not _should_restart(slot.spec.restart, error):
                self._finalize(slot, "exited")
                continue
            now = trio.current_time()
            intensity = self.spec.intensity
            while self._restart_times and self._restart_times[0] <= now - intensity.within:
                self._restart_times.popleft()
            if len(self._restart_times) >= intensity.max_restarts:
                raise _GiveUp(error)
            self._restart_times.append(now)
            group = self._group(slot)
            for other in reversed(group):
                if other is not slot and other.state == "running":
                    final = other.spec.restart is Restart.TEMPORARY
                    await self._stop_slot(other, "restart", final=final)
            delay = self._backoff(slot, now)
            self._token += 1
            token = self._token
            for member in group:
                if member is slot or member.spec.restart is not Restart.TEMPORARY:
                    member.state, member.pending, member.backoff_used = "waiting", token, delay
                    member.process.status = "restarting"
            if delay > 0:
                assert self._nursery is not None
                self._nursery.start_soon(self._post_restart, delay, token)
            else:
                failed = await self._restart_group(token, handle_failure=False)
                if failed is not None:
                    worklist.append(failed)

    async def _post_restart(self, delay: float, token: int) -> None:
        await trio.sleep(delay)
        if self._events is not None:
            self._events.send_nowait(_RestartDue(token))

    async def _restart_group(
        self, token: int, *, handle_failure: bool = True
    ) -> tuple[_Slot, Exception, str] | None:
        for slot in self._slots:
            if slot.state != "waiting" or slot.pending != token:
                continue
            slot.process.restarts += 1
            try:
                await self._start_slot(slot)
            except Exception as error:
                if handle_failure:
                    await self._handle_exit(slot, error, "start")
                    return None
                return (slot, error, "start")
        return None

    def _group(self, slot: _Slot) -> list[_Slot]:
        strategy = self.spec.strategy
        if strategy is Strategy.ONE_FOR_ONE:
            return [slot]
        candidates = self._slots if strategy is Strategy.ONE_FOR_ALL else self._slots[slot.index :]
        return [s for s in candidates if s is slot or s.state in ("running", "waiting")]

    def _backoff(self, slot: _Slot, now: float) -> float:
        backoff = slot.spec.backoff
        if backoff is None:
            return 0.0
        if now - slot.started_at >= backoff.reset_after:
            slot.attempt = 0
        delay = backoff.delay(slot.attempt, self.system._rng)
        slot.attempt += 1
        return delay

    # -- stopping ------------------------------------------------------------------------

    async def _stop_all(self) -> None:
        for slot in reversed(self._slots):
            if slot.state == "running":
                await self._stop_slot(slot, "shutdown", final=True)
            elif slot.state == "waiting":
                slot.state = "stopped"
                self._finalize(slot, "shutdown")
            else:
                slot.process.finalize()
                slot.process.status = "stopped"

    async def _stop_slot(self, slot: _Slot, reason: str, *, final: bool) -> None:
        """Ask the child to stop, wait its shutdown timeout, then cancel it."""
        assert slot.done is not None
        assert slot.scope is not None
        slot.generation += 1  # its exit report is now stale
        slot.process.status = "stopping"
        slot.process.request_stop()
        timeout = slot.spec.shutdown_timeout
        with trio.move_on_after(math.inf if timeout is None else timeout):
            await slot.done.wait()
        forced = not slot.done.is_set()
        if forced:
            slot.scope.cancel()
            await slot.done.wait()
        forced = forced or slot.process.forced
        slot.state = "stopped"
        slot.process.status = "stopped"
        if final:
            slot.process.finalize()
        self.system._record(
            ChildStopped(
                path=slot.process.path,
                name=slot.spec.name,
                at=trio.current_time(),
                reason=reason,
                forced=forced,
                abandoned_thread=slot.process.abandoned,
            )
        )

    def _finalize(self, slot: _Slot, reason: str) -> None:
        slot.process.finalize()
        slot.process.status = "stopped"
        self.system._record(
            ChildStopped(
                path=slot.process.path,
                name=slot.spec.name,
                at=trio.current_time(),
                reason=reason,
                abandoned_thread=slot.process.abandoned,
            )
        )

    def _record_crash(self, slot: _Slot, error: BaseException, phase: str) -> None:
        self.system._record(
            ChildCrashed(
                path=slot.process.path,
                name=slot.spec.name,
                at=trio.current_time(),
                error_type=type(error).__name__,
                error_message=str(error),
                restart_count=slot.process.restarts,
                phase=phase,
                location=error_location(error),
            )
        )


def _should_restart(restart: Restart, error: Exception | None) -> bool:
    if restart is Restart.PERMANENT:
        return True
    if restart is Restart.TRANSIENT:
        return error is not None
    return False
