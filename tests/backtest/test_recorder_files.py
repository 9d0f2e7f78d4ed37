"""The recorder's files: partitions, rotation, channels, receive times, a failed writer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import trio
import trio.testing

from arbitrade.backtest import FrameRecorder, RecordingTransport, load_frames
from arbitrade.backtest import find_recording_files as find
from arbitrade.kraken import ReplayTransport

from .helpers import WALL0


def book(symbol: str = "BTC/USD") -> str:
    item = {"symbol": symbol, "bids": [], "asks": [], "checksum": 0}
    return orjson.dumps({"channel": "book", "type": "update", "data": [item]}).decode()


def layout(folder: Path) -> list[tuple[str, str, int]]:
    """(day folder, channel folder, rows) of every file, sorted."""
    return sorted(
        (path.parent.parent.name, path.parent.name, pq.read_metadata(path).num_rows)
        for path in folder.rglob("*.parquet")
    )


def only_file(folder: Path) -> pa.Table:
    """The table of the one file under ``folder``."""
    (path,) = folder.rglob("*.parquet")
    return pq.read_table(path)


class TestFiles:
    def test_record_when_rows_exceed_rotate_rows_closes_and_begins_parts(
        self, tmp_path: Path
    ) -> None:
        """rotate_rows=3 and 7 frames: parts of 3, 3 and 1 rows, every frame kept."""
        recorder = FrameRecorder(tmp_path, session="s", rotate_rows=3)
        for index in range(7):
            recorder.record("ws-1", book(), WALL0 + index, index)
            recorder._drain()
        recorder.close()
        assert [rows for _, _, rows in layout(tmp_path)] == [1, 3, 3]
        assert recorder.statistics().files == 3
        assert len(load_frames(find([str(tmp_path)]))) == 7

    def test_record_when_frames_cross_utc_midnight_writes_two_day_partitions(
        self, tmp_path: Path
    ) -> None:
        """A frame at 23:59:59.9 and one at 00:00:00.1 land in the days of their wall time."""
        midnight = int(datetime(2024, 5, 2, tzinfo=UTC).timestamp()) * 10**9
        recorder = FrameRecorder(tmp_path, session="s")
        recorder.record("ws-1", book(), midnight - 10**8, 1)
        recorder.record("ws-1", book(), midnight + 10**8, 2 * 10**8 + 1)
        recorder.close()
        assert layout(tmp_path) == [
            ("day=2024-05-01", "channel=book", 1),
            ("day=2024-05-02", "channel=book", 1),
        ]

    def test_record_when_frames_are_responses_or_garbage_files_them_apart(
        self, tmp_path: Path
    ) -> None:
        """Answers go to method-<name>, unreadable frames to unknown; bytes are kept as text."""
        recorder = FrameRecorder(tmp_path, session="s")
        recorder.record("ws-1", b'{"method":"pong","req_id":1}', WALL0, 1)
        recorder.record("ws-1", "not json", WALL0 + 1, 2)
        recorder.record("ws-1", book().encode(), WALL0 + 2, 3)
        recorder.close()
        assert [channel for _, channel, _ in layout(tmp_path)] == [
            "channel=book",
            "channel=method-pong",
            "channel=unknown",
        ]
        payloads = pq.read_table(next(tmp_path.rglob("channel=book/*.parquet")))["payload"]
        assert payloads.to_pylist() == [book()]


class TestFailedWriter:
    def test_record_when_writer_failed_drops_frames_instead_of_buffering(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A failed writer (disk full) keeps its error; later frames are counted as dropped,
        never buffered, and close() still returns."""
        recorder = FrameRecorder(tmp_path, session="s", flush_seconds=0.01)

        def full(*args: object) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(recorder, "_write", full)
        recorder.start()
        recorder.record("ws-1", book(), WALL0, 1)
        assert recorder._thread is not None
        recorder._thread.join(10)
        assert isinstance(recorder.error, OSError)
        for index in range(100):
            recorder.record("ws-1", book(), WALL0 + index, index)
        assert recorder._buffer == []
        statistics = recorder.statistics()
        assert (statistics.frames, statistics.dropped, statistics.written) == (101, 100, 0)
        recorder.close()


class TestRecordingTransport:
    async def test_receive_when_frames_arrive_records_them_with_trio_and_wall_times(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Each received frame is recorded with the Trio clock (ns) as its monotonic time,
        the wall clock given, and ws-N per connection; frames sent are not recorded."""
        recorder = FrameRecorder(tmp_path, session="s")
        transport = RecordingTransport(
            ReplayTransport([book(), book("ETH/USD")], acknowledge=False),
            recorder,
            wall_clock_ns=lambda: WALL0 + int(trio.current_time() * 1e9),
        )
        async with transport.connect("ws://x") as connection:
            await connection.send('{"method":"ping"}')
            await trio.sleep(1.5)
            await connection.receive()
            await trio.sleep(1.0)
            await connection.receive()
        async with transport.connect("ws://x"):
            pass
        recorder.close()
        table = only_file(tmp_path)
        mono = table["received_monotonic_ns"].to_pylist()
        wall = table["received_wall_ns"].to_pylist()
        assert mono[1] - mono[0] == 1_000_000_000
        assert [w - m for w, m in zip(wall, mono, strict=True)] == [WALL0, WALL0]
        assert table["connection_id"].to_pylist() == ["ws-1", "ws-1"]
        assert table["symbol"].to_pylist() == ["BTC/USD", "ETH/USD"]

    async def test_receive_nowait_when_frames_are_ready_records_each_one(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Frames taken without waiting (the WS client's batched reads) are recorded like
        awaited ones, in order; with nothing ready it says WouldBlock and records nothing."""
        recorder = FrameRecorder(tmp_path, session="s")
        transport = RecordingTransport(
            ReplayTransport([book(), book("ETH/USD"), book("SOL/USD")], acknowledge=False),
            recorder,
            wall_clock_ns=lambda: WALL0 + int(trio.current_time() * 1e9),
        )
        async with transport.connect("ws://x") as connection:
            await connection.receive()
            taken = [connection.receive_nowait(), connection.receive_nowait()]  # type: ignore[attr-defined]
            with pytest.raises(trio.WouldBlock):
                connection.receive_nowait()  # type: ignore[attr-defined]
        recorder.close()
        assert [orjson.loads(frame)["data"][0]["symbol"] for frame in taken] == [
            "ETH/USD",
            "SOL/USD",
        ]
        assert only_file(tmp_path)["symbol"].to_pylist() == ["BTC/USD", "ETH/USD", "SOL/USD"]
