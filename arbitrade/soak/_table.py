"""The soak's verdict as rich tables: faults by kind, then the checks, then the figures."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from arbitrade.soak._checks import Check, KindSummary, Verdict

_STYLE = {Verdict.PASS: "green", Verdict.FAIL: "bold red", Verdict.NOT_MEASURABLE: "yellow"}


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def faults_table(summaries: Sequence[KindSummary]) -> Table:
    """One row per fault kind: injected, recovered, not measurable, seen in the logs, p50, p99."""
    table = Table(title="Faults by kind (time to recover in seconds, from the end of the fault)")
    for header in ("kind", "injected", "recovered", "not measurable", "in logs", "p50", "p99"):
        table.add_column(header, justify="left" if header == "kind" else "right")
    for row in summaries:
        table.add_row(
            row.kind.value,
            str(row.injected),
            str(row.recovered),
            str(row.not_measurable),
            str(row.visible),
            _seconds(row.p50),
            _seconds(row.p99),
        )
    return table


def checks_table(checks: Sequence[Check], figures: Sequence[tuple[str, str]] = ()) -> Table:
    """The checks with their verdicts, then plain figures."""
    table = Table(title="Checks")
    table.add_column("check")
    table.add_column("verdict")
    table.add_column("value", justify="right")
    table.add_column("detail", overflow="fold")
    for check in checks:
        style = _STYLE[check.verdict]
        table.add_row(check.name, f"[{style}]{check.verdict.value}[/]", check.value, check.detail)
    for name, value in figures:
        table.add_row(name, "", value, "")
    return table


def print_report(
    console: Console,
    summaries: Sequence[KindSummary],
    checks: Sequence[Check],
    figures: Sequence[tuple[str, str]],
) -> None:
    """Print both tables."""
    if summaries:
        console.print(faults_table(summaries))
    console.print(checks_table(checks, figures))
