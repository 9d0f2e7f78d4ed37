"""``arbitrade backtest sweep``: many backtests of one recording over a parameter space.

``arbitrade backtest sweep --config config/sweep.example.toml`` runs every point of the sweep
file's space on a local process pool (one worker per core; ``--workers N``), or on a Dask
cluster with ``--scheduler tcp://HOST:PORT``, with a progress bar of points done, and prints
the best points by the objective. Each point's report is stored in ``backtest_reports`` and the
point in ``sweep_points``. Ctrl-C stops it; ``--resume SWEEP_ID`` runs what is left (finished
points are not run again; ``--retry-failed`` runs the failed ones again).
``arbitrade backtest sweep list`` lists stored sweeps with their best point; ``arbitrade
backtest sweep show SWEEP_ID`` prints every point of one, best first. ``--json`` prints
machine-readable output. A bad sweep file prints one line and exits 1; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from arbitrade.config import ConfigError, load_settings
from arbitrade.logs import configure_logging

# flag -> [sweep] key; each is optional and wins over the file
_SWEEP_FLAGS: tuple[tuple[str, str, type, str], ...] = (
    ("--method", "method", str, "grid, random or tpe"),
    ("--objective", "objective", str, "figure ranking the points (net_pnl, sharpe, calmar...)"),
    ("--samples", "samples", int, "points drawn (random) or asked (tpe)"),
    ("--seed", "seed", int, "seed of the random draws and of the TPE sampler"),
)


def register_sweep(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sweep`` (with ``list`` and ``show``) to the ``backtest`` command's subcommands."""
    parser = commands.add_parser(
        "sweep",
        help="run a backtest per point of a parameter space; rank the points",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, help="sweep TOML file ([sweep] and [backtest])")
    parser.add_argument(
        "--backtest-config", type=Path, help="take the base [backtest] from this file instead"
    )
    for flag, _key, kind, help_text in _SWEEP_FLAGS:
        parser.add_argument(flag, type=kind, help=help_text)
    parser.add_argument("--workers", type=int, help="local worker processes (default: cores)")
    parser.add_argument("--scheduler", help="Dask scheduler address, tcp://HOST:PORT")
    parser.add_argument("--resume", metavar="SWEEP_ID", help="continue a stopped sweep")
    parser.add_argument(
        "--retry-failed", action="store_true", help="with --resume: run failed points again"
    )
    parser.add_argument("--top", type=int, default=10, help="best points printed")
    _common(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_sweep)
    commands_of_sweep = parser.add_subparsers(dest="sweep_command", metavar="{list,show}")
    listing = commands_of_sweep.add_parser("list", help="stored sweeps, newest first")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--best", type=int, default=1, help="best points per sweep")
    _common(listing)
    listing.set_defaults(handler=_list)
    show = commands_of_sweep.add_parser("show", help="every point of one sweep, best first")
    show.add_argument("sweep_id", help="a sweep id (or its first characters)")
    _common(show)
    show.set_defaults(handler=_show)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, help="DuckDB file (default: DUCKDB_PATH)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _fail(message: str, code: int = 1) -> int:
    print(message, file=sys.stderr)
    return code


def _database(args: argparse.Namespace) -> Path | None:
    if args.db is not None:
        path: Path = args.db
        return path
    try:
        return load_settings().duckdb_path
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return None


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


