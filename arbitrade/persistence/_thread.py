"""The pykka actor that owns the DuckDB connection on its own thread.

Run it as a supervised child through the actors' bridge (:func:`writer_child`); Trio actors
``ask`` it a :class:`Batch` and get a :class:`BatchCommitted`. A failed write raises
``BatchWriteFailed`` out of ``on_receive``: the bridge crashes, its supervisor restarts it, a
new pykka actor reopens the file, and the sink retries the batch.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import attrs
import pykka
import structlog

from actors import ChildSpec, Mailbox, ThreadChild
from arbitrade.persistence._batch import Batch, BatchCommitted
from arbitrade.persistence._writer import DuckDBWriter

log = structlog.get_logger(__name__)


@attrs.frozen
class Checkpoint:
    """Ask the writer to fold the write-ahead log into the file (replies None)."""


class DuckDBWriterActor(pykka.ThreadingActor):
    """Opens and migrates the database on start, commits batches, checkpoints and closes on
    stop. A daemon thread, so an abandoned writer never keeps the process alive (a kill
    mid-write is recovered by DuckDB's write-ahead log on the next open)."""

    use_daemon_thread = True

    def __init__(self, path: Path | str, *, nice: int = 10) -> None:
        super().__init__()
        self._writer = DuckDBWriter(path)
        self._nice = nice

    def on_start(self) -> None:
        _lower_priority(self._nice)
        self._writer.open()

    def on_receive(self, message: Any) -> BatchCommitted | None:
        if isinstance(message, Batch):
            return self._writer.write(message)
        if isinstance(message, Checkpoint):
            self._writer.checkpoint()
            return None
        raise TypeError(f"DuckDBWriterActor expected a Batch or Checkpoint, got {message!r}")

    def on_stop(self) -> None:
        self._writer.close()

    def on_failure(self, *_: object) -> None:
        self._writer.close()


def _lower_priority(nice: int) -> None:
    """Raise this thread's nice value (Linux schedules threads individually), so that when
    the cores are busy the scheduler prefers the Trio loop's thread over the writer's."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, current + nice))
    except OSError as error:  # a sandbox may forbid it: run at normal priority
        log.warning("persistence.writer.priority_unchanged", error=str(error))


def writer_child(
    path: Path | str,
    *,
    name: str = "db_writer",
    nice: int = 10,
    shutdown_timeout: float = 30.0,
) -> ChildSpec:
    """The child spec of the writer thread. Start it before the sink (so it stops after).

    ``nice`` is added to the writer thread's nice value (0: leave it): under CPU contention
    the Trio loop then wins, and the sink's subscriptions absorb the slower writes.
    """
    return ThreadChild(
        name,
        DuckDBWriterActor,
        args=(path,),
        kwargs={"nice": nice},
        mailbox=Mailbox(capacity=16),
        shutdown_timeout=shutdown_timeout,
    )
