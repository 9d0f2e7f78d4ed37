"""The recorder: every raw WebSocket frame to zstd Parquet, written off the Trio loop.

:class:`RecordingTransport` wraps any :class:`~arbitrade.kraken.Transport`; each frame a
connection receives is handed to a :class:`FrameRecorder` together with its wall-clock and
monotonic receive times and the connection's id. On the Trio loop that costs one lock and one
list append; a writer thread classifies the frames (channel, symbol) and writes them in
batches, one Parquet file per session, day and channel, rotated every ``rotate_rows`` rows.

A file becomes readable when it is closed (Parquet writes its footer last): on a crash the
open files of the current part are lost, closed parts survive. ``close()`` (or leaving
:func:`open_recorder`) writes everything still buffered.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pyarrow as pa
import pyarrow.parquet as pq
import structlog
import trio

from arbitrade.backtest._frames import COMPRESSION, SCHEMA, classify
from arbitrade.kraken import Connection, Transport

log = structlog.get_logger(__name__)

_Row = tuple[int, int, str, str | bytes]


@attrs.frozen
class RecorderStatistics:
    """Counters of one :class:`FrameRecorder`."""

    frames: int
    """Frames handed to the recorder."""
    written: int
    """Frames written to files (closed or open)."""
    files: int
    """Files closed so far."""
    batches: int
    """Batches the writer thread took."""
    dropped: int = 0
    """Frames dropped because the writer thread had failed (see ``FrameRecorder.error``)."""


class FrameRecorder:
    """Buffers frames from the Trio loop and writes them from its own thread.

    Args:
        out_dir: the recording folder (created if needed).
        session: the session id written with every row (default: from the start time).
        flush_seconds: the thread takes what is buffered at least this often.
        rotate_rows: a file is closed and a new part begun after this many rows.

    Raises (from :meth:`start`):
        OSError: the folder cannot be created.
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        session: str | None = None,
        flush_seconds: float = 1.0,
        rotate_rows: int = 250_000,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.session = session or f"{time.time_ns():x}-{os.getpid()}"
        self._flush_seconds = flush_seconds
        self._rotate_rows = rotate_rows
        self._lock = threading.Lock()
        self._buffer: list[_Row] = []
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._writers: dict[tuple[str, str], tuple[pq.ParquetWriter, int]] = {}
        self._parts = itertools.count(1)
        self._seq = 0
        self._frames = 0
        self._written = 0
        self._files = 0
        self._batches = 0
        self._dropped = 0
        self.error: BaseException | None = None
        """What stopped the writer thread, if anything did (frames after it are dropped)."""

    # -- the Trio side -----------------------------------------------------------------------

    def record(
        self, connection_id: str, payload: str | bytes, wall_ns: int, monotonic_ns: int
    ) -> None:
        """Buffer one frame (never blocks on I/O). Safe from any thread.

        Once the writer thread has failed (``error`` is set) frames are counted as dropped
        instead of buffered: nothing would write them, and a bot that keeps trading must not
        grow its memory frame by frame.
        """
        with self._lock:
            self._frames += 1
            if self.error is not None:
                self._dropped += 1
                return
            self._buffer.append((wall_ns, monotonic_ns, connection_id, payload))

    def statistics(self) -> RecorderStatistics:
        """A snapshot of the counters."""
        return RecorderStatistics(
            self._frames, self._written, self._files, self._batches, self._dropped
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Create the folder and start the writer thread."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        # pyarrow imports pandas on its first array: pay that here, not mid-trading
        pa.array([], pa.int64())
        self._thread = threading.Thread(target=self._run, name="arbitrade-recorder", daemon=True)
        self._thread.start()
        log.info("recorder.started", out_dir=str(self.out_dir), session=self.session)

    def close(self) -> None:
        """Write what is buffered, close every file and stop the thread (blocks until done)."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        else:
            self._drain()
            self._close_all()
        log.info(
            "recorder.closed",
            session=self.session,
            frames=self._frames,
            files=self._files,
            dropped=self._dropped,
        )

    # -- the writer thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping:
                self._wake.wait(self._flush_seconds)
                self._wake.clear()
                self._drain()
            self._drain()
        except BaseException as error:  # kept for the owner; the bot must keep trading
            with self._lock:
                self.error = error
                self._dropped += len(self._buffer)
                self._buffer = []
            log.error("recorder.failed", error=repr(error))
        finally:
            self._close_all()

    def _drain(self) -> None:
        with self._lock:
            batch, self._buffer = self._buffer, []
        if not batch:
            return
        self._batches += 1
        groups: dict[tuple[str, str], list[list[object]]] = {}
        for wall_ns, mono_ns, connection_id, payload in batch:
            text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
            channel, symbol = classify(text)
            day = datetime.fromtimestamp(wall_ns / 1e9, UTC).strftime("%Y-%m-%d")
            columns = groups.setdefault((day, channel), [[], [], [], [], [], [], []])
            self._seq += 1
            for column, value in zip(
                columns,
                (self.session, self._seq, wall_ns, mono_ns, connection_id, symbol, text),
                strict=True,
            ):
                column.append(value)
        for key, columns in groups.items():
            table = pa.Table.from_arrays(
                [
                    pa.array(column, type=field.type)
                    for column, field in zip(columns, SCHEMA, strict=True)
                ],
                schema=SCHEMA,
            )
            self._write(key, table)

    def _write(self, key: tuple[str, str], table: pa.Table) -> None:
        writer, rows = self._writers.get(key, (None, 0))
        if writer is None:
            day, channel = key
            folder = self.out_dir / f"day={day}" / f"channel={channel}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{self.session}-{next(self._parts):05d}.parquet"
            writer = pq.ParquetWriter(path, SCHEMA, compression=COMPRESSION)
        writer.write_table(table)
        rows += table.num_rows
        self._written += table.num_rows
        if rows >= self._rotate_rows:
            writer.close()
            self._files += 1
            self._writers.pop(key, None)
        else:
            self._writers[key] = (writer, rows)

    def _close_all(self) -> None:
        for writer, _ in self._writers.values():
            writer.close()
            self._files += 1
        self._writers.clear()


class _RecordingConnection:
    def __init__(
        self,
        inner: Connection,
        recorder: FrameRecorder,
        connection_id: str,
        wall_clock_ns: Callable[[], int],
    ) -> None:
        self._inner = inner
        self._recorder = recorder
        self._connection_id = connection_id
        self._wall_clock_ns = wall_clock_ns

    async def receive(self) -> str | bytes:
        frame = await self._inner.receive()
        self._record(frame)
        return frame

    def receive_nowait(self) -> str | bytes:
        """The inner connection's ready frame, recorded (``trio.WouldBlock`` if it has none or
        cannot say): recording keeps the WS client's batched reads of a backlog."""
        take = getattr(self._inner, "receive_nowait", None)
        if take is None:
            raise trio.WouldBlock
        frame: str | bytes = take()
        self._record(frame)
        return frame

    async def send(self, frame: str | bytes) -> None:
        await self._inner.send(frame)

    def _record(self, frame: str | bytes) -> None:
        self._recorder.record(
            self._connection_id, frame, self._wall_clock_ns(), int(trio.current_time() * 1e9)
        )


