"""Reports as text: the figures table the command line prints, and the list of stored ones."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from rich.console import Console
from rich.table import Table

from arbitrade.backtest._report import BacktestReport
from arbitrade.backtest._store import StoredReport

ROWS: Final = (
    ("gross_pnl", "Gross PnL"),
    ("fees", "Fees"),
    ("net_pnl", "Net PnL (cycles, realised)"),
    ("equity_change", "Equity change (marked to mid)"),
    ("opportunities", "Opportunities seen"),
    ("cycles_attempted", "Cycles attempted"),
    ("cycles_completed", "Cycles completed"),
    ("cycles_broken", "Cycles broken"),
    ("unwind_cost", "Unwind cost"),
    ("fill_ratio", "Fill ratio"),
    ("slippage_bps", "Slippage (bps, + is worse)"),
    ("max_drawdown", "Max drawdown"),
    ("max_drawdown_pct", "Max drawdown (%)"),
    ("sharpe", "Sharpe (daily, x sqrt 365)"),
    ("sortino", "Sortino (daily, x sqrt 365)"),
    ("calmar", "Calmar"),
    ("profit_factor", "Profit factor"),
    ("expectancy", "Expectancy per cycle"),
)


def _text(value: Any) -> str:
    return "-" if value is None else str(value)


def _render(table: Table, width: int = 100) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, highlight=False).print(table)
    return buffer.getvalue()


def report_table(report: BacktestReport) -> str:
    """The report's figures as a table (money in the home currency)."""
    figures = report.figures
    replay = report.body.get("replay", {})
    table = Table(title=f"Backtest {report.report_id} ({figures.get('home', '')})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, label in ROWS:
        table.add_row(label, _text(figures.get(key)))
    table.add_row("Frames replayed", _text(replay.get("frames")))
    table.add_row("Simulated seconds", _text(replay.get("simulated_seconds")))
    table.caption = str(figures.get("annualisation", ""))
    return _render(table)


def reports_table(rows: Sequence[StoredReport]) -> str:
    """Stored reports, newest first."""
    table = Table(title="Backtest reports")
    for column in ("id", "stored (UTC)", "strategy", "net PnL", "cycles", "max DD %"):
        table.add_column(column)
    for row in rows:
        stored = datetime.fromtimestamp(row.created_at_wall, UTC).strftime("%Y-%m-%d %H:%M:%S")
        figures = row.figures
        table.add_row(
            row.report_id,
            stored,
            row.strategy,
            f"{_text(figures.get('net_pnl'))} {figures.get('home', '')}",
            f"{_text(figures.get('cycles_completed'))}/{_text(figures.get('cycles_attempted'))}",
            _text(figures.get("max_drawdown_pct")),
        )
    return _render(table, width=120)
