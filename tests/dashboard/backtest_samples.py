"""Helpers of the backtests page tests: a fake worker at the ``run_in_worker`` seam, reports."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import trio

from arbitrade.backtest import BacktestReport, BacktestSettings, store_report
from arbitrade.backtest._report import ANNUALISATION_NOTE
from arbitrade.backtest._settings import settings_as_dict
from arbitrade.dashboard._backtests_runner import BacktestRunner, Progress

REPO = Path(__file__).resolve().parents[2]
KRAKEN_RECORDING = REPO / "tests" / "fixtures" / "recordings" / "kraken-btc-usd"
FEES = REPO / "config" / "fees.toml"


def valid_form(**changes: str) -> dict[str, str]:
    """A form the Kraken BTC/USD recording accepts (absolute paths: the cwd does not matter)."""
    form = {
        "events": str(KRAKEN_RECORDING),
        "balances": "USD=10000, BTC=0.2",
        "capital": "1000",
        "fees_path": str(FEES),
        "parameters.min_profit_bps": "",
        "risk.max_open_cycles": "",
    }
    form.update(changes)
    return form


def make_report(
    tag: str,
    *,
    net_pnl: str = "12.5",
    curve: list[tuple[float, str]] | None = None,
    settings: BacktestSettings | None = None,
) -> BacktestReport:
    """A stored-shaped report with the figures the page shows (no replay behind it)."""
    chosen = settings or BacktestSettings(events=(str(KRAKEN_RECORDING),), seed=3)
    figures: dict[str, Any] = {
        "home": "USD",
        "gross_pnl": "20",
        "fees": "7.5",
        "net_pnl": net_pnl,
        "start_equity": "10000",
        "end_equity": "10012.5",
        "equity_change": "12.5",
        "opportunities": 40,
        "risk_accepted": 4,
        "risk_rejected": 36,
        "rejections_by_reason": {"min_profit": 36},
        "cycles_attempted": 4,
        "cycles_completed": 3,
        "cycles_broken": 1,
        "cycles_by_outcome": {"broken_unwound": 1, "completed": 3},
        "unwind_cost": "0.4",
        "orders": 12,
        "fills": 11,
        "fill_ratio": 0.95,
        "slippage_bps": 0.3,
        "max_drawdown": "3.25",
        "max_drawdown_pct": 0.0325,
        "sharpe": None,
        "sortino": None,
        "calmar": None,
        "profit_factor": 4.2,
        "expectancy": "3.125",
        "annualisation": ANNUALISATION_NOTE,
    }
    points = curve or [(1_714_557_600.0 + i, str(10_000 + i % 7)) for i in range(50)]
    body: dict[str, Any] = {
        "version": 1,
        "code_version": "test",
        "settings": settings_as_dict(chosen),
        "inputs": [{"file": "day=2023-07-30/channel=book/x.parquet", "sha256": "ab" * 32}],
        "replay": {"frames": 512, "simulated_seconds": 60.0},
        "figures": figures,
        "decisions_sha256": "0" * 64,
        "equity_curve": [[at, equity] for at, equity in points],
        "exposure": [[at, "0"] for at, _ in points],
    }
    report_id = "bt-" + hashlib.sha256(tag.encode()).hexdigest()[:16]
    return BacktestReport(report_id, body)


@attrs.define
class FakeWorker:
    """Stands in for ``run_in_worker``: reports scripted progress, then waits to be released.

    On release it stores ``report`` (as the real worker does) and returns its id, or raises
    ``error``. ``calls`` keeps each call's values and database; ``cancelled`` says whether the
    task was cancelled while it ran.
    """

    steps: list[tuple[int, int]] = attrs.field(factory=lambda: [(1024, 4096)])
    report: BacktestReport | None = None
    error: BaseException | None = None
    between: trio.Event | None = None
    """When set, awaited between the first and the second progress step."""
    release: trio.Event = attrs.field(factory=trio.Event)
    calls: list[tuple[dict[str, Any], Path]] = attrs.field(factory=list)
    cancelled: bool = False

    async def __call__(
        self, values: Mapping[str, Any], database: Path, on_progress: Progress | None
    ) -> str:
        self.calls.append((dict(values), database))
        try:
            for number, (done, total) in enumerate(self.steps):
                if number == 1 and self.between is not None:
                    await self.between.wait()
                if on_progress is not None:
                    await on_progress(done, total)
            await self.release.wait()
        except trio.Cancelled:
            self.cancelled = True
            raise
        if self.error is not None:
            raise self.error
        report = self.report or make_report("fake-worker")
        store_report(database, report)
        return report.report_id


async def until_ended(runner: BacktestRunner) -> None:
    """Wait until the running backtest ended and the listing was read again."""
    seen = runner.reports_version
    while runner.reports_version == seen:
        await runner.wait_changed(runner.version + runner.reports_version)
