"""What a worker runs for one point: settings from the point's table, one backtest, the report.

:func:`run_point` is the function the executor ships to a worker process (a local pool's, or
a Dask worker's). It builds and checks the point's :class:`BacktestSettings`, loads the
recording and runs :func:`~arbitrade.backtest._run.run_backtest` (one ``trio.run`` on a
virtual clock), and returns a :class:`PointOutcome` holding the canonical report. It never
touches the database: DuckDB lets one process write a file, so the coordinator stores results.

A point that fails (settings refused, recording unreadable, the backtest raising) returns an
outcome with its error instead of raising, so one bad point never stops a sweep. Only
``KeyboardInterrupt`` and other ``BaseException`` pass through.

Per worker process, the last two recordings loaded are kept (keyed by the settings that decide
what is loaded and checked: events, symbols, range, home and balances), so a sweep over strategy
parameters reads and hashes its recording once per worker, not once per point. Backtests in one
process run one at a time (a lock): ``run_backtest`` seeds Trio's process-wide scheduler, so two
at once in threads of one process (a threaded Dask worker) would not be deterministic.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final

import attrs
import orjson

from arbitrade.backtest import (
    BacktestInputs,
    BacktestSettings,
    backtest_settings_from,
    prepare_inputs,
    run_backtest,
)
from arbitrade.backtest._settings import settings_as_dict  # not exported (see the report)

_CACHE_SIZE: Final = 2
_INPUT_FIELDS: Final = ("events", "symbols", "start", "end", "home", "balances")
_inputs_cache: OrderedDict[bytes, BacktestInputs] = OrderedDict()
_run_lock = threading.Lock()
_logging_level: str | None = None


@attrs.frozen
class PointTask:
    """One point to run: the backtest table with the point's parameters applied."""

    sweep_id: str
    point_id: str
    settings: Mapping[str, Any]
    """The whole ``[backtest]`` table of this point (base plus parameters)."""
    log_level: str | None = "WARNING"
    """Log level set once in the worker process (None: leave logging as it is)."""


@attrs.frozen
class PointOutcome:
    """What a worker sends back: the report (as canonical JSON) or the error."""

    point_id: str
    report_json: str | None
    """``BacktestReport.as_json()`` text; None when the point failed."""
    error: str | None
    """``ExceptionType: message`` when the point failed; None otherwise."""
    run_seconds: float
    """Wall time of ``run_backtest`` alone (the backtest's own run time)."""
    prepare_seconds: float
    """Wall time to build the settings and load the recording (near 0 when cached)."""
    worker: str
    """``host:pid`` of the process that ran the point."""

    @property
    def ok(self) -> bool:
        """True when the point produced a report."""
        return self.report_json is not None


def init_worker(log_level: str | None) -> None:
    """Initializer of the local pool's processes: ignore Ctrl-C, quiet the logs.

    The terminal sends Ctrl-C to every process of the group; the coordinator alone handles
    it (it cancels what has not started and stops the pool).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _configure_logging(log_level)


def _configure_logging(level: str | None) -> None:
    global _logging_level
    if level is None or level == _logging_level:
        return
    from arbitrade.logs import configure_logging

    configure_logging(level=level)
    _logging_level = level


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _inputs_for(settings: BacktestSettings) -> BacktestInputs:
    described = settings_as_dict(settings)
    key = orjson.dumps(
        {name: described[name] for name in _INPUT_FIELDS}, option=orjson.OPT_SORT_KEYS
    )
    cached = _inputs_cache.get(key)
    if cached is None:
        cached = prepare_inputs(settings)
        _inputs_cache[key] = cached
        while len(_inputs_cache) > _CACHE_SIZE:
            _inputs_cache.popitem(last=False)
    else:
        _inputs_cache.move_to_end(key)
    # what prepare_inputs checks and loads depends only on the key's fields
    return attrs.evolve(cached, settings=settings)


def run_point(task: PointTask) -> PointOutcome:
    """Run ``task``'s backtest in this process and return its outcome (never raises for it).

    Call it outside any Trio run (it starts its own). Failures of the point itself come back
    as ``PointOutcome.error``: a :class:`~arbitrade.config.ConfigError` for refused settings
    (``backtest.capital: ...``), or the exception the backtest raised.
    """
    _configure_logging(task.log_level)
    with _run_lock:
        started = time.perf_counter()
        run_seconds = 0.0
        try:
            settings = backtest_settings_from(task.settings)
            inputs = _inputs_for(settings)
            prepared = time.perf_counter()
            report = run_backtest(inputs)
            run_seconds = time.perf_counter() - prepared
        except Exception as error:  # a failing point is an outcome, not a crash of the sweep
            return PointOutcome(
                point_id=task.point_id,
                report_json=None,
                error=f"{type(error).__name__}: {error}",
                run_seconds=run_seconds,
                prepare_seconds=time.perf_counter() - started - run_seconds,
                worker=_worker_name(),
            )
    return PointOutcome(
        point_id=task.point_id,
        report_json=report.as_json().decode(),
        error=None,
        run_seconds=run_seconds,
        prepare_seconds=prepared - started,
        worker=_worker_name(),
    )
