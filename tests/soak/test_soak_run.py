"""A short real soak: the whole bot in sim mode with faults firing, judged end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from arbitrade.soak import FaultKind, SoakOptions, Verdict, run_soak


@pytest.mark.slow
async def test_soak_when_run_briefly_fires_faults_and_judges_every_check(tmp_path: Path) -> None:
    """Faults fire, each check gives a verdict with a reason, and the database is read."""
    kinds = (
        FaultKind.DROP_CONNECTIONS,
        FaultKind.MAINTENANCE,
        FaultKind.GRAPH_ACTOR_CRASH,
        FaultKind.SLOW_DASHBOARD_CLIENT,
    )
    options = SoakOptions(
        minutes=0.75, seed=2, kinds=kinds, workdir=tmp_path, quiet_seconds=2.0, warmup_seconds=20.0
    )
    report = await run_soak(options)
    assert report.records, "no fault fired"
    assert {c.name for c in report.checks} >= {"faults recovered", "rows lost", "orders doubled"}
    for check in report.checks:
        assert check.detail, check
        if check.verdict is Verdict.NOT_MEASURABLE:
            assert check.detail.startswith("not measurable: ")
    drops = [r for r in report.records if r.kind is FaultKind.DROP_CONNECTIONS]
    assert all(r.recovered for r in drops if r.measurable), drops
    rows = next(c for c in report.checks if c.name == "rows lost")
    assert rows.verdict is Verdict.PASS, rows
