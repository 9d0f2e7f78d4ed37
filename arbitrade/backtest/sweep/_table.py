"""Sweeps as text: the ranked points the command line prints, and the list of stored sweeps."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
from rich.console import Console
from rich.table import Table

from arbitrade.backtest.sweep._store import PointRow, SweepOverview


def _render(table: Table, width: int = 120) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None, highlight=False).print(table)
    return buffer.getvalue()


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _when(at_wall: float) -> str:
    return datetime.fromtimestamp(at_wall, UTC).strftime("%Y-%m-%d %H:%M:%S")


def points_table(overview: SweepOverview, points: Sequence[PointRow], *, title: str = "") -> str:
    """Points best first: rank, objective value, each parameter, report id or error."""
    table = Table(
        title=title
        or (
            f"Sweep {overview.sweep_id} ({overview.method}, {overview.status}):"
            f" {overview.done} done, {overview.failed} failed of {overview.total_points}"
        )
    )
    names = sorted({name for point in points for name in point.params})
    table.add_column("#", justify="right")
    table.add_column(overview.objective, justify="right")
    for name in names:
        table.add_column(name, justify="right")
    table.add_column("report / error")
    table.add_column("run s", justify="right")
    for rank, point in enumerate(points, start=1):
        table.add_row(
            str(rank) if point.status == "done" else "x",
            _value(point.objective_value),
            *(str(point.params.get(name, "")) for name in names),
            point.report_id or (point.error or "")[:60],
            f"{point.run_seconds:.2f}",
        )
    return _render(table)


def sweeps_table(sweeps: Sequence[SweepOverview]) -> str:
    """Stored sweeps, newest first, with their best point."""
    table = Table(title="Sweeps")
    for column in ("id", "created (UTC)", "method", "status", "points", "objective", "best"):
        table.add_column(column)
    for sweep in sweeps:
        best = sweep.best[0] if sweep.best else None
        table.add_row(
            sweep.sweep_id,
            _when(sweep.created_at_wall),
            sweep.method,
            sweep.status,
            f"{sweep.done} done, {sweep.failed} failed of {sweep.total_points}",
            sweep.objective,
            "-"
            if best is None
            else f"{_value(best.objective_value)} {dict(best.params)} ({best.report_id})",
        )
    return _render(table, width=160)


def point_as_dict(point: PointRow) -> dict[str, Any]:
    """A point as JSON-ready data."""
    data = attrs.asdict(point)
    data["params"] = dict(point.params)
    return data


def overview_as_dict(sweep: SweepOverview) -> dict[str, Any]:
    """A sweep overview as JSON-ready data."""
    data = attrs.asdict(sweep, recurse=False)
    data["best"] = [point_as_dict(point) for point in sweep.best]
    return data
