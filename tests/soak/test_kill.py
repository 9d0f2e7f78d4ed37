"""One SIGKILL-and-reopen cycle of ``arbitrade run`` against a simulator in this process."""

from __future__ import annotations

from pathlib import Path

from arbitrade.soak import Verdict
from arbitrade.soak._kill import run_kill_cycles


def test_kill_cycle_when_bot_is_killed_during_writes_leaves_a_whole_database(
    tmp_path: Path,
) -> None:
    """After a SIGKILL the file opens, migrations are intact, committed batches are whole."""
    report = run_kill_cycles(1, seed=3, workdir=tmp_path, alive=(0.5, 1.5))
    verdicts = {check.name: check for check in report.checks}
    failed = [c for c in report.checks if c.verdict is Verdict.FAIL]
    assert not failed, failed
    assert (tmp_path / "kills.duckdb").exists()
    assert verdicts["kill: database opens"].value == "1 of 1"
    assert verdicts["kill: nonces increase"].verdict is Verdict.PASS
