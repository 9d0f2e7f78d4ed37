"""Errors of backtests (settings problems are :class:`~arbitrade.config.ConfigError`).

Exception tree::

    Exception
    └── BacktestError              something about a run or its reports went wrong
        ├── ReportNotFound         (also a LookupError) no stored report has that id
        ├── ReportStoreUnavailable the reports database cannot be opened or written
        └── BacktestFailed         the worker process ended without a report
"""

from __future__ import annotations


class BacktestError(Exception):
    """Base of backtest errors."""


class ReportNotFound(BacktestError, LookupError):
    """No stored report has the id (or id prefix) asked for."""

    def __init__(self, report_id: str) -> None:
        self.report_id = report_id
        super().__init__(f"no backtest report {report_id!r}")


class ReportStoreUnavailable(BacktestError):
    """The DuckDB file cannot be used (locked by a running bot, unreadable, too new)."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class BacktestFailed(BacktestError):
    """A worker process ended without a report; ``detail`` says why (its last error line)."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)
