"""``arbitrade ops restarts``: the restart log as a table, from the database or a JSON log.

    arbitrade ops restarts [--since 1h] [--actor NAME] [--db PATH | --log FILE]

Without ``--db`` or ``--log`` it reads the database named by the settings (``DUCKDB_PATH``).
The running bot holds DuckDB's lock, so while it runs read its JSON log (``--log``) or a
backup (``--db backups/...``); the command says so when the file is locked.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from arbitrade.cli._common import add_config_arguments, settings_or_exit
from arbitrade.cli._db import parse_duration
from arbitrade.ops import (
    Clock,
    Recovery,
    RestartEvent,
    RestartLogError,
    RestartReport,
    read_database,
    read_log_file,
    summarise,
)

_RECOVERY_STYLES = {
    Recovery.RECOVERED: "green",
    Recovery.GAVE_UP: "bold red",
    Recovery.NOT_RESTARTED: "yellow",
    Recovery.PENDING: "yellow",
    Recovery.NO_CRASH: "",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("ops", help="operator tools (the restart log)")
    actions = parser.add_subparsers(dest="ops_command", metavar="ACTION", required=True)
    restarts = actions.add_parser(
        "restarts",
        help="what crashed, why, how often, and whether it recovered",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_arguments(restarts)
    restarts.add_argument(
        "--since",
        type=parse_duration,
        metavar="DURATION",
        help="only the last DURATION (30m, 1h, 2d, ...): before now for a log file, before "
        "the newest event for the database (it keeps the bot's own clock); default: all",
    )
    restarts.add_argument(
        "--actor", metavar="NAME", help="an actor's name or path (a path includes its subtree)"
    )
    source = restarts.add_mutually_exclusive_group()
    source.add_argument("--db", type=Path, help="DuckDB file (default: DUCKDB_PATH)")
    source.add_argument("--log", type=Path, help="a JSON log file (LOG_JSON=true output)")
    restarts.set_defaults(handler=_restarts)


def _read(args: argparse.Namespace) -> tuple[list[RestartEvent], int, str] | None:
    if args.log is not None:
        events, skipped = read_log_file(args.log)
        return events, skipped, str(args.log)
    path = args.db
    if path is None:
        settings = settings_or_exit(args.config, args.env_file)
        if settings is None:
            return None
        path = settings.duckdb_path
    return read_database(path), 0, str(path)


def _restarts(args: argparse.Namespace) -> int:
    try:
        read = _read(args)
    except RestartLogError as error:
        print(error, file=sys.stderr)
        if "lock" in str(error).lower():
            print(
                "the bot is running: use --log with its JSON log, or --db with a backup",
                file=sys.stderr,
            )
        return 1
    if read is None:
        return 1
    events, skipped, source = read
    report = summarise(events, since=args.since, actor=args.actor, skipped_lines=skipped)
    render(report, source, Console(), since=args.since)
    return 0


def _when(report: RestartReport, at: float | None) -> str:
    if at is None:
        return "-"
    if report.clock is Clock.WALL:
        return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%m-%d %H:%M:%S")
    return f"newest-{_duration(report.reference - at)}"


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def render(
    report: RestartReport, source: str, console: Console, *, since: float | None = None
) -> None:
    """Print the report as a rich table with a one-line summary under it."""
    window = "all events" if since is None else f"last {_duration(since)}"
    if report.clock is Clock.TRIO and since is not None:
        window += " before the newest event"
    title = f"Restart log: {source} ({window}, times in UTC)"
    if report.clock is Clock.TRIO:
        title = f"Restart log: {source} ({window}, times on the bot's clock)"
    console.print(title, soft_wrap=True, markup=False)
    if not report.rows:
        console.print(f"no crashes or escalations ({report.events} events read)")
        return
    table = Table()
    table.add_column("actor", no_wrap=True)
    table.add_column("crashes", justify="right", no_wrap=True)
    table.add_column("restarts", justify="right", no_wrap=True)
    table.add_column("why (last crash)", overflow="fold", max_width=60)
    table.add_column("earlier causes", overflow="fold", max_width=40)
    table.add_column("first crash", no_wrap=True)
    table.add_column("last crash", no_wrap=True)
    table.add_column("recovered?", no_wrap=True)
    for row in report.rows:
        earlier = [f"{cause} x{n}" for cause, n in row.errors if cause != row.last_error]
        if row.escalations:
            earlier.insert(0, f"supervisor gave up x{row.escalations}")
        others = ", ".join(earlier) or "-"
        table.add_row(
            row.path,
            str(row.crashes),
            str(row.restarts),
            row.last_error,
            others,
            _when(report, row.first_crash),
            _when(report, row.last_crash),
            f"[{_RECOVERY_STYLES[row.recovery]}]{row.recovery}[/]"
            if _RECOVERY_STYLES[row.recovery]
            else str(row.recovery),
        )
    console.print(table)
    crashed = [r for r in report.rows if r.crashes]
    recovered = sum(1 for r in crashed if r.recovery is Recovery.RECOVERED)
    console.print(
        f"{sum(r.crashes for r in crashed)} crashes of {len(crashed)} actors: {recovered} "
        f"recovered, {len(crashed) - recovered} did not; "
        f"{sum(r.escalations for r in report.rows)} supervisor escalations; "
        f"{report.events} events read"
        + (f", {report.skipped_lines} non-JSON lines skipped" if report.skipped_lines else "")
    )
