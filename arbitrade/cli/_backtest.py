"""``arbitrade backtest``: replay recorded frames through the bot; list and show reports.

``arbitrade backtest --config FILE`` (or flags) runs headless with a progress bar, prints the
report table and stores the report; ``arbitrade backtest list`` and ``arbitrade backtest show
ID`` read stored reports. ``--json`` prints machine-readable output instead of tables. A bad
configuration prints one line (``configuration error: backtest.<field>: ...``) and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from arbitrade.cli._sweep import register_sweep
from arbitrade.config import ConfigError, load_settings
from arbitrade.logs import configure_logging

# flag -> settings field; each is optional and wins over the file
_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("--events", "events", "recorded frames: comma separated files, folders or globs"),
    ("--start", "start", "first traded instant, ISO 8601 (default: recording start)"),
    ("--end", "end", "end of the replay, ISO 8601 (default: recording end)"),
    ("--symbols", "symbols", "comma separated pairs (default: every recorded pair)"),
    ("--home", "home", "home currency (default USD)"),
    ("--balances", "balances", "starting balances, ASSET=amount comma separated"),
    ("--capital", "capital", "most home currency per cycle"),
    ("--fee-profile", "fee_profile", "kraken, custom or a profile of config/fees.toml"),
    ("--fee-volume", "fee_volume", "30-day volume selecting the fee tier"),
    ("--maker-fee-bps", "maker_fee_bps", "maker fee of the custom profile"),
    ("--taker-fee-bps", "taker_fee_bps", "taker fee of the custom profile"),
    ("--latency-model", "latency_model", "fixed, uniform, lognormal or recorded"),
    ("--latency-source", "latency_source", "orders rows of a run (DuckDB file or Parquet)"),
    ("--order-latency-ms", "order_latency_ms", "order latency (fixed, centre or median)"),
    ("--latency-jitter-ms", "latency_jitter_ms", "spread of the latency model"),
    ("--response-latency-ms", "response_latency_ms", "latency of the venue's answers"),
    ("--fill-model", "fill_model", "depth or top"),
    ("--seed", "seed", "seed of every random draw"),
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "backtest",
        help="replay recorded frames through the bot and report; list and show reports",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, help="backtest TOML file ([backtest] table)")
    for flag, _field, help_text in _FLAGS:
        parser.add_argument(flag, help=help_text)
    _common(parser)
    parser.add_argument("--no-store", action="store_true", help="do not store the report")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_run)
    commands = parser.add_subparsers(dest="backtest_command", metavar="{list,show,sweep}")
    listing = commands.add_parser("list", help="stored reports, newest first")
    listing.add_argument("--limit", type=int, default=20)
    _common(listing)
    listing.set_defaults(handler=_list)
    show = commands.add_parser("show", help="one stored report")
    show.add_argument("report_id", help="a report id (or its first characters)")
    _common(show)
    show.set_defaults(handler=_show)
    register_sweep(commands)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, help="DuckDB file (default: DUCKDB_PATH)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


def _database(args: argparse.Namespace) -> Path | None:
    if args.db is not None:
        path: Path = args.db
        return path
    try:
        return load_settings().duckdb_path
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return None


def _run(args: argparse.Namespace) -> int:
    from arbitrade.backtest import load_backtest_settings, prepare_inputs
    from arbitrade.backtest._errors import BacktestError
    from arbitrade.backtest._run import run_backtest
    from arbitrade.backtest._settings import backtest_settings_from
    from arbitrade.backtest._store import store_report
    from arbitrade.backtest._table import report_table

    overrides: dict[str, Any] = {
        field: getattr(args, flag[2:].replace("-", "_"))
        for flag, field, _ in _FLAGS
        if getattr(args, flag[2:].replace("-", "_")) is not None
    }
    configure_logging(level="WARNING")
    try:
        if args.config is not None:
            settings = load_backtest_settings(args.config, overrides)
        else:
            settings = backtest_settings_from(overrides)
        inputs = prepare_inputs(settings)
    except ConfigError as error:
        return _fail(f"configuration error: {error}")
    database = None if args.no_store else _database(args)
    if database is None and not args.no_store:
        return 1
    try:
        if args.quiet or args.json:
            report = run_backtest(inputs)
        else:
            report = _with_progress(inputs, run_backtest)
    except ConfigError as error:  # found only when the run builds its models (fees, latency)
        return _fail(f"configuration error: {error}")
    if database is not None:
        try:
            store_report(database, report)
        except BacktestError as error:
            print(report.as_json().decode() if args.json else report_table(report))
            return _fail(f"report not stored: {error}")
    print(report.as_json().decode() if args.json else report_table(report))
    return 0


def _with_progress(inputs: Any, run: Any) -> Any:
    """Run with a bar on stderr (the report goes to stdout): events replayed of total,
    rate and ETA, redrawn four times a second whatever the run's reporting cadence."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn
    from rich.text import Text

    from arbitrade.backtest._progress import ProgressMeter, format_progress

    total = len(inputs.frames)
    meter = ProgressMeter(total)

    class MeterColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(format_progress(meter.snapshot()))

    columns = (TextColumn("replaying"), BarColumn(), MeterColumn())
    console = Console(stderr=True)
    with Progress(*columns, console=console, transient=True, refresh_per_second=4) as progress:
        task = progress.add_task("replay", total=total)

        def update(done: int, total: int) -> None:
            meter.update(done, total)
            progress.update(task, completed=done, total=total)

        return run(inputs, progress=update)


def _list(args: argparse.Namespace) -> int:
    from arbitrade.backtest._errors import BacktestError
    from arbitrade.backtest._store import list_reports
    from arbitrade.backtest._table import reports_table

    database = _database(args)
    if database is None:
        return 1
    try:
        rows = list_reports(database, limit=args.limit)
    except BacktestError as error:
        return _fail(str(error))
    if args.json:
        data = [
            {
                "report_id": row.report_id,
                "created_at_wall": row.created_at_wall,
                "strategy": row.strategy,
                "figures": row.figures,
            }
            for row in rows
        ]
        print(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())
    else:
        print(reports_table(rows))
    return 0


def _show(args: argparse.Namespace) -> int:
    from arbitrade.backtest._errors import BacktestError
    from arbitrade.backtest._store import load_report
    from arbitrade.backtest._table import report_table

    database = _database(args)
    if database is None:
        return 1
    try:
        report = load_report(database, args.report_id)
    except BacktestError as error:
        return _fail(str(error))
    print(report.as_json().decode() if args.json else report_table(report))
    return 0
