"""Look up running actors by path, and a snapshot of the tree for dashboards and tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from ._errors import ActorNotFound
from ._ref import MailboxStatistics, Ref


@attrs.frozen
class NodeInfo:
    """One node of the supervision tree, as seen now."""

    path: str
    kind: str
    """``supervisor``, ``actor`` or ``thread``."""
    status: str
    """``idle`` (not started), ``running``, ``restarting``, ``stopped``."""
    restarts: int
    """Restarts of this node since the system started."""
    mailbox: MailboxStatistics | None
    """Its mailbox (``None`` for supervisors)."""


class Registry:
    """Refs by path (``root/feeds/book``). Static children are registered before they start,
    so their refs accept messages (queued) before and across restarts."""

    def __init__(self) -> None:
        self._refs: dict[str, Ref[Any]] = {}
        self._nodes: dict[str, Callable[[], NodeInfo]] = {}

    def register(self, ref: Ref[Any]) -> None:
        """Register ``ref`` under its path.

        Raises:
            ValueError: the path is taken.
        """
        if ref.path in self._refs:
            raise ValueError(f"an actor is already registered at {ref.path!r}")
        self._refs[ref.path] = ref

    def unregister(self, path: str) -> None:
        """Forget ``path`` (no error if unknown)."""
        self._refs.pop(path, None)
        self._nodes.pop(path, None)

    def lookup(self, path: str) -> Ref[Any]:
        """The ref at ``path``.

        Raises:
            ActorNotFound: nothing is registered there (the message lists what is).
        """
        try:
            return self._refs[path]
        except KeyError:
            raise ActorNotFound(path, tuple(sorted(self._refs))) from None

    def get(self, path: str) -> Ref[Any] | None:
        """The ref at ``path``, or ``None``."""
        return self._refs.get(path)

    def paths(self) -> tuple[str, ...]:
        """Every registered actor path, sorted."""
        return tuple(sorted(self._refs))

    def _describe(self, path: str, describe: Callable[[], NodeInfo]) -> None:
        self._nodes[path] = describe

    def snapshot(self) -> tuple[NodeInfo, ...]:
        """Every supervisor and actor of the tree, sorted by path."""
        return tuple(self._nodes[path]() for path in sorted(self._nodes))
