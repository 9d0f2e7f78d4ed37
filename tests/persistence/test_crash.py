"""A kill -9 loses at most what was not yet committed; the file reopens cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from arbitrade.persistence import DuckDBWriter

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_reopen_when_writer_process_was_killed_finds_every_committed_batch(
    tmp_path: Path,
) -> None:
    """Every event reported committed before the SIGKILL is there, with no gap or partial
    batch, and the database opens and migrates cleanly."""
    path = tmp_path / "crash.duckdb"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.persistence.crash_child", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    reported = 0
    try:
        assert child.stdout is not None
        for line in child.stdout:  # structlog writes to stdout too: read only our lines
            if not line.startswith("committed "):
                continue
            reported = int(line.split()[1])
            if reported >= 5_000:
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert reported >= 5_000, "the child stopped before committing enough"

    writer = DuckDBWriter(path)
    writer.open()  # replays the write-ahead log; must not raise
    connection = writer.connection
    subjects = [row[0] for row in connection.execute("SELECT subject FROM audit_events").fetchall()]
    numbers = sorted(int(subject) for subject in subjects)
    assert len(numbers) >= reported
    assert numbers == list(range(len(numbers))), "a committed event is missing or doubled"
    batch_rows = connection.execute("SELECT sum(row_count) FROM sink_batches").fetchall()
    assert batch_rows == [(len(numbers),)], "a batch is partly stored"
    writer.close()
