"""``arbitrade ops restarts``: the restart log read back from a JSON log or the database,
summarised per actor (crashes, causes, recovery) and printed as a table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest
import structlog
import trio

import actors
import actors.testing
from actors import ChildCrashed, ChildRestarted, ChildStarted, ChildStopped, SupervisorEscalated
from arbitrade.cli import main
from arbitrade.ops import (
    Clock,
    DatabaseUnreadable,
    LogFileUnreadable,
    Recovery,
    RestartEvent,
    read_database,
    read_log_file,
    summarise,
)
from arbitrade.persistence import mapping_for, open_database

NOW = 1_790_000_000.0


def line(event: str, path: str, seconds_ago: float, **fields: Any) -> bytes:
    """One structlog JSON line as ``LOG_JSON=true`` writes it."""
    stamp = dt.datetime.fromtimestamp(NOW - seconds_ago, dt.UTC).isoformat()
    record = {
        "event": event,
        "path": path,
        "name": path.rsplit("/", 1)[-1],
        "at": 1000.0 - seconds_ago,
        "level": "warning" if event == "actor.crashed" else "info",
        "timestamp": stamp.replace("+00:00", "Z"),
        **fields,
    }
    return orjson.dumps(record)


def crash(path: str, seconds_ago: float, kind: str = "ValueError", message: str = "boom") -> bytes:
    return line(
        "actor.crashed", path, seconds_ago, error_type=kind, error_message=message, phase="run"
    )


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    lines = [
        crash("root/feeds/book", 7200, "OldError", "long ago"),  # outside --since 1h
        line("actor.started", "root/feeds/book", 3000, kind="actor"),
        b"2026-01-01 12:00:00 [info     ] dashboard.listening  url=http://127.0.0.1:9090/",
        crash("root/feeds/book", 1800, "KrakenConnectionClosed", "code 1006"),
        line("actor.restarted", "root/feeds/book", 1799, restart_count=1, backoff=0.5),
        crash("root/feeds/book", 1200, "KrakenConnectionClosed", "code 1006"),
        line("actor.restarted", "root/feeds/book", 1199, restart_count=2, backoff=1.0),
        crash("root/feeds/book", 600, "ChecksumError", "book BTC/USD"),
        line("actor.restarted", "root/feeds/book", 599, restart_count=3, backoff=2.0),
        line("http.request", "root/dashboard", 500),
        crash("root/trading/risk_gate", 300, "KeyError", "'USD'"),
        line(
            "supervisor.escalated",
            "root/trading",
            299,
            max_restarts=3,
            within=5.0,
            error_type="KeyError",
            error_message="'USD'",
        ),
        crash("root/recorder", 100, "OSError", "disk full"),
        line("actor.stopped", "root/recorder", 99, reason="exited", forced=False),
    ]
    path = tmp_path / "arbitrade.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["ops", "restarts", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "220")


class TestReadLogFile:
    def test_read_log_file_when_lines_mix_kinds_keeps_restart_events_only(
        self, log_file: Path
    ) -> None:
        """Only restart-log events are read; non-JSON lines are skipped and counted."""
        events, skipped = read_log_file(log_file)
        assert skipped == 1
        assert {e.event for e in events} == {
            "actor.crashed",
            "actor.started",
            "actor.restarted",
            "actor.stopped",
            "supervisor.escalated",
        }
        assert all(e.clock is Clock.WALL for e in events)

    def test_read_log_file_when_missing_raises(self, tmp_path: Path) -> None:
        """A missing file raises LogFileUnreadable naming the path."""
        with pytest.raises(LogFileUnreadable, match=r"nope\.log"):
            read_log_file(tmp_path / "nope.log")


class TestSummarise:
    def test_summarise_when_actor_crashed_and_restarted_counts_and_recovers(
        self, log_file: Path
    ) -> None:
        """Crashes, restarts and causes are counted per path; a restart means recovered."""
        events, _ = read_log_file(log_file)
        report = summarise(events, since=3600, now=NOW)
        book = next(r for r in report.rows if r.path == "root/feeds/book")
        assert (book.crashes, book.restarts) == (3, 3)
        assert book.errors[0] == ("KrakenConnectionClosed: code 1006", 2)
        assert book.last_error == "ChecksumError: book BTC/USD"
        assert book.recovery is Recovery.RECOVERED

    def test_summarise_when_since_excludes_old_events_ignores_them(self, log_file: Path) -> None:
        """Events older than the window do not count."""
        events, _ = read_log_file(log_file)
        everything = summarise(events, now=NOW)
        window = summarise(events, since=3600, now=NOW)
        book_all = next(r for r in everything.rows if r.path == "root/feeds/book")
        assert book_all.crashes == 4
        assert not any("OldError" in cause for r in window.rows for cause, _ in r.errors)

    def test_summarise_when_supervisor_escalates_after_crash_says_gave_up(
        self, log_file: Path
    ) -> None:
        """A crash followed by its supervisor's escalation did not recover."""
        events, _ = read_log_file(log_file)
        rows = {r.path: r for r in summarise(events, now=NOW).rows}
        assert rows["root/trading/risk_gate"].recovery is Recovery.GAVE_UP
        assert rows["root/trading"].escalations == 1
        assert rows["root/recorder"].recovery is Recovery.NOT_RESTARTED

    def test_summarise_when_escalated_supervisor_is_restarted_says_recovered(self) -> None:
        """If the parent restarts the supervisor and the actor starts again, it recovered."""
        events = [
            RestartEvent("actor.crashed", "root/a/b", 1.0, Clock.TRIO, "E", "x"),
            RestartEvent("supervisor.escalated", "root/a", 2.0, Clock.TRIO),
            RestartEvent("actor.started", "root/a/b", 3.0, Clock.TRIO),
        ]
        (row, _) = summarise(events).rows
        assert row.path == "root/a/b"
        assert row.recovery is Recovery.RECOVERED

    def test_summarise_when_nothing_follows_crash_says_pending(self) -> None:
        """A crash with nothing after it (backing off, or the log ends) is not yet restarted."""
        events = [RestartEvent("actor.crashed", "root/a", 1.0, Clock.TRIO, "E", "x")]
        assert summarise(events).rows[0].recovery is Recovery.PENDING

    @pytest.mark.parametrize("actor", ["book", "root/feeds", "root/feeds/book"])
    def test_summarise_when_actor_filter_given_keeps_name_path_or_subtree(
        self, log_file: Path, actor: str
    ) -> None:
        """--actor matches a child's name, its path, or an ancestor's path."""
        events, _ = read_log_file(log_file)
        assert [r.path for r in summarise(events, actor=actor, now=NOW).rows] == ["root/feeds/book"]

    def test_summarise_when_trio_clock_measures_window_from_newest_event(self) -> None:
        """Without wall time, --since counts back from the newest event."""
        events = [
            RestartEvent("actor.crashed", "root/old", 10.0, Clock.TRIO, "E", "x"),
            RestartEvent("actor.crashed", "root/new", 5000.0, Clock.TRIO, "E", "y"),
        ]
        report = summarise(events, since=60)
        assert [r.path for r in report.rows] == ["root/new"]
        assert report.reference == 5000.0


