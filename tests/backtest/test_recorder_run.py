"""`arbitrade run --record DIR`: the bot records every raw frame its feeds receive.

The bot runs as ``arbitrade run`` wires it (``run_app(record=...)``, sim mode, paper venue,
the real clock) against a test-served loopback simulator; once the feeds have published
150 book tops it is stopped as SIGTERM stops it. The folder it leaves is then read
back with pyarrow and DuckDB, and loaded and replayed as backtest input: the replayed feed
applies every recorded book frame with no checksum mismatch, so no book frame is missing.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import structlog
import trio

from actors import Lossless, System
from arbitrade.app import run_app
from arbitrade.backtest import backtest_settings_from, prepare_inputs
from arbitrade.backtest._run import run_backtest
from arbitrade.market.feeds import FeedStatistics, GetFeedStatistics
from arbitrade.messages import TOPIC_BOOK_TOP
from arbitrade.sim import serve_simulator
from tests.integration import scenario

TOPS_BEFORE_STOP = 150
RUN_LIMIT_SECONDS = 60.0
FEES = Path(__file__).resolve().parents[2] / "config" / "fees.toml"


@attrs.frozen
class RecordedRun:
    """What the test saw of one recorded run."""

    folder: Path
    feed: FeedStatistics
    """The live book feed's counters just before the stop (more frames may follow)."""
    recorder_frames: int
    """Frames the recorder says it took (its ``recorder.closed`` event)."""
    wall_ns: tuple[int, int]
    """Wall clock just before the start and just after the stop."""
    trio_ns: tuple[int, int]
    """Trio clock just before the start and just after the stop."""


async def _run_and_record(folder: Path, database: Path) -> tuple[FeedStatistics, int, int]:
    async with trio.open_nursery() as outer:
        running: Any = await outer.start(serve_simulator, scenario.sim_config())
        trio_start = int(trio.current_time() * 1e9)
        with trio.fail_after(RUN_LIMIT_SECONDS):
            async with trio.open_nursery() as bot:
                system: System = await bot.start(
                    partial(
                        run_app,
                        scenario.settings(database),
                        scenario.components(),
                        simulator=running,
                        record=folder,
                    )
                )
                with system.bus.subscribe(TOPIC_BOOK_TOP, Lossless(100_000)) as tops:
                    seen = 0
                    async for _ in tops:
                        seen += 1
                        if seen >= TOPS_BEFORE_STOP:
                            break
                feed = await system.registry.lookup("root/market/feed.book").ask(
                    GetFeedStatistics()
                )
                bot.cancel_scope.cancel()  # as SIGTERM does; the recorder flushes after
        trio_end = int(trio.current_time() * 1e9)
        outer.cancel_scope.cancel()
    assert isinstance(feed, FeedStatistics)
    return feed, trio_start, trio_end


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> RecordedRun:
    """One recorded run shared by the checks below (it takes several seconds)."""
    base = tmp_path_factory.mktemp("recorded_run")
    folder = base / "recording"
    wall_start = datetime.now(UTC).timestamp()
    with structlog.testing.capture_logs() as logs:
        feed, trio_start, trio_end = trio.run(_run_and_record, folder, base / "arbitrade.duckdb")
    wall_end = datetime.now(UTC).timestamp()
    closed = [entry for entry in logs if entry["event"] == "recorder.closed"]
    assert len(closed) == 1, [entry["event"] for entry in logs if "recorder" in entry["event"]]
    return RecordedRun(
        folder=folder,
        feed=feed,
        recorder_frames=int(closed[0]["frames"]),
        wall_ns=(int(wall_start * 1e9), int(wall_end * 1e9)),
        trio_ns=(trio_start, trio_end),
    )


def _files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.parquet"))


def _table(folder: Path) -> pa.Table:
    tables = []
    for path in _files(folder):
        table = pq.read_table(path)
        channel = path.parent.name.removeprefix("channel=")
        tables.append(table.append_column("channel", pa.array([channel] * len(table))))
    return pa.concat_tables(tables)


