"""Typed errors of the actor runtime, each under a built-in or Trio category.

Exception tree::

    ActorError (Exception)
    ├── MailboxFull (trio.WouldBlock)          send_nowait found the mailbox full (Overflow.RAISE)
    ├── AskTimeout (trio.TooSlowError)         no reply within the ask timeout
    ├── ActorStopped (trio.BrokenResourceError) the actor is stopped: send and ask fail at once
    ├── ActorCrashed                            the actor raised while handling this ask
    ├── ActorNotFound (LookupError)             no actor registered under that name or path
    ├── MutableMessage (TypeError)              debug mode caught a mutable message
    ├── ChildStartFailed                        a child's start hook raised; siblings were stopped
    └── SupervisorGaveUp                        restart intensity exceeded; the supervisor escalates
"""

from __future__ import annotations

import trio


class ActorError(Exception):
    """Base class of every error the runtime raises on purpose."""


class MailboxFull(ActorError, trio.WouldBlock):
    """``Ref.send_nowait`` found the mailbox at capacity (policy ``Overflow.RAISE``).

    Use ``await ref.send(...)`` to wait for room instead, or pick a dropping policy.
    """

    def __init__(self, path: str, capacity: int) -> None:
        super().__init__(
            f"mailbox of {path!r} is full (capacity {capacity}); "
            "await send() to wait for room or choose a dropping Overflow policy"
        )
        self.path = path
        self.capacity = capacity


class AskTimeout(ActorError, trio.TooSlowError):
    """No reply arrived within the ask's timeout. A reply arriving later is dropped."""

    def __init__(self, path: str, message: object, timeout: float) -> None:
        super().__init__(
            f"actor {path!r} did not reply to {type(message).__name__} within {timeout:g}s"
        )
        self.path = path
        self.message = message
        self.timeout = timeout


class ActorStopped(ActorError, trio.BrokenResourceError):
    """The actor is stopped (or stopped before handling this message)."""

    def __init__(self, path: str, detail: str = "is stopped") -> None:
        super().__init__(f"actor {path!r} {detail}")
        self.path = path


class ActorCrashed(ActorError):
    """The actor raised while handling this ask; ``__cause__`` is its exception.

    The actor itself is then restarted (or not) by its supervisor.
    """

    def __init__(self, path: str, error: BaseException) -> None:
        super().__init__(
            f"actor {path!r} crashed handling the ask: {type(error).__name__}: {error}"
        )
        self.path = path
        self.error = error


class ActorNotFound(ActorError, LookupError):
    """No actor is registered under that path (or sibling name)."""

    def __init__(self, path: str, known: tuple[str, ...] = ()) -> None:
        hint = f"; known: {', '.join(known)}" if known else ""
        super().__init__(f"no actor registered at {path!r}{hint}")
        self.path = path


class MutableMessage(ActorError, TypeError):
    """Debug mode found a mutable value in a message (messages must be immutable)."""

    def __init__(self, path: str, where: str, got: str) -> None:
        super().__init__(
            f"message sent to {path!r} is mutable at {where}: expected an immutable value "
            f"(attrs frozen class, tuple, frozenset, str, int, ...), got {got}"
        )
        self.path = path
        self.where = where
        self.got = got


class ChildStartFailed(ActorError):
    """A child's start raised; started siblings were stopped in reverse order.

    ``__cause__`` is the child's exception.
    """

    def __init__(self, path: str, error: BaseException) -> None:
        super().__init__(f"child {path!r} failed to start: {type(error).__name__}: {error}")
        self.path = path
        self.error = error


class SupervisorGaveUp(ActorError):
    """A supervisor exceeded its restart intensity, stopped its children and escalates.

    ``__cause__`` is the last child error.
    """

    def __init__(self, path: str, max_restarts: int, within: float, error: BaseException | None):
        cause = f": {type(error).__name__}: {error}" if error is not None else ""
        super().__init__(
            f"supervisor {path!r} gave up after more than {max_restarts} restarts "
            f"within {within:g}s{cause}"
        )
        self.path = path
        self.max_restarts = max_restarts
        self.within = within
        self.error = error
