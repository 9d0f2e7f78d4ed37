"""Backtests in a worker process, as the dashboard runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from arbitrade.backtest._store import list_reports
from arbitrade.backtest._worker import check_backtest, run_in_worker
from arbitrade.config import ConfigError

SIM = Path(__file__).resolve().parents[1] / "fixtures" / "recordings" / "sim-6pairs-3min"
VALUES = {
    "events": str(SIM),
    "end": "2024-05-01T10:00:20Z",
    "balances": "USD=10000,BTC=0.2,ETH=3,SOL=50",
}


async def test_worker_when_run_streams_progress_and_stores_the_report(tmp_path: Path) -> None:
    """A worker run reports progress, then the id of the report it stored."""
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    report_id = await run_in_worker(VALUES, tmp_path / "db.duckdb", progress)
    assert seen
    assert seen[-1][0] == seen[-1][1]
    assert [row.report_id for row in list_reports(tmp_path / "db.duckdb")] == [report_id]


async def test_check_when_form_value_bad_names_the_field() -> None:
    """The form's values are checked before anything starts, naming the bad field."""
    with pytest.raises(ConfigError) as caught:
        await check_backtest({**VALUES, "order_latency_ms": "-5"})
    assert caught.value.setting == "backtest.order_latency_ms"
