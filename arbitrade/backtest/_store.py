"""Reports in DuckDB's ``backtest_reports`` table: store, list newest first, show one.

Each row holds the report id, when it was stored (wall clock: the one thing outside the
report), the strategy, the parameters (settings, code version and input hashes as JSON), the
headline figures (JSON) and the whole canonical report (JSON). Storing the same report twice
keeps one row. DuckDB lets one process write a file at a time: a running bot that holds the
file makes these calls fail with :class:`ReportStoreUnavailable` (use another ``--db``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import duckdb
import orjson

from arbitrade.backtest._errors import ReportNotFound, ReportStoreUnavailable
from arbitrade.backtest._report import BacktestReport, report_from_json
from arbitrade.persistence import PersistenceError, open_database


@attrs.frozen
class StoredReport:
    """One row of ``backtest_reports`` without the full report."""

    report_id: str
    created_at_wall: float
    strategy: str
    figures: dict[str, Any]


@contextmanager
def _connect(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    if read_only and not Path(path).exists():
        connection = duckdb.connect(":memory:")
        connection.execute(
            "CREATE TABLE backtest_reports (report_id VARCHAR, created_at_wall DOUBLE,"
            " strategy VARCHAR, parameters VARCHAR, metrics VARCHAR, report VARCHAR)"
        )
    else:
        try:
            connection = open_database(path, read_only=read_only)
        except (duckdb.Error, PersistenceError, OSError) as error:
            raise ReportStoreUnavailable(str(path), str(error).splitlines()[0]) from error
    try:
        yield connection
    finally:
        connection.close()


def store_report(
    path: Path, report: BacktestReport, *, created_at_wall: float | None = None
) -> None:
    """Insert ``report`` (once: a report id already stored is left as it is).

    Raises:
        ReportStoreUnavailable: the database cannot be opened or written.
    """
    body = report.body
    parameters = {
        "settings": body["settings"],
        "code_version": body["code_version"],
        "inputs": body["inputs"],
    }
    with _connect(path) as connection:
        try:
            exists = connection.execute(
                "SELECT count(*) FROM backtest_reports WHERE report_id = ?", [report.report_id]
            ).fetchall()[0][0]
            if not exists:
                connection.execute(
                    "INSERT INTO backtest_reports VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        report.report_id,
                        time.time() if created_at_wall is None else created_at_wall,
                        str(body["settings"].get("strategy", "")),
                        orjson.dumps(parameters, option=orjson.OPT_SORT_KEYS).decode(),
                        orjson.dumps(report.figures, option=orjson.OPT_SORT_KEYS).decode(),
                        report.as_json().decode(),
                    ],
                )
        except duckdb.Error as error:
            raise ReportStoreUnavailable(str(path), str(error).splitlines()[0]) from error


def list_reports(path: Path, *, limit: int = 20) -> list[StoredReport]:
    """The newest ``limit`` reports, newest first (empty when the file does not exist).

    Raises:
        ReportStoreUnavailable: the database cannot be read.
    """
    with _connect(path, read_only=True) as connection:
        rows = connection.execute(
            "SELECT report_id, created_at_wall, strategy, metrics FROM backtest_reports"
            " ORDER BY created_at_wall DESC, report_id LIMIT ?",
            [limit],
        ).fetchall()
    return [StoredReport(row[0], float(row[1]), row[2], orjson.loads(row[3])) for row in rows]


def load_report(path: Path, report_id: str) -> BacktestReport:
    """The stored report whose id is ``report_id`` or starts with it.

    Raises:
        ReportNotFound: no report matches, or the prefix is ambiguous.
        ReportStoreUnavailable: the database cannot be read.
    """
    with _connect(path, read_only=True) as connection:
        rows = connection.execute(
            "SELECT report_id, report FROM backtest_reports WHERE starts_with(report_id, ?)"
            " ORDER BY report_id",
            [report_id],
        ).fetchall()
    exact = [row for row in rows if row[0] == report_id]
    if exact:
        rows = exact
    if len(rows) != 1:
        raise ReportNotFound(report_id)
    return report_from_json(rows[0][1])
