"""Sweeps and their points in the DuckDB file that holds ``backtest_reports``.

``backtest_reports`` (owned by ``arbitrade.persistence``'s migrations) has no sweep column, so
this module keeps two tables of its own beside it, created idempotently (``CREATE TABLE IF NOT
EXISTS``) whenever it writes:

- ``sweeps``: one row per sweep (id, times, status, method, objective, number of points, and
  the spec as JSON, which is what ``--resume`` reads back);
- ``sweep_points``: one row per finished point, keyed by (sweep id, point id): its parameters,
  ``done`` with the report id (a row of ``backtest_reports``) and the objective's value, or
  ``failed`` with the error; the backtest's run time, the worker's preparation time, the
  point's wall time in the pool (submission to outcome), the worker.

Each call opens the file, works in one transaction and closes it, so the dashboard can read
between points. DuckDB lets one process at a time open a file for writing: while a bot or a
sweep holds it, a call from another process raises :class:`SweepStoreUnavailable`.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import attrs
import duckdb
import orjson

from arbitrade.backtest.sweep._errors import SweepNotFound, SweepStoreUnavailable
from arbitrade.backtest.sweep._objective import objective_named
from arbitrade.backtest.sweep._space import Scalar
from arbitrade.persistence import PersistenceError, open_database

STATUSES: Final = ("running", "finished", "cancelled", "interrupted")
"""``running`` (or killed while running), ``finished`` (every point done or failed),
``cancelled`` (stopped by the user), ``interrupted`` (the executor broke)."""

_TABLES: Final = (
    """CREATE TABLE IF NOT EXISTS sweeps (
        sweep_id VARCHAR PRIMARY KEY, created_at_wall DOUBLE NOT NULL,
        updated_at_wall DOUBLE NOT NULL, status VARCHAR NOT NULL, method VARCHAR NOT NULL,
        objective VARCHAR NOT NULL, total_points INTEGER NOT NULL, spec VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sweep_points (
        sweep_id VARCHAR NOT NULL, point_id VARCHAR NOT NULL, params VARCHAR NOT NULL,
        status VARCHAR NOT NULL, report_id VARCHAR, objective_value DOUBLE, error VARCHAR,
        run_seconds DOUBLE NOT NULL, prepare_seconds DOUBLE NOT NULL,
        point_seconds DOUBLE NOT NULL, worker VARCHAR NOT NULL,
        finished_at_wall DOUBLE NOT NULL, PRIMARY KEY (sweep_id, point_id))""",
)


@attrs.frozen
class PointRow:
    """One finished point of a sweep."""

    sweep_id: str
    point_id: str
    params: Mapping[str, Scalar]
    status: str
    """``done`` or ``failed``."""
    report_id: str | None
    """The point's row in ``backtest_reports`` (None when it failed)."""
    objective_value: float | None
    """The sweep's objective for this point (None: failed, or the figure is undefined)."""
    error: str | None
    """``ExceptionType: message`` of a failed point."""
    run_seconds: float
    """The backtest's own run time."""
    prepare_seconds: float
    """Building the settings and loading the recording in the worker (near 0 when cached)."""
    point_seconds: float
    """From submission to the executor to the outcome's arrival."""
    worker: str
    finished_at_wall: float


@attrs.frozen
class SweepOverview:
    """A sweep with its counts and best points (what the dashboard lists)."""

    sweep_id: str
    created_at_wall: float
    updated_at_wall: float
    status: str
    method: str
    objective: str
    total_points: int
    done: int
    failed: int
    best: tuple[PointRow, ...]
    """The best points by the objective, best first (points without a value last)."""


@attrs.frozen
class SweepRecord:
    """A stored sweep: its overview, its spec as JSON, every finished point ranked."""

    overview: SweepOverview
    spec_json: str
    points: tuple[PointRow, ...]


@contextmanager
def _writing(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    try:
        connection = open_database(path)
    except (duckdb.Error, PersistenceError, OSError) as error:
        raise SweepStoreUnavailable(str(path), str(error).splitlines()[0]) from error
    try:
        connection.execute("BEGIN TRANSACTION")
        for statement in _TABLES:
            connection.execute(statement)
        yield connection
        connection.execute("COMMIT")
    except duckdb.Error as error:
        connection.execute("ROLLBACK")
        raise SweepStoreUnavailable(str(path), str(error).splitlines()[0]) from error
    finally:
        connection.close()


@contextmanager
def _reading(path: Path) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A read-only connection, or None when the file or the sweep tables do not exist."""
    if not Path(path).exists():
        yield None
        return
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise SweepStoreUnavailable(str(path), str(error).splitlines()[0]) from error
    try:
        found = connection.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('sweeps', 'sweep_points')"
            " AND schema_name = 'main' AND database_name = current_database()"
        ).fetchall()[0][0]
        yield connection if found == 2 else None
    except duckdb.Error as error:
        raise SweepStoreUnavailable(str(path), str(error).splitlines()[0]) from error
    finally:
        connection.close()


def new_sweep_id() -> str:
    """``sw-`` and 12 random hex digits."""
    return "sw-" + secrets.token_hex(6)


def create_sweep(
    path: Path, *, sweep_id: str, method: str, objective: str, total: int, spec_json: str
) -> None:
    """Insert a new sweep, status ``running``.

    Raises:
        SweepStoreUnavailable: the file cannot be opened or written (or the id exists).
    """
    now = time.time()
    with _writing(path) as connection:
        connection.execute(
            "INSERT INTO sweeps VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
            [sweep_id, now, now, method, objective, total, spec_json],
        )


def set_sweep_status(path: Path, sweep_id: str, status: str, *, total: int | None = None) -> None:
    """Set a sweep's status (and its number of points, when known now).

    Raises:
        SweepStoreUnavailable: the file cannot be opened or written.
    """
    assert status in STATUSES, status
    with _writing(path) as connection:
        connection.execute(
            "UPDATE sweeps SET status = ?, updated_at_wall = ?,"
            " total_points = coalesce(?, total_points) WHERE sweep_id = ?",
            [status, time.time(), total, sweep_id],
        )


def record_point(path: Path, row: PointRow) -> None:
    """Store a finished point (replacing an earlier row of the same point: a retried failure).

    Raises:
        SweepStoreUnavailable: the file cannot be opened or written.
    """
    with _writing(path) as connection:
        connection.execute(
            "INSERT OR REPLACE INTO sweep_points VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                row.sweep_id,
                row.point_id,
                orjson.dumps(dict(row.params), option=orjson.OPT_SORT_KEYS).decode(),
                row.status,
                row.report_id,
                row.objective_value,
                row.error,
                row.run_seconds,
                row.prepare_seconds,
                row.point_seconds,
                row.worker,
                row.finished_at_wall,
            ],
        )
        connection.execute(
            "UPDATE sweeps SET updated_at_wall = ? WHERE sweep_id = ?",
            [row.finished_at_wall, row.sweep_id],
        )


_POINT_COLUMNS = (
    "sweep_id, point_id, params, status, report_id, objective_value, error, run_seconds,"
    " prepare_seconds, point_seconds, worker, finished_at_wall"
)
_SWEEP_COLUMNS = (
    "sweep_id, created_at_wall, updated_at_wall, status, method, objective, total_points, spec"
)


def _point(row: tuple[Any, ...]) -> PointRow:
    return PointRow(
        sweep_id=row[0],
        point_id=row[1],
        params=orjson.loads(row[2]),
        status=row[3],
        report_id=row[4],
        objective_value=row[5],
        error=row[6],
        run_seconds=float(row[7]),
        prepare_seconds=float(row[8]),
        point_seconds=float(row[9]),
        worker=row[10],
        finished_at_wall=float(row[11]),
    )


def _ranked(objective: str, points: list[PointRow]) -> tuple[PointRow, ...]:
    try:
        ranking = objective_named(objective)
    except ValueError:  # an objective renamed since: keep the stored order
        return tuple(points)
    return tuple(sorted(points, key=lambda p: ranking.rank_key(p.objective_value, p.point_id)))


def _overview(row: tuple[Any, ...], points: list[PointRow], best: int) -> SweepOverview:
    ranked = _ranked(row[5], points)
    return SweepOverview(
        sweep_id=row[0],
        created_at_wall=float(row[1]),
        updated_at_wall=float(row[2]),
        status=row[3],
        method=row[4],
        objective=row[5],
        total_points=int(row[6]),
        done=sum(1 for p in points if p.status == "done"),
        failed=sum(1 for p in points if p.status == "failed"),
        best=tuple(p for p in ranked if p.status == "done")[:best],
    )


def finished_points(path: Path, sweep_id: str) -> dict[str, PointRow]:
    """The finished points of a sweep by point id (empty for an unknown sweep).

    Raises:
        SweepStoreUnavailable: the file cannot be read.
    """
    with _reading(path) as connection:
        if connection is None:
            return {}
        rows = connection.execute(
            f"SELECT {_POINT_COLUMNS} FROM sweep_points WHERE sweep_id = ?",  # noqa: S608
            [sweep_id],
        ).fetchall()
    return {row[1]: _point(row) for row in rows}


def load_sweep(path: Path, sweep_id: str) -> SweepRecord:
    """The sweep whose id is ``sweep_id`` or starts with it, with every point, best first.

    Raises:
        SweepNotFound: no sweep matches, or the prefix is ambiguous.
        SweepStoreUnavailable: the file cannot be read.
    """
    with _reading(path) as connection:
        if connection is None:
            raise SweepNotFound(sweep_id)
        rows = connection.execute(
            f"SELECT {_SWEEP_COLUMNS} FROM sweeps WHERE starts_with(sweep_id, ?)",  # noqa: S608
            [sweep_id],
        ).fetchall()
        exact = [row for row in rows if row[0] == sweep_id]
        rows = exact or rows
        if len(rows) != 1:
            raise SweepNotFound(sweep_id)
        points = connection.execute(
            f"SELECT {_POINT_COLUMNS} FROM sweep_points WHERE sweep_id = ?",  # noqa: S608
            [rows[0][0]],
        ).fetchall()
    loaded = [_point(point) for point in points]
    overview = _overview(rows[0], loaded, best=len(loaded))
    return SweepRecord(overview, rows[0][7], _ranked(rows[0][5], loaded))


def list_sweeps(path: Path, *, limit: int = 20, best: int = 3) -> list[SweepOverview]:
    """The newest ``limit`` sweeps, newest first, each with its ``best`` best points.

    This is what the dashboard's backtests page calls. An absent file, or a file without
    sweeps, gives an empty list.

    Raises:
        SweepStoreUnavailable: the file cannot be read (e.g. another process is writing it).
    """
    with _reading(path) as connection:
        if connection is None:
            return []
        sweeps = connection.execute(
            f"SELECT {_SWEEP_COLUMNS} FROM sweeps"  # noqa: S608
            " ORDER BY created_at_wall DESC, sweep_id LIMIT ?",
            [limit],
        ).fetchall()
        ids = [row[0] for row in sweeps]
        points = (
            connection.execute(
                f"SELECT {_POINT_COLUMNS} FROM sweep_points"  # noqa: S608
                " WHERE list_contains(?, sweep_id)",
                [ids],
            ).fetchall()
            if ids
            else []
        )
    by_sweep: dict[str, list[PointRow]] = {sweep_id: [] for sweep_id in ids}
    for point in points:
        by_sweep[point[0]].append(_point(point))
    return [_overview(row, by_sweep[row[0]], best) for row in sweeps]