class TestCommand:
    def test_ops_restarts_when_log_given_prints_table(
        self, log_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The table names each actor that crashed, why, how often and whether it recovered."""
        monkeypatch.setattr("arbitrade.ops._restarts.dt.datetime", _FrozenDatetime)
        code, out, _ = run_cli(["--log", str(log_file), "--since", "1h"], capsys)
        assert code == 0
        book_row = next(row for row in out.splitlines() if "root/feeds/book" in row)
        assert "3" in book_row
        assert "ChecksumError: book BTC/USD" in book_row
        assert "recovered" in book_row
        assert "gave up" in next(r for r in out.splitlines() if "root/trading/risk_gate" in r)
        assert "OldError" not in out
        assert "1 non-JSON lines skipped" in out

    def test_ops_restarts_when_no_crash_says_so(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A log without crashes prints that there were none."""
        path = tmp_path / "quiet.log"
        path.write_bytes(line("actor.started", "root/a", 10) + b"\n")
        code, out, _ = run_cli(["--log", str(path)], capsys)
        assert code == 0
        assert "no crashes or escalations (1 events read)" in out

    def test_ops_restarts_when_log_missing_exits_1(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A missing log file is one line on stderr and exit code 1."""
        code, _, err = run_cli(["--log", str(tmp_path / "none.log")], capsys)
        assert code == 1
        assert "cannot read the log file" in err

    def test_ops_restarts_when_db_given_reads_supervisor_events(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Rows written by the persistence mapping are read back and summarised."""
        path = tmp_path / "arbitrade.duckdb"
        mapping = mapping_for(actors.SupervisorEvent)
        assert mapping is not None
        events: list[actors.SupervisorEvent] = [
            ChildStarted("root/feeds/book", "book", 100.0),
            ChildCrashed("root/feeds/book", "book", 200.0, "ValueError", "bad frame", 0),
            ChildRestarted("root/feeds/book", "book", 201.0, 1, 0.5),
            ChildCrashed("root/trading/executor", "executor", 300.0, "VenueError", "down", 0),
            SupervisorEscalated("root/trading", "trading", 301.0, 3, 5.0, "VenueError", "down"),
            ChildStopped("root/feeds/book", "book", 400.0, "shutdown"),
        ]
        with open_database(path) as connection:
            placeholders = ", ".join("?" * len(mapping.table.column_names))
            connection.executemany(
                f"INSERT INTO {mapping.table.name} VALUES ({placeholders})",
                [mapping.to_row(e) for e in events],
            )
        rows = {r.path: r for r in summarise(read_database(path)).rows}
        assert rows["root/feeds/book"].recovery is Recovery.RECOVERED
        assert rows["root/trading/executor"].recovery is Recovery.GAVE_UP
        code, out, _ = run_cli(["--db", str(path), "--actor", "executor"], capsys)
        assert code == 0
        assert "VenueError: down" in out
        assert "root/feeds/book" not in out
        assert "bot's clock" in out

    def test_ops_restarts_when_db_missing_exits_1(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A missing database is reported, not created."""
        path = tmp_path / "none.duckdb"
        code, _, err = run_cli(["--db", str(path)], capsys)
        assert code == 1
        assert "no such file" in err
        assert not path.exists()

    def test_read_database_when_table_missing_raises(self, tmp_path: Path) -> None:
        """A DuckDB file without the restart log table is refused with a reason."""
        import duckdb

        path = tmp_path / "other.duckdb"
        duckdb.connect(str(path)).close()
        with pytest.raises(DatabaseUnreadable, match="supervisor_events"):
            read_database(path)


class _FrozenDatetime(dt.datetime):
    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _FrozenDatetime:
        return cls.fromtimestamp(NOW, tz)


class _Flaky(actors.Actor[Any]):
    async def receive(self, message: Any) -> object:
        return message


async def test_ops_restarts_when_reading_real_actor_events_finds_the_crash(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    """Events logged by a real supervisor (a crash, then a restart) read back as recovered."""
    with structlog.testing.capture_logs() as captured:
        async with actors.testing.open_harness() as harness:
            await harness.start(_Flaky, name="flaky")
            await harness.crash("root/flaky", ValueError("injected"))
            await harness.expect_event(actors.ChildRestarted, within=5.0)
    stamp = dt.datetime.fromtimestamp(NOW, dt.UTC).isoformat()
    path = tmp_path / "real.log"
    path.write_bytes(b"\n".join(orjson.dumps({**c, "timestamp": stamp}) for c in captured))
    events, _ = read_log_file(path)
    (row,) = summarise(events, now=NOW).rows
    assert (row.path, row.crashes, row.restarts) == ("root/flaky", 1, 1)
    assert row.last_error == "ValueError: injected"
    assert row.recovery is Recovery.RECOVERED
