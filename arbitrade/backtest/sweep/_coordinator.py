"""The coordinator: asks for points, runs them on an Executor, stores and ranks what comes back.

:func:`start_sweep` stores a new sweep (its spec and status) and returns its id;
:func:`run_sweep` runs it, or resumes it: points already finished (done or failed, found by
their id, a hash of their parameters) are not run again. At most ``slots`` points are in flight
at once (one per worker: the pool never queues, so a point's wall time in the pool is its run
time plus the pool's overhead). When a point finishes, the next is submitted first and the
outcome stored after (the report in ``backtest_reports``, the point in ``sweep_points``), so
workers do not wait on the database, and a sweep stopped at any moment keeps every point it
finished.

Stopping: once ``cancel`` (a :class:`threading.Event`, e.g. from the dashboard) is set, no new
point is submitted and submitted points not yet started are cancelled; points already running
(or already taken by a worker) finish and are stored; the sweep ends ``cancelled``. A cancel
set from ``on_progress`` therefore lets the point submitted just before it finish too. Ctrl-C
(``KeyboardInterrupt``) stops at once: in-flight points are cancelled, the sweep is marked
``cancelled`` and the interrupt propagates (the local pool's processes are then terminated by
:func:`open_executor`). Either way ``--resume SWEEP_ID`` runs what is left. If the executor
breaks (a worker process killed), the sweep is marked ``interrupted`` and
:class:`ExecutorUnavailable` is raised; the points in flight are not recorded, so a resume runs
them again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from pathlib import Path

import attrs
import structlog

from arbitrade.backtest import BacktestError, BacktestReport, store_report
from arbitrade.backtest._report import report_from_json  # not exported (see the report)
from arbitrade.backtest.sweep._errors import ExecutorUnavailable, SweepStoreUnavailable
from arbitrade.backtest.sweep._objective import Objective, objective_named
from arbitrade.backtest.sweep._sources import ListSource, TpeSource, source_for
from arbitrade.backtest.sweep._space import Point, apply_point
from arbitrade.backtest.sweep._spec import SweepSpec, spec_from_json
from arbitrade.backtest.sweep._store import (
    PointRow,
    create_sweep,
    finished_points,
    load_sweep,
    new_sweep_id,
    record_point,
    set_sweep_status,
)
from arbitrade.backtest.sweep._worker import PointOutcome, PointTask, run_point

log = structlog.get_logger(__name__)

WAIT_SLICE = 0.2
"""Seconds between checks of ``cancel`` while points run."""


@attrs.frozen
class SweepProgress:
    """Where a sweep stands, given to ``on_progress`` after each finished point."""

    sweep_id: str
    total: int
    """Points in the sweep (trials asked, for a TPE search)."""
    finished: int
    """Points done or failed, earlier sessions included."""
    failed: int
    """Points failed, earlier sessions included."""
    ran: int
    """Points run in this session."""
    last: PointRow
    """The point that just finished."""
    best: PointRow | None
    """The best point so far by the objective (None while no point has a value)."""


@attrs.frozen
class SweepResult:
    """How a session of a sweep ended."""

    sweep_id: str
    status: str
    """``finished`` or ``cancelled``."""
    total: int
    done: int
    failed: int
    ran: int
    """Points run in this session."""
    skipped: int
    """Points finished in an earlier session, not run again."""
    best: tuple[PointRow, ...]
    """The best points, best first (at most ``top``)."""
    elapsed_seconds: float


def start_sweep(spec: SweepSpec, database: Path) -> str:
    """Store a new sweep of ``spec`` (status ``running``, nothing run yet); return its id.

    Raises:
        SweepStoreUnavailable: the database cannot be written.
    """
    sweep_id = new_sweep_id()
    total = spec.space.samples
    if spec.space.method != "tpe":
        total = source_for(spec.space, objective_named(spec.objective)).total
    create_sweep(
        database,
        sweep_id=sweep_id,
        method=spec.space.method,
        objective=spec.objective,
        total=total,
        spec_json=spec.as_json(),
    )
    log.info("sweep.created", sweep_id=sweep_id, method=spec.space.method, points=total)
    return sweep_id


@attrs.frozen
class _Received:
    point: Point
    outcome: PointOutcome
    report: BacktestReport | None
    value: float | None
    point_seconds: float


class _Session:
    """One run of the loop: the state shared by its steps."""

    def __init__(
        self,
        database: Path,
        sweep_id: str,
        spec: SweepSpec,
        finished: dict[str, PointRow],
        on_progress: Callable[[SweepProgress], None] | None,
    ) -> None:
        self.database = database
        self.sweep_id = sweep_id
        self.spec = spec
        self.objective: Objective = objective_named(spec.objective)
        self.finished = finished
        self.on_progress = on_progress
        self.source = source_for(
            spec.space,
            self.objective,
            {
                point_id: (row.params, row.objective_value if row.status == "done" else None)
                for point_id, row in finished.items()
            },
        )
        if isinstance(self.source, TpeSource):
            self.skipped = self.resolved = self.source.primed
        else:
            ids = {point.point_id for point in self.source.points}
            self.skipped = self.resolved = len(ids & finished.keys())
        self.failed = sum(1 for row in finished.values() if row.status == "failed")
        self.ran = 0
        self.best: PointRow | None = None
        for row in finished.values():
            self._consider(row)
        self.in_flight: dict[Future[PointOutcome], tuple[Point, float]] = {}
        self.extra_waiters: dict[str, int] = {}
        self.received: dict[str, float | None] = {}
        """Points out of flight whose outcome is not stored yet, with their values."""

    def _consider(self, row: PointRow) -> None:
        if row.status != "done" or row.objective_value is None:
            return
        if self.best is None or self.objective.rank_key(
            row.objective_value, row.point_id
        ) < self.objective.rank_key(self.best.objective_value, self.best.point_id):
            self.best = row

    def fill(self, executor: Executor, slots: int, log_level: str | None) -> None:
        """Submit points until ``slots`` are in flight or the source has none left."""
        running = {point.point_id for point, _ in self.in_flight.values()}
        while len(self.in_flight) < slots:
            point = self.source.ask()
            if point is None:
                return
            earlier = self.finished.get(point.point_id)
            if earlier is not None or point.point_id in self.received:
                if isinstance(self.source, ListSource):
                    continue  # counted as skipped already
                # the search asked a finished point again: its value, without running it
                if earlier is not None:
                    value = earlier.objective_value if earlier.status == "done" else None
                else:
                    value = self.received[point.point_id]
                self.source.tell(point, value)
                self.resolved += 1
                continue
            if point.point_id in running:  # the search asked a running point again
                self.extra_waiters[point.point_id] = self.extra_waiters.get(point.point_id, 0) + 1
                continue
            task = PointTask(
                self.sweep_id, point.point_id, apply_point(self.spec.base, point.params), log_level
            )
            future = executor.submit(run_point, task)
            self.in_flight[future] = (point, time.perf_counter())
            running.add(point.point_id)

    def receive(self, future: Future[PointOutcome]) -> _Received | None:
        """Take a finished future out of flight, read its outcome and tell the source.

        Nothing is stored yet: the coordinator first submits the next points (so workers do
        not wait on the database), then calls :meth:`store`. None for a cancelled future.
        """
        point, submitted = self.in_flight.pop(future)
        point_seconds = time.perf_counter() - submitted
        if future.cancelled():
            return None
        error = future.exception()
        if isinstance(error, BrokenExecutor):
            raise error
        if error is not None:  # the executor could not run it (worker lost, pickling...)
            outcome = PointOutcome(
                point.point_id, None, f"{type(error).__name__}: {error}", 0, 0, "-"
            )
        else:
            outcome = future.result()
        report = None if outcome.report_json is None else report_from_json(outcome.report_json)
        value = None if report is None else self.objective.value(report.figures)
        self.source.tell(point, value)
        self.received[point.point_id] = value
        return _Received(point, outcome, report, value, point_seconds)

    def store(self, received: _Received) -> None:
        """Store a received outcome (report, then point), count it, report progress."""
        point, outcome, report = received.point, received.outcome, received.report
        if report is not None:
            try:
                store_report(self.database, report)
            except BacktestError as error:
                raise SweepStoreUnavailable(str(self.database), str(error)) from error
        else:
            log.warning(
                "sweep.point_failed",
                sweep_id=self.sweep_id,
                point_id=point.point_id,
                params=dict(point.params),
                error=outcome.error,
            )
        row = PointRow(
            sweep_id=self.sweep_id,
            point_id=point.point_id,
            params=point.params,
            status="done" if report is not None else "failed",
            report_id=None if report is None else report.report_id,
            objective_value=received.value,
            error=outcome.error,
            run_seconds=outcome.run_seconds,
            prepare_seconds=outcome.prepare_seconds,
            point_seconds=received.point_seconds,
            worker=outcome.worker,
            finished_at_wall=time.time(),
        )
        record_point(self.database, row)
        self.finished[point.point_id] = row
        self.received.pop(point.point_id, None)
        self.ran += 1
        self.resolved += 1 + self.extra_waiters.pop(point.point_id, 0)
        self.failed += row.status == "failed"
        self._consider(row)
        if self.on_progress is not None:
            self.on_progress(
                SweepProgress(
                    self.sweep_id,
                    self.source.total,
                    self.resolved,
                    self.failed,
                    self.ran,
                    row,
                    self.best,
                )
            )


def run_sweep(
    database: Path,
    sweep_id: str,
    executor: Executor,
    *,
    slots: int,
    log_level: str | None = None,
    cancel: threading.Event | None = None,
    on_progress: Callable[[SweepProgress], None] | None = None,
    retry_failed: bool = False,
    where: str = "executor",
    top: int = 5,
) -> SweepResult:
    """Run (or resume) the stored sweep ``sweep_id`` on ``executor``; return how it ended.

    Points finished earlier are skipped (failed ones too, unless ``retry_failed``).
    ``on_progress`` is called in this thread after each point is stored; an exception it
    raises stops the sweep as Ctrl-C does. ``log_level`` is set in each worker by the point
    (for Dask workers; the local pool sets it when its processes start). ``where`` names the
    executor in errors.

    Raises:
        SweepNotFound: no stored sweep has that id (or prefix).
        SweepStoreUnavailable: the database cannot be read or written (the sweep stops; what
            was stored stays).
        ExecutorUnavailable: the executor broke; the sweep is marked ``interrupted``.
        KeyboardInterrupt: after marking the sweep ``cancelled``.
        ValueError: ``slots`` is less than 1.
    """
    if slots < 1:
        raise ValueError(f"slots must be 1 or more, got {slots}")
    started = time.perf_counter()
    record = load_sweep(database, sweep_id)
    sweep_id = record.overview.sweep_id
    spec = spec_from_json(record.spec_json)
    finished = finished_points(database, sweep_id)
    if retry_failed:
        finished = {key: row for key, row in finished.items() if row.status == "done"}
    session = _Session(database, sweep_id, spec, finished, on_progress)
    set_sweep_status(database, sweep_id, "running", total=session.source.total)
    log.info(
        "sweep.started",
        sweep_id=sweep_id,
        points=session.source.total,
        already_finished=session.skipped,
        where=where,
        slots=slots,
    )
    stopping = False
    try:
        received: list[_Received | None] = []
        while True:
            if not stopping and cancel is not None and cancel.is_set():
                stopping = True
                for future in list(session.in_flight):
                    if future.cancel():
                        session.in_flight.pop(future)
            if not stopping:
                session.fill(executor, slots, log_level)
            for item in received:  # after refilling: workers run while the database is written
                if item is not None:
                    session.store(item)
            if not session.in_flight:
                break
            done, _ = wait(list(session.in_flight), timeout=WAIT_SLICE, return_when=FIRST_COMPLETED)
            received = [session.receive(future) for future in done]
    except BrokenExecutor as error:
        for future in session.in_flight:
            future.cancel()
        set_sweep_status(database, sweep_id, "interrupted")
        log.error("sweep.interrupted", sweep_id=sweep_id, where=where, error=str(error))
        raise ExecutorUnavailable(
            where, f"the executor broke ({error}); resume with --resume {sweep_id}"
        ) from error
    except SweepStoreUnavailable:
        for future in session.in_flight:
            future.cancel()
        raise
    except BaseException:
        for future in session.in_flight:
            future.cancel()
        try:
            set_sweep_status(database, sweep_id, "cancelled")
        except SweepStoreUnavailable as error:  # the interrupt matters more; say so and go on
            log.error("sweep.status_not_stored", sweep_id=sweep_id, error=str(error))
        log.warning("sweep.cancelled", sweep_id=sweep_id, finished=session.resolved)
        raise
    status = "cancelled" if stopping else "finished"
    set_sweep_status(database, sweep_id, status)
    stored = load_sweep(database, sweep_id)
    final, ranked = stored.overview, stored.points
    log.info("sweep.ended", sweep_id=sweep_id, status=status, ran=session.ran, failed=final.failed)
    return SweepResult(
        sweep_id=sweep_id,
        status=status,
        total=session.source.total,
        done=final.done,
        failed=final.failed,
        ran=session.ran,
        skipped=session.skipped,
        best=tuple(row for row in ranked if row.status == "done")[:top],
        elapsed_seconds=time.perf_counter() - started,
    )
