"""Refs: the only way to reach an actor. A ref is stable across its actor's restarts."""

from __future__ import annotations

import math
from typing import Any

import attrs
import trio

from ._errors import ActorCrashed, ActorStopped, AskTimeout, MailboxFull
from ._immutable import check_immutable
from ._specs import DEFAULT_MAILBOX, Mailbox, Overflow
from ._timer import AskTimer

DEFAULT_ASK_TIMEOUT = 5.0
"""Seconds ``Ref.ask`` waits for a reply unless told otherwise."""


_TIMED_OUT: Any = object()
_REPARK: Any = object()


class _Ask:
    """Envelope of an ask: the message and where its single reply goes.

    It is also the value the caller is rescheduled with: ``wait_task_rescheduled`` only calls
    ``unwrap()`` on it, so a reply costs no allocation beyond the envelope.
    """

    __slots__ = ("bucket", "message", "state", "task", "value")

    # state: 0 sent (caller not parked), 1 caller parked, 2 replied, 3 abandoned, 4 failed
    def __init__(self, message: object) -> None:
        self.message = message
        self.state = 0
        self.bucket: dict[_Ask, None] | None = None
        self.task: trio.lowlevel.Task
        self.value: Any

    def reply(self, value: object) -> None:
        """Deliver the reply; a reply to an abandoned ask is dropped."""
        state = self.state
        if state == 1:
            self.state = 2
            self.value = value
            trio.lowlevel.reschedule(self.task, self)  # type: ignore[arg-type]
        elif state == 0:
            self.state = 2
            self.value = value

    def fail(self, error: BaseException) -> None:
        """Make the ask raise ``error``; dropped if the ask was abandoned."""
        state = self.state
        if state == 1:
            self.state = 4
            self.value = error
            trio.lowlevel.reschedule(self.task, self)  # type: ignore[arg-type]
        elif state == 0:
            self.state = 4
            self.value = error

    def unwrap(self) -> Any:
        """The reply (called by Trio when the caller resumes)."""
        if self.state == 4:
            raise self.value
        return self.value

    def expire(self) -> None:
        """The timer found it overdue: wake the caller to raise AskTimeout."""
        if self.state == 1:
            self.state = 3
            self.value = _TIMED_OUT
            trio.lowlevel.reschedule(self.task, self)  # type: ignore[arg-type]

    def rehome(self) -> None:
        """The timer is stopping: wake the caller to wait under its own cancel scope."""
        if self.state == 1:
            self.state = 0
            self.value = _REPARK
            trio.lowlevel.reschedule(self.task, self)  # type: ignore[arg-type]

    def abort(self, _: object) -> trio.lowlevel.Abort:
        """The caller was cancelled: drop any late reply."""
        self.state = 3
        if self.bucket is not None:
            self.bucket.pop(self, None)
        return trio.lowlevel.Abort.SUCCEEDED


class _Crash:
    """A crash injected by the test harness: the actor raises ``error`` when it reaches it."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


@attrs.frozen
class MailboxStatistics:
    """A snapshot of a mailbox (read by metrics and the dashboard)."""

    path: str
    """The actor's path."""
    capacity: int
    """Messages the mailbox holds before its overflow policy applies."""
    queued: int
    """Messages waiting to be handled now."""
    dropped: int
    """Messages dropped by a dropping overflow policy or left unhandled at a final stop."""
    senders_waiting: int
    """Tasks blocked in ``send`` for room (backpressure)."""
    open: bool
    """False once the actor stopped for good (sends raise ``ActorStopped``)."""


