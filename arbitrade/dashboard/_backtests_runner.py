"""The dashboard's one backtest at a time: start it in a worker process, follow it, cancel it.

A :class:`BacktestRunner` owns the dashboard's backtests database (its own DuckDB file, beside
the bot's: DuckDB lets one process write a file at a time) and at most one run. The run is a
Trio task in the app's nursery awaiting :func:`~arbitrade.backtest.run_in_worker`; each
progress step bumps a version that SSE streams wait on. While a run goes, this process never
opens the database (the worker writes its report there when it ends, and a reader here would
make that write fail): listings are served from the last read, reports from a small cache.

Exception tree::

    BacktestError (arbitrade.backtest)
    └── BacktestRunning   a run is going: another cannot start, and the database is the worker's
"""

from __future__ import annotations

import enum
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs
import structlog
import trio

from arbitrade.backtest import (
    BacktestError,
    BacktestReport,
    ReportStoreUnavailable,
    StoredReport,
    list_reports,
    load_report,
    run_in_worker,
)
from arbitrade.backtest.sweep import SweepOverview, SweepStoreUnavailable, list_sweeps
from arbitrade.config import ConfigError, Settings

log = structlog.get_logger(__name__)

type Progress = Callable[[int, int], Awaitable[None]]
type Worker = Callable[[Mapping[str, Any], Path, Progress | None], Awaitable[str]]
"""What runs one backtest: ``run_in_worker``'s shape (values, database, on_progress) → id."""

RECENT_REPORTS: Final = 20
RECENT_SWEEPS: Final = 5
CACHED_REPORTS: Final = 32


def backtests_database(settings: Settings) -> Path:
    """``<duckdb_path stem>-backtests.duckdb`` beside the bot's database."""
    path = settings.duckdb_path
    return path.with_name(f"{path.stem}-backtests{path.suffix or '.duckdb'}")


class BacktestRunning(BacktestError):
    """A backtest is running: another cannot start, and its database is the worker's."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class RunStatus(enum.StrEnum):
    """Where a run stands."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


@attrs.frozen
class RunSnapshot:
    """One run as the page shows it at one moment."""

    run_id: int
    status: RunStatus
    who: str
    summary: str
    """What it replays, in a line (recording, pairs, range)."""
    started_wall: float
    elapsed: float
    """Seconds since it started (until it ended, once it has)."""
    done: int
    """Frames replayed so far (0 until the worker's first progress step)."""
    total: int
    """Frames the run replays (0 until the worker's first progress step)."""
    rate: float | None
    """Frames per second over the progress steps seen (None before two)."""
    eta: float | None
    """Seconds left at ``rate`` (None while the rate is unknown)."""
    report_id: str = ""
    error: str = ""

    @property
    def percent(self) -> float:
        """Share of the frames replayed, 0 to 100 (100 once finished)."""
        if self.status is RunStatus.FINISHED:
            return 100.0
        return 100.0 * self.done / self.total if self.total else 0.0

    @property
    def running(self) -> bool:
        """True while the worker runs."""
        return self.status is RunStatus.RUNNING


@attrs.define
class _Run:
    run_id: int
    who: str
    summary: str
    started: float
    started_wall: float
    scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)
    status: RunStatus = RunStatus.RUNNING
    ended: float | None = None
    done: int = 0
    total: int = 0
    first: tuple[float, int] | None = None
    latest: float | None = None
    report_id: str = ""
    error: str = ""

    def snapshot(self, now: float) -> RunSnapshot:
        rate = None
        if self.first is not None and self.latest is not None:
            first_at, first_done = self.first
            if self.latest > first_at and self.done > first_done:
                rate = (self.done - first_done) / (self.latest - first_at)
        eta = (self.total - self.done) / rate if rate and self.running else None
        return RunSnapshot(
            run_id=self.run_id,
            status=self.status,
            who=self.who,
            summary=self.summary,
            started_wall=self.started_wall,
            elapsed=(self.ended if self.ended is not None else now) - self.started,
            done=self.done,
            total=self.total,
            rate=rate,
            eta=eta,
            report_id=self.report_id,
            error=self.error,
        )

    @property
    def running(self) -> bool:
        return self.status is RunStatus.RUNNING


