"""Errors of parameter sweeps (a bad sweep file is a :class:`~arbitrade.config.ConfigError`).

Exception tree::

    Exception
    └── SweepError                 something about a sweep or its stored results went wrong
        ├── SweepNotFound          (also a LookupError) no stored sweep has that id
        ├── SweepStoreUnavailable  the DuckDB file cannot be opened, read or written
        └── ExecutorUnavailable    the process pool or the Dask scheduler cannot be used

A point that fails (its settings are refused, its backtest raises, its worker dies) is not an
exception of the sweep: it is recorded with its error and the sweep goes on.
"""

from __future__ import annotations


class SweepError(Exception):
    """Base of sweep errors."""


class SweepNotFound(SweepError, LookupError):
    """No stored sweep has the id (or id prefix) asked for, or the prefix is ambiguous."""

    def __init__(self, sweep_id: str) -> None:
        self.sweep_id = sweep_id
        super().__init__(f"no sweep {sweep_id!r} (list them with: arbitrade backtest sweep list)")


class SweepStoreUnavailable(SweepError):
    """The DuckDB file cannot be used (locked by a running bot, unreadable, too new)."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class ExecutorUnavailable(SweepError):
    """The executor cannot run points: the Dask scheduler is unreachable, or the pool broke.

    ``where`` is the scheduler address or ``local process pool``.
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")