@pytest.mark.slow
class TestRunRecord:
    def test_record_when_run_stops_partitions_files_by_day_and_channel(
        self, recorded: RecordedRun
    ) -> None:
        """Every file lies under day=YYYY-MM-DD/channel=NAME/, on the days the run spanned."""
        files = _files(recorded.folder)
        assert files
        days = {
            datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d") for ns in recorded.wall_ns
        }
        channels = set()
        for path in files:
            relative = path.relative_to(recorded.folder).parts
            assert len(relative) == 3, relative
            day, channel, _ = relative
            assert re.fullmatch(r"day=\d{4}-\d{2}-\d{2}", day)
            assert day.removeprefix("day=") in days
            assert channel.startswith("channel=")
            channels.add(channel.removeprefix("channel="))
        assert {"book", "instrument", "ticker"} <= channels
        assert "trade" not in channels  # opt-in (MarketSettings.channels): not subscribed

    def test_record_when_run_stops_writes_zstd_columns_with_ns_receive_times(
        self, recorded: RecordedRun
    ) -> None:
        """Columns: session, seq, wall and monotonic receive ns (int64), connection id,
        symbol, raw frame; every column chunk zstd-compressed."""
        for path in _files(recorded.folder):
            parquet = pq.ParquetFile(path)
            schema = parquet.schema_arrow
            assert schema.names == [
                "session",
                "seq",
                "received_wall_ns",
                "received_monotonic_ns",
                "connection_id",
                "symbol",
                "payload",
            ]
            assert schema.field("received_wall_ns").type == pa.int64()
            assert schema.field("received_monotonic_ns").type == pa.int64()
            metadata = parquet.metadata
            for group in range(metadata.num_row_groups):
                for column in range(metadata.num_columns):
                    assert metadata.row_group(group).column(column).compression == "ZSTD"

    def test_record_when_run_stops_times_every_frame_within_the_run(
        self, recorded: RecordedRun
    ) -> None:
        """Wall times lie between the run's start and stop (Unix ns), monotonic times on the
        Trio clock likewise; connection ids are ws-N; seq counts the frames 1..N."""
        table = _table(recorded.folder)
        wall = table["received_wall_ns"].to_pylist()
        mono = table["received_monotonic_ns"].to_pylist()
        assert recorded.wall_ns[0] <= min(wall) <= max(wall) <= recorded.wall_ns[1]
        assert recorded.trio_ns[0] <= min(mono) <= max(mono) <= recorded.trio_ns[1]
        assert all(re.fullmatch(r"ws-\d+", c) for c in table["connection_id"].to_pylist())
        assert sorted(table["seq"].to_pylist()) == list(range(1, len(table) + 1))

    def test_record_when_run_stops_keeps_every_frame_received_as_sent(
        self, recorded: RecordedRun
    ) -> None:
        """As many rows as frames the recorder took; each row's payload is the raw frame of
        the channel its folder names (responses under method-<name>)."""
        table = _table(recorded.folder)
        assert len(table) == recorded.recorder_frames
        for channel, payload in zip(
            table["channel"].to_pylist(), table["payload"].to_pylist(), strict=True
        ):
            frame = orjson.loads(payload)
            expected = frame.get("channel") or f"method-{frame.get('method')}"
            assert expected == channel

    def test_record_when_run_stops_holds_every_book_frame_the_feed_applied(
        self, recorded: RecordedRun
    ) -> None:
        """At least as many book rows as the live feed had applied before the stop."""
        channels = Counter(_table(recorded.folder)["channel"].to_pylist())
        assert recorded.feed.book_messages > 0
        assert channels["book"] >= recorded.feed.book_messages

    def test_duckdb_when_reading_the_folder_sees_every_row_by_channel(
        self, recorded: RecordedRun
    ) -> None:
        """DuckDB reads the files directly with the Hive partitions as columns."""
        pattern = str(recorded.folder / "**" / "*.parquet")
        with duckdb.connect() as connection:
            rows = connection.execute(
                "SELECT channel, count(*) FROM read_parquet(?, hive_partitioning = true) "
                "GROUP BY channel",
                [pattern],
            ).fetchall()
        assert dict(rows) == dict(Counter(_table(recorded.folder)["channel"].to_pylist()))

    def test_backtest_when_replaying_the_recording_applies_every_book_frame_cleanly(
        self, recorded: RecordedRun
    ) -> None:
        """The folder loads as backtest input (the scenario's pairs) and replays with no
        checksum mismatch, applying every recorded book frame: none is missing."""
        balances = {"USD": "10000", "BTC": "0.2", "ETH": "3", "USDT": "10000"}
        settings = backtest_settings_from(
            {"events": [str(recorded.folder)], "fees_path": str(FEES), "balances": balances}
        )
        inputs = prepare_inputs(settings)
        assert set(inputs.summary.symbols) == set(scenario.SYMBOLS)
        book_rows = Counter(_table(recorded.folder)["channel"].to_pylist())["book"]
        assert inputs.frames.channels.count("book") == book_rows
        feed = run_backtest(inputs).body["replay"]["feed"]
        assert feed["mismatches"] == 0
        assert feed["book_messages"] == book_rows