class BacktestRunner:
    """At most one backtest at a time, its progress, and the reports it leaves.

    ``worker`` is the seam tests replace (it defaults to ``run_in_worker``). Versions let
    streams wait for change: :attr:`version` moves on every progress step and state change,
    :attr:`reports_version` when a run ended and the listings were read again.
    """

    def __init__(self, database: Path, worker: Worker = run_in_worker) -> None:
        self.database = database
        self.worker = worker
        self.last_form: dict[str, str] = {}
        """The last form that started a run (the page offers it again)."""
        self.version = 0
        self.reports_version = 0
        self._changed = trio.Event()
        self._run: _Run | None = None
        self._runs = 0
        self._reports: list[StoredReport] = []
        self._sweeps: list[SweepOverview] = []
        self._listing_problem = ""
        self._cache: OrderedDict[str, BacktestReport] = OrderedDict()

    # --- the run ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a run goes."""
        return self._run is not None and self._run.running

    def snapshot(self) -> RunSnapshot | None:
        """The current or last run (None before the first)."""
        return None if self._run is None else self._run.snapshot(trio.current_time())

    def start(
        self,
        nursery: trio.Nursery,
        values: Mapping[str, Any],
        *,
        who: str,
        summary: str,
        form: Mapping[str, str],
    ) -> RunSnapshot:
        """Start a run of ``values`` as a task in ``nursery``; returns it as it starts.

        The worker's failure (a setting it refuses, a crash) ends the run as ``failed`` with
        the message; nothing is raised to the caller after this returns.

        Raises:
            BacktestRunning: a run is already going (nothing is started).
        """
        if self.busy:
            raise BacktestRunning("a backtest is already running: cancel it or wait for it")
        self._runs += 1
        run = _Run(self._runs, who, summary, trio.current_time(), time.time())
        self._run = run
        self.last_form = dict(form)
        nursery.start_soon(self._drive, run, dict(values), name=f"backtest-{run.run_id}")
        log.info("dashboard.backtest_started", run=run.run_id, who=who, summary=summary)
        self._notify()
        return run.snapshot(run.started)

    def cancel(self) -> bool:
        """Cancel the running backtest (its worker process is terminated); False if none."""
        if self._run is None or not self._run.running:
            return False
        self._run.scope.cancel()
        return True

    async def _drive(self, run: _Run, values: dict[str, Any]) -> None:
        async def progress(done: int, total: int) -> None:
            now = trio.current_time()
            if run.first is None:
                run.first = (now, done)
            run.done, run.total, run.latest = done, total, now
            self._notify()

        with run.scope:
            try:
                run.report_id = await self.worker(values, self.database, progress)
                run.status = RunStatus.FINISHED
            except (ConfigError, BacktestError) as error:
                run.status, run.error = RunStatus.FAILED, str(error)
            except Exception as error:
                # A run must never take the dashboard (and the bot's nursery) down with it:
                # the failure is logged with its traceback and shown on the page.
                log.exception("dashboard.backtest_crashed", run=run.run_id)
                run.status, run.error = RunStatus.FAILED, f"{type(error).__name__}: {error}"
        if run.scope.cancelled_caught:
            run.status = RunStatus.CANCELLED
        run.ended = trio.current_time()
        if run.status is RunStatus.FINISHED:
            run.done = max(run.done, run.total)
        log.info(
            "dashboard.backtest_ended",
            run=run.run_id,
            status=run.status.value,
            report=run.report_id,
            error=run.error,
        )
        self._notify()
        await self.read_listings()
        self.reports_version += 1
        self._notify()

    # --- change notification ---------------------------------------------------------------
    def _notify(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = trio.Event()

    async def wait_changed(self, seen: int) -> None:
        """Return once :attr:`version` or :attr:`reports_version` moved past what was seen.

        ``seen`` is ``version + reports_version`` as the caller last read them.
        """
        while self.version + self.reports_version == seen:
            await self._changed.wait()

    # --- the database ----------------------------------------------------------------------
    async def read_listings(self) -> None:
        """Read recent reports and sweeps again (kept as they were while a run goes).

        A database that cannot be read keeps the last listing and says why (see
        :meth:`listings`); nothing is raised.
        """
        if self.busy:
            return
        try:
            reports = await trio.to_thread.run_sync(
                lambda: list_reports(self.database, limit=RECENT_REPORTS)
            )
            sweeps = await trio.to_thread.run_sync(
                lambda: list_sweeps(self.database, limit=RECENT_SWEEPS)
            )
        except (ReportStoreUnavailable, SweepStoreUnavailable) as error:
            self._listing_problem = str(error)
            log.warning("dashboard.backtests_unreadable", problem=str(error))
        else:
            self._reports, self._sweeps, self._listing_problem = reports, sweeps, ""

    def listings(self) -> tuple[list[StoredReport], list[SweepOverview], str]:
        """The last read reports (newest first), sweeps, and why they are stale ('' if not)."""
        problem = self._listing_problem
        if self.busy:
            problem = "Listed as before the running backtest: the list refreshes when it ends."
        return self._reports, self._sweeps, problem

    async def report(self, report_id: str) -> BacktestReport:
        """The stored report ``report_id`` (or its prefix), from the cache when it is there.

        Raises:
            ReportNotFound: no report matches.
            ReportStoreUnavailable: the database cannot be read.
            BacktestRunning: a run holds the database and the report is not cached.
        """
        cached = self._cache.get(report_id)
        if cached is not None:
            self._cache.move_to_end(report_id)
            return cached
        if self.busy:
            raise BacktestRunning(
                "the running backtest holds its database: this report opens when it ends"
            )
        report = await trio.to_thread.run_sync(load_report, self.database, report_id)
        self._cache[report.report_id] = report
        if len(self._cache) > CACHED_REPORTS:
            self._cache.popitem(last=False)
        return report
