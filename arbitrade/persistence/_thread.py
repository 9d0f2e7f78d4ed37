"""The pykka actor that owns the DuckDB connection on its own thread.

Run it as a supervised child through the actors' bridge (:func:`writer_child`); Trio actors
``ask`` it a :class:`Batch` and get a :class:`BatchCommitted`. A failed write raises
``BatchWriteFailed`` out of ``on_receive``: the bridge crashes, its supervisor restarts it, a
new pykka actor reopens the file, and the sink retries the batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pykka

from actors import ChildSpec, Mailbox, ThreadChild
from arbitrade.persistence._batch import Batch, BatchCommitted
from arbitrade.persistence._writer import DuckDBWriter


@attrs.frozen
class Checkpoint:
    """Ask the writer to fold the write-ahead log into the file (replies None)."""


class DuckDBWriterActor(pykka.ThreadingActor):
    """Opens and migrates the database on start, commits batches, checkpoints and closes on
    stop. A daemon thread, so an abandoned writer never keeps the process alive (a kill
    mid-write is recovered by DuckDB's write-ahead log on the next open)."""

    use_daemon_thread = True

    def __init__(self, path: Path | str) -> None:
        super().__init__()
        self._writer = DuckDBWriter(path)

    def on_start(self) -> None:
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


def writer_child(
    path: Path | str, *, name: str = "db_writer", shutdown_timeout: float = 30.0
) -> ChildSpec:
    """The child spec of the writer thread. Start it before the sink (so it stops after)."""
    return ThreadChild(
        name,
        DuckDBWriterActor,
        args=(path,),
        mailbox=Mailbox(capacity=16),
        shutdown_timeout=shutdown_timeout,
    )