class RecordingTransport:
    """A :class:`~arbitrade.kraken.Transport` that records every frame its connections receive.

    Frames sent are not recorded. The monotonic time recorded is the Trio clock (the
    ``received_at`` of the messages the frame causes), the wall time ``time.time_ns()``.
    Connection ids are ``<prefix>-<n>``, counting connections opened by this transport.
    ``wall_clock_ns`` gives the wall time (``time.time_ns``; a simulated run passes its own).
    """

    def __init__(
        self,
        inner: Transport,
        recorder: FrameRecorder,
        *,
        prefix: str = "ws",
        wall_clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.inner = inner
        self.recorder = recorder
        self._prefix = prefix
        self._wall_clock_ns = wall_clock_ns
        self._connections = itertools.count(1)

    @asynccontextmanager
    async def connect(self, url: str) -> AsyncIterator[Connection]:
        """Open ``url`` on the inner transport; its errors pass through unchanged."""
        connection_id = f"{self._prefix}-{next(self._connections)}"
        async with self.inner.connect(url) as connection:
            yield _RecordingConnection(
                connection, self.recorder, connection_id, self._wall_clock_ns
            )


@contextmanager
def open_recorder(out_dir: Path, **options: object) -> Iterator[FrameRecorder]:
    """A started :class:`FrameRecorder` for the ``with`` block; closed (flushed) on exit.

    This is the ``arbitrade run --record DIR`` hook: wrap the feed's transport in
    ``RecordingTransport(transport, recorder)`` inside the block.
    """
    recorder = FrameRecorder(out_dir, **options)  # type: ignore[arg-type]
    recorder.start()
    try:
        yield recorder
    finally:
        recorder.close()
