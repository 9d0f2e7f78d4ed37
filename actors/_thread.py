"""A bridge that runs a pykka ``ThreadingActor`` as a supervised child.

Trio actors reach it through an ordinary ``Ref``: the bridge forwards one message at a time
as a pykka ask and waits for the reply in a worker thread, so the Trio loop never blocks.
An exception raised by the pykka actor crashes the bridge (it goes through the supervisor and
the restart log like any crash); the pykka actor is stopped and a new one started.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pykka
import pykka.messages
import trio

from ._actor import Actor
from ._specs import DEFAULT_MAILBOX, Backoff, ChildSpec, Mailbox, Restart


class ThreadActor(Actor[Any]):
    """Hosts one pykka actor (``actor_class.start(*args, **kwargs)``) per incarnation.

    Start: the pykka actor is started and pinged; if its ``on_start`` raised, pykka stopped
    it and the start fails with ``pykka.ActorDeadError``. Stop: pykka's stop is asked and
    awaited within the shutdown timeout; a thread that will not stop is abandoned and the
    restart log says so (``ChildStopped.abandoned_thread``). Make such actors daemon threads
    (``use_daemon_thread = True``) if an abandoned thread must not keep the process alive.
    """

    kind = "thread"

    def __init__(
        self,
        actor_class: type[pykka.ThreadingActor],
        *args: Any,
        **kwargs: Any,
    ) -> None:
        self.actor_class = actor_class
        self._args = args
        self._kwargs = kwargs
        self._pykka_ref: pykka.ActorRef[Any] | None = None

    async def on_start(self) -> None:
        hosted, start_errors = _capturing_start_errors(self.actor_class)
        ref = await trio.to_thread.run_sync(lambda: hosted.start(*self._args, **self._kwargs))
        self._pykka_ref = ref
        ping = ref.ask(pykka.messages.ProxyGetAttr(attr_path=("actor_urn",)), block=False)
        try:
            await trio.to_thread.run_sync(ping.get, abandon_on_cancel=True)
        except pykka.ActorDeadError:
            if start_errors:  # pykka swallowed (and logged) it; report the real cause
                raise start_errors[0] from None
            raise

    async def receive(self, message: Any) -> object:
        assert self._pykka_ref is not None
        future = self._pykka_ref.ask(message, block=False)
        return await trio.to_thread.run_sync(future.get, abandon_on_cancel=True)

    async def on_stop(self) -> None:
        ref = self._pykka_ref
        if ref is None or not ref.is_alive():
            return
        self.abandoned_thread = True  # until the thread confirms it stopped
        stopping = ref.stop(block=False)
        await trio.to_thread.run_sync(stopping.get, abandon_on_cancel=True)
        self.abandoned_thread = False


def _capturing_start_errors(
    actor_class: type[pykka.ThreadingActor],
) -> tuple[type[pykka.ThreadingActor], list[Exception]]:
    """A subclass that records what its ``on_start`` raised (pykka only logs it)."""
    errors: list[Exception] = []

    class Hosted(actor_class):  # type: ignore[valid-type,misc]
        def on_start(self) -> None:
            try:
                super().on_start()
            except Exception as error:
                errors.append(error)
                raise

    Hosted.__name__ = actor_class.__name__
    Hosted.__qualname__ = actor_class.__qualname__
    return Hosted, errors


class _ThreadFactory:
    kind = "thread"

    def __init__(
        self,
        actor_class: type[pykka.ThreadingActor],
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
    ) -> None:
        self.actor_class = actor_class
        self.args = args
        self.kwargs = dict(kwargs)

    def __call__(self) -> ThreadActor:
        return ThreadActor(self.actor_class, *self.args, **self.kwargs)

    def __repr__(self) -> str:
        return f"ThreadChild({self.actor_class.__name__})"


def ThreadChild(
    name: str,
    actor_class: type[pykka.ThreadingActor],
    *,
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
    restart: Restart = Restart.PERMANENT,
    mailbox: Mailbox = DEFAULT_MAILBOX,
    backoff: Backoff | None = None,
    shutdown_timeout: float | None = 5.0,
) -> ChildSpec:
    """A child spec that runs ``actor_class(*args, **kwargs)`` on its own pykka thread."""
    return ChildSpec(
        name,
        factory=_ThreadFactory(actor_class, args, kwargs or {}),
        restart=restart,
        mailbox=mailbox,
        backoff=backoff,
        shutdown_timeout=shutdown_timeout,
    )