def _sweep(args: argparse.Namespace) -> int:
    from arbitrade.backtest.sweep import (
        SweepError,
        load_sweep,
        load_sweep_spec,
        open_executor,
        run_sweep,
        start_sweep,
    )
    from arbitrade.backtest.sweep._table import point_as_dict, points_table

    configure_logging(level="WARNING")
    if (args.config is None) == (args.resume is None):
        return _fail("configuration error: give --config FILE for a new sweep or --resume ID")
    if args.workers is not None and args.workers < 1:
        return _fail(f"configuration error: --workers: must be 1 or more, got {args.workers}")
    database = _database(args)
    if database is None:
        return 1
    sweep_id = args.resume or "(not created)"
    try:
        if args.resume is not None:
            sweep_id = load_sweep(database, args.resume).overview.sweep_id
        else:
            overrides = {
                key: getattr(args, flag[2:])
                for flag, key, _, _ in _SWEEP_FLAGS
                if getattr(args, flag[2:]) is not None
            }
            spec = load_sweep_spec(
                args.config, backtest_path=args.backtest_config, overrides=overrides
            )
            sweep_id = start_sweep(spec, database)
        with open_executor(args.scheduler, workers=args.workers) as handle:
            options: dict[str, Any] = {
                "slots": handle.slots,
                "log_level": handle.log_level,
                "retry_failed": args.retry_failed,
                "where": handle.where,
                "top": args.top,
            }
            if args.quiet or args.json:
                result = run_sweep(database, sweep_id, handle.executor, **options)
            else:
                result = _with_progress(database, sweep_id, handle.executor, options)
        record = load_sweep(database, sweep_id)
    except ConfigError as error:
        return _fail(f"configuration error: {error}")
    except SweepError as error:
        return _fail(f"sweep error: {error}")
    except KeyboardInterrupt:
        return _fail(
            f"sweep {sweep_id} cancelled: resume with arbitrade backtest sweep --resume {sweep_id}",
            130,
        )
    if args.json:
        print(
            _dumps(
                {
                    "sweep_id": result.sweep_id,
                    "status": result.status,
                    "total": result.total,
                    "done": result.done,
                    "failed": result.failed,
                    "ran": result.ran,
                    "skipped": result.skipped,
                    "objective": record.overview.objective,
                    "best": [point_as_dict(point) for point in result.best],
                }
            )
        )
    else:
        print(points_table(record.overview, record.points[: args.top]))
        if result.status != "finished":
            print(f"{result.status}: resume with arbitrade backtest sweep --resume {sweep_id}")
    return 0


def _with_progress(database: Path, sweep_id: str, executor: Any, options: dict[str, Any]) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from arbitrade.backtest.sweep import SweepProgress, load_sweep, run_sweep

    overview = load_sweep(database, sweep_id).overview
    columns = (
        TextColumn(f"sweep {sweep_id}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failed {task.fields[failed]}"),
        TextColumn("best {task.fields[best]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns) as progress:
        task = progress.add_task(
            "points",
            total=overview.total_points,
            completed=overview.done + overview.failed,
            failed=overview.failed,
            best="-",
        )

        def update(state: SweepProgress) -> None:
            best = "-" if state.best is None else f"{state.best.objective_value:.6g}"
            progress.update(
                task, total=state.total, completed=state.finished, failed=state.failed, best=best
            )

        return run_sweep(database, sweep_id, executor, on_progress=update, **options)


def _list(args: argparse.Namespace) -> int:
    from arbitrade.backtest.sweep import SweepError, list_sweeps
    from arbitrade.backtest.sweep._table import overview_as_dict, sweeps_table

    database = _database(args)
    if database is None:
        return 1
    try:
        sweeps = list_sweeps(database, limit=args.limit, best=args.best)
    except SweepError as error:
        return _fail(f"sweep error: {error}")
    print(_dumps([overview_as_dict(s) for s in sweeps]) if args.json else sweeps_table(sweeps))
    return 0


def _show(args: argparse.Namespace) -> int:
    from arbitrade.backtest.sweep import SweepError, load_sweep
    from arbitrade.backtest.sweep._table import overview_as_dict, point_as_dict, points_table

    database = _database(args)
    if database is None:
        return 1
    try:
        record = load_sweep(database, args.sweep_id)
    except SweepError as error:
        return _fail(f"sweep error: {error}")
    if args.json:
        data = overview_as_dict(record.overview)
        del data["best"]
        data["points"] = [point_as_dict(point) for point in record.points]
        data["spec"] = orjson.loads(record.spec_json)
        print(_dumps(data))
    else:
        print(points_table(record.overview, record.points))
    return 0