class Ref[M]:
    """A handle to an actor's mailbox; stays valid across the actor's restarts.

    Messages sent while the actor restarts wait in the mailbox for the next incarnation.
    Once the actor stops for good, ``send`` and ``ask`` raise ``ActorStopped``.
    """

    __slots__ = (
        "_debug",
        "_dropped",
        "_lossy",
        "_mailbox",
        "_receive",
        "_send",
        "_timer",
        "name",
        "path",
    )

    def __init__(
        self, path: str, mailbox: Mailbox = DEFAULT_MAILBOX, *, debug: bool = False
    ) -> None:
        self.path = path
        self.name = path.rsplit("/", 1)[-1]
        self._mailbox = mailbox
        self._debug = debug
        self._lossy = mailbox.overflow is not Overflow.RAISE
        self._dropped = 0
        self._timer: AskTimer | None = None
        self._send: trio.MemorySendChannel[object]
        self._receive: trio.MemoryReceiveChannel[object]
        self._send, self._receive = trio.open_memory_channel[object](mailbox.capacity)

    def __repr__(self) -> str:
        return f"<Ref {self.path}>"

    async def send(self, message: M) -> None:
        """Queue ``message``, waiting for room when the mailbox is full (backpressure).

        With a dropping overflow policy it never waits (see ``Overflow``).

        Raises:
            ActorStopped: the actor is stopped for good (also if it stops while we wait).
            MutableMessage: in debug mode, the message is not deeply immutable.
        """
        if self._debug:
            check_immutable(self.path, message)
        if self._lossy:
            self._offer(message)
            await trio.lowlevel.checkpoint()
            return
        try:
            await self._send.send(message)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ActorStopped(self.path) from None

    def send_nowait(self, message: M) -> None:
        """Queue ``message`` without waiting.

        Raises:
            MailboxFull: the mailbox is full and its policy is ``Overflow.RAISE``.
            ActorStopped: the actor is stopped for good.
            MutableMessage: in debug mode, the message is not deeply immutable.
        """
        if self._debug:
            check_immutable(self.path, message)
        if self._lossy:
            self._offer(message)
            return
        try:
            self._send.send_nowait(message)
        except trio.WouldBlock:
            raise MailboxFull(self.path, self._mailbox.capacity) from None
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ActorStopped(self.path) from None

    async def ask(
        self,
        message: M,
        *,
        timeout: float | None = DEFAULT_ASK_TIMEOUT,  # noqa: ASYNC109 - ask's own contract
    ) -> Any:
        """Send ``message`` and wait for the actor's reply (the return value of ``receive``).

        The timeout covers waiting for mailbox room too; ``None`` waits forever.

        Raises:
            AskTimeout: no reply within ``timeout``; the message may still be handled
                later and its reply is then dropped.
            ActorCrashed: the actor raised while handling it (``__cause__`` is the error);
                its supervisor restarts it or not.
            ActorStopped: the actor is stopped, or stopped before handling the message.
            MailboxFull: a dropping mailbox dropped the ask.
        """
        if self._debug:
            check_immutable(self.path, message)
        envelope = _Ask(message)
        deadline = math.inf if timeout is None else trio.current_time() + timeout
        try:
            if self._lossy:
                self._offer(envelope)
            else:
                try:
                    self._send.send_nowait(envelope)
                except trio.WouldBlock:
                    sent = False
                    with trio.move_on_at(deadline):
                        await self._send.send(envelope)
                        sent = True
                    if not sent:
                        raise AskTimeout(self.path, message, timeout or 0.0) from None
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ActorStopped(self.path) from None
        while True:
            if envelope.state >= 2:  # replied (or failed) before we parked
                await trio.lowlevel.checkpoint()
                return envelope.unwrap()
            envelope.task = trio.lowlevel.current_task()
            envelope.state = 1
            if deadline == math.inf:
                return await trio.lowlevel.wait_task_rescheduled(envelope.abort)
            timer = self._timer
            if timer is not None and timer.running:
                bucket = envelope.bucket = timer.add(envelope, deadline)
                try:
                    reply = await trio.lowlevel.wait_task_rescheduled(envelope.abort)
                finally:
                    bucket.pop(envelope, None)
                if reply is _TIMED_OUT:
                    raise AskTimeout(self.path, message, timeout or 0.0)
                if reply is not _REPARK:
                    return reply
                envelope.bucket = None
                continue
            with trio.move_on_at(deadline):
                return await trio.lowlevel.wait_task_rescheduled(envelope.abort)
            raise AskTimeout(self.path, message, timeout or 0.0)

    def _offer(self, item: object) -> None:
        """Enqueue under a dropping policy (never waits)."""
        try:
            self._send.send_nowait(item)
            return
        except trio.WouldBlock:
            pass
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ActorStopped(self.path) from None
        self._dropped += 1
        if self._mailbox.overflow is Overflow.DROP_NEWEST:
            dropped = item
        else:
            dropped = self._receive.receive_nowait()
            self._send.send_nowait(item)
        if type(dropped) is _Ask:
            dropped.fail(MailboxFull(self.path, self._mailbox.capacity))

    def statistics(self) -> MailboxStatistics:
        """A frozen snapshot of this mailbox."""
        stats = self._send.statistics()
        return MailboxStatistics(
            path=self.path,
            capacity=self._mailbox.capacity,
            queued=stats.current_buffer_used,
            dropped=self._dropped,
            senders_waiting=stats.tasks_waiting_send,
            open=stats.open_send_channels > 0,
        )

    # -- runtime side (used by the actor loop and supervisors) --------------------------

    def _put_nowait(self, message: object) -> bool:
        """Queue ``message`` without waiting (the bus forwarding into this mailbox).

        Returns False, queuing nothing, when a backpressure mailbox is full; a dropping
        mailbox applies its policy and returns True.

        Raises:
            ActorStopped: the actor is stopped for good.
            MutableMessage: in debug mode, the message is not deeply immutable.
        """
        if self._debug:
            check_immutable(self.path, message)
        if self._lossy:
            self._offer(message)
            return True
        try:
            self._send.send_nowait(message)
        except trio.WouldBlock:
            return False
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ActorStopped(self.path) from None
        return True

    def _full(self) -> bool:
        """True if ``send`` would wait for room now."""
        if self._lossy:
            return False
        stats = self._send.statistics()
        return stats.current_buffer_used >= stats.max_buffer_size and not (
            stats.tasks_waiting_receive
        )

    def _inject(self, item: object) -> None:
        """Put a control item in the mailbox regardless of policy (waits never)."""
        try:
            self._send.send_nowait(item)
        except trio.WouldBlock:
            raise MailboxFull(self.path, self._mailbox.capacity) from None
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ActorStopped(self.path) from None

    def _reopen(self) -> None:
        """Give a stopped-for-good ref a fresh mailbox (its subtree is starting again)."""
        if self._send.statistics().open_send_channels == 0:
            self._send, self._receive = trio.open_memory_channel[object](self._mailbox.capacity)

    def _close(self) -> int:
        """Stop for good: fail queued asks with ``ActorStopped``; return messages dropped."""
        self._send.close()
        dropped = 0
        while True:
            try:
                item = self._receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            dropped += 1
            if type(item) is _Ask:
                item.fail(ActorStopped(self.path, "stopped before handling it"))
        self._dropped += dropped
        return dropped

    def _idle(self) -> bool:
        """True if the actor loop is parked waiting for a message."""
        return self._receive.statistics().tasks_waiting_receive > 0


def crashed(path: str, error: BaseException) -> ActorCrashed:
    """What an ask raises when its handler raised ``error``."""
    wrapped = ActorCrashed(path, error)
    wrapped.__cause__ = error
    return wrapped


INFINITY = math.inf
