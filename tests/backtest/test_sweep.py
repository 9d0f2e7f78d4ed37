"""Sweeps that run: the coordinator's loop, the local process pool against Dask, a failing
point, cancel and resume, and the command line.

The coordinator's own behaviour (resume, TPE, cancel) is tested against ``FakeExecutor``,
which answers each point at once with a report whose net PnL is a function of its parameters;
the process pool and Dask tests run real backtests of the first 15 s of the committed
simulator recording, over one triangle.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import orjson
import pytest
import structlog

from arbitrade.backtest import BacktestReport, load_report
from arbitrade.backtest.sweep import (
    ExecutorHandle,
    PointOutcome,
    PointTask,
    SweepProgress,
    list_sweeps,
    load_sweep,
    open_executor,
    run_sweep,
    start_sweep,
    sweep_spec_from,
)
from arbitrade.cli._sweep import register_sweep

BASE = {"events": ["recording"], "balances": {"USD": "10000"}}


class FakeExecutor(Executor):
    """Answers each point at once: net PnL = ``score(settings)``; records what it was given."""

    def __init__(self, score: Callable[[dict[str, Any]], float]) -> None:
        self.score = score
        self.submitted: list[str] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        task: PointTask = args[0]
        self.submitted.append(task.point_id)
        settings = dict(task.settings)
        body = {
            "settings": settings,
            "code_version": "test",
            "inputs": [],
            "figures": {"net_pnl": str(self.score(settings)), "sharpe": None},
        }
        report = BacktestReport(f"bt-{task.point_id}", body)
        future: Future[Any] = Future()
        future.set_result(
            PointOutcome(task.point_id, report.as_json().decode(), None, 0.5, 0.0, "fake:1")
        )
        return future


class CountingExecutor(Executor):
    """Passes calls to ``inner``; remembers the point ids submitted."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.submitted: list[str] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        if args and isinstance(args[0], PointTask):
            self.submitted.append(args[0].point_id)
        return self.inner.submit(fn, *args, **kwargs)


def _cancel_after(count: int, event: threading.Event) -> Callable[[SweepProgress], None]:
    def on_progress(progress: SweepProgress) -> None:
        if progress.ran >= count:
            event.set()

    return on_progress


class TestCoordinator:
    def test_run_sweep_when_grid_finishes_ranks_points_by_objective(self, tmp_path: Path) -> None:
        """Every grid point runs once and the best net PnL comes first."""
        db = tmp_path / "db.duckdb"
        spec = sweep_spec_from(BASE, {"parameters": {"seed": [1, 2, 3, 4]}})
        executor = FakeExecutor(lambda s: s["seed"] * 10)
        result = run_sweep(db, start_sweep(spec, db), executor, slots=2)
        assert (result.status, result.done, result.failed, result.ran) == ("finished", 4, 0, 4)
        assert [p.params["seed"] for p in result.best] == [4, 3, 2, 1]
        assert len(set(executor.submitted)) == 4

    def test_run_sweep_when_cancelled_then_resumed_never_reruns_a_finished_point(
        self, tmp_path: Path
    ) -> None:
        """Cancel keeps finished points; the resume runs only the others."""
        db = tmp_path / "db.duckdb"
        spec = sweep_spec_from(BASE, {"parameters": {"seed": [1, 2, 3, 4, 5]}})
        sweep_id = start_sweep(spec, db)
        stop = threading.Event()
        first = FakeExecutor(lambda s: s["seed"])
        result = run_sweep(
            db, sweep_id, first, slots=1, cancel=stop, on_progress=_cancel_after(2, stop)
        )
        # the point submitted before the cancel was set finishes too
        assert (result.status, result.ran, result.done) == ("cancelled", 3, 3)
        assert load_sweep(db, sweep_id).overview.status == "cancelled"
        second = FakeExecutor(lambda s: s["seed"])
        resumed = run_sweep(db, sweep_id, second, slots=1)
        assert (resumed.status, resumed.ran, resumed.skipped, resumed.done) == ("finished", 2, 3, 5)
        assert not set(first.submitted) & set(second.submitted)

    def test_run_sweep_when_resumed_by_id_prefix_finds_the_sweep(self, tmp_path: Path) -> None:
        """A resume may name the sweep by the first characters of its id."""
        db = tmp_path / "db.duckdb"
        sweep_id = start_sweep(sweep_spec_from(BASE, {"parameters": {"seed": [1]}}), db)
        result = run_sweep(db, sweep_id[:7], FakeExecutor(lambda s: 1.0), slots=1)
        assert result.sweep_id == sweep_id

    def test_run_sweep_when_interrupted_marks_cancelled_and_reraises(self, tmp_path: Path) -> None:
        """Ctrl-C during a sweep leaves it cancelled, with its finished points kept."""
        db = tmp_path / "db.duckdb"
        sweep_id = start_sweep(sweep_spec_from(BASE, {"parameters": {"seed": [1, 2, 3]}}), db)

        def interrupt(progress: SweepProgress) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            run_sweep(db, sweep_id, FakeExecutor(lambda s: 1.0), slots=1, on_progress=interrupt)
        record = load_sweep(db, sweep_id)
        assert (record.overview.status, record.overview.done) == ("cancelled", 1)

    def test_run_sweep_when_resumed_with_retry_failed_reruns_only_failures(
        self, tmp_path: Path
    ) -> None:
        """``retry_failed`` runs failed points again, done points still not."""
        db = tmp_path / "db.duckdb"
        sweep_id = start_sweep(sweep_spec_from(BASE, {"parameters": {"seed": [1, 2]}}), db)

        class Flaky(FakeExecutor):
            def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
                if args[0].settings["seed"] == 2:
                    self.submitted.append(args[0].point_id)
                    future: Future[Any] = Future()
                    future.set_exception(OSError("worker lost"))
                    return future
                return super().submit(fn, *args, **kwargs)

        first = run_sweep(db, sweep_id, Flaky(lambda s: 1.0), slots=1)
        assert (first.done, first.failed) == (1, 1)
        again = FakeExecutor(lambda s: 1.0)
        result = run_sweep(db, sweep_id, again, slots=1, retry_failed=True)
        assert (result.ran, result.done, result.failed) == (1, 2, 0)

    def test_run_sweep_when_tpe_asks_samples_trials_and_stores_each_point_once(
        self, tmp_path: Path
    ) -> None:
        """A TPE search asks ``samples`` trials; repeated asks do not run a point twice."""
        db = tmp_path / "db.duckdb"
        spec = sweep_spec_from(
            BASE,
            {
                "method": "tpe",
                "samples": 12,
                "seed": 4,
                "parameters": {"seed": {"low": 0, "high": 6}},
            },
        )
        executor = FakeExecutor(lambda s: -((s["seed"] - 4) ** 2))
        result = run_sweep(db, start_sweep(spec, db), executor, slots=2)
        assert result.status == "finished"
        assert len(executor.submitted) == len(set(executor.submitted)) == result.done
        assert result.best[0].params["seed"] == 4

    def test_run_sweep_when_tpe_resumed_asks_only_the_remaining_trials(
        self, tmp_path: Path
    ) -> None:
        """A resumed search is primed with its finished points and asks the rest."""
        db = tmp_path / "db.duckdb"
        spec = sweep_spec_from(
            BASE,
            {
                "method": "tpe",
                "samples": 6,
                "seed": 1,
                "parameters": {"capital": {"low": 10, "high": 5000}},
            },
        )
        sweep_id = start_sweep(spec, db)
        stop = threading.Event()
        first = FakeExecutor(lambda s: float(s["capital"]))
        run_sweep(db, sweep_id, first, slots=1, cancel=stop, on_progress=_cancel_after(2, stop))
        second = FakeExecutor(lambda s: float(s["capital"]))
        result = run_sweep(db, sweep_id, second, slots=1)
        assert (result.skipped, result.ran, result.total) == (3, 3, 6)
        assert not set(first.submitted) & set(second.submitted)


# --- real backtests ------------------------------------------------------------------------------


RECORDING = Path(__file__).resolve().parents[1] / "fixtures" / "recordings" / "sim-6pairs-3min"
"""The committed simulator recording; its first 15 s over one triangle: 273 frames, 3 cycles."""


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return {
        "events": [str(RECORDING)],
        "end": "2024-05-01T10:00:15Z",
        "symbols": ["BTC/USD", "ETH/USD", "ETH/BTC"],
        "balances": {"USD": "10000", "BTC": "1", "ETH": "10"},
    }


@pytest.fixture(scope="module")
def pool() -> Iterator[ExecutorHandle]:
    """The local process pool, two workers, shared by this module's tests."""
    with open_executor(workers=2) as handle:
        yield handle


def _comparable(db: Path, report_id: str | None) -> dict[str, Any]:
    """A stored report's body without the code version (commits land while tests run)."""
    assert report_id is not None
    body = dict(load_report(db, report_id).body)
    body.pop("code_version")
    return body


class TestOnWorkers:
    def test_sweep_when_run_on_dask_local_cluster_equals_process_pool(
        self, tmp_path: Path, base: dict[str, Any], pool: ExecutorHandle
    ) -> None:
        """The same sweep on an in-process Dask cluster gives the pool's reports, point by point."""
        from distributed import LocalCluster

        db = tmp_path / "db.duckdb"
        spec = sweep_spec_from(base, {"parameters": {"parameters.min_profit_bps": [0, 5, 1000]}})
        on_pool = start_sweep(spec, db)
        run_sweep(db, on_pool, pool.executor, slots=pool.slots)
        with (
            LocalCluster(  # in this process; its HTTP endpoints on loopback only
                n_workers=1,
                threads_per_worker=1,
                processes=False,
                dashboard_address="127.0.0.1:0",
                worker_dashboard_address="127.0.0.1:0",
            ) as cluster,
            open_executor(cluster.scheduler_address, log_level=None) as dask,
        ):
            on_dask = start_sweep(spec, db)
            run_sweep(db, on_dask, dask.executor, slots=dask.slots, where=dask.where)
        pool_points = {p.point_id: p for p in load_sweep(db, on_pool).points}
        dask_points = {p.point_id: p for p in load_sweep(db, on_dask).points}
        assert pool_points.keys() == dask_points.keys()
        assert len(pool_points) == 3
        for point_id, pooled in pool_points.items():
            remote = dask_points[point_id]
            assert (remote.status, remote.objective_value) == ("done", pooled.objective_value)
            assert _comparable(db, remote.report_id) == _comparable(db, pooled.report_id)

    def test_sweep_when_a_point_fails_records_its_error_and_goes_on(
        self, tmp_path: Path, base: dict[str, Any], pool: ExecutorHandle
    ) -> None:
        """A point whose settings are refused is stored failed with the error; the rest run."""
        db = tmp_path / "db.duckdb"
        spec = sweep_spec_from(base, {"parameters": {"fill_model": ["depth", "nonsense", "top"]}})
        with structlog.testing.capture_logs() as logs:
            result = run_sweep(db, start_sweep(spec, db), pool.executor, slots=pool.slots)
        assert (result.status, result.done, result.failed) == ("finished", 2, 1)
        (failed,) = [p for p in load_sweep(db, result.sweep_id).points if p.status == "failed"]
        assert failed.params == {"fill_model": "nonsense"}
        assert failed.error is not None
        assert failed.error.startswith("ConfigError: backtest.fill_model: expected one of")
        assert [e["point_id"] for e in logs if e["event"] == "sweep.point_failed"] == [
            failed.point_id
        ]

    def test_sweep_when_cancelled_and_resumed_on_the_pool_redoes_no_finished_point(
        self, tmp_path: Path, base: dict[str, Any], pool: ExecutorHandle
    ) -> None:
        """Cancel after one point on the pool; the resume runs the other two and no more."""
        db = tmp_path / "db.duckdb"
        spec = sweep_spec_from(base, {"parameters": {"parameters.min_profit_bps": [0, 5, 1000]}})
        sweep_id = start_sweep(spec, db)
        stop = threading.Event()
        first = CountingExecutor(pool.executor)
        cancelled = run_sweep(
            db, sweep_id, first, slots=1, cancel=stop, on_progress=_cancel_after(1, stop)
        )
        # one point, and the one submitted before the cancel was seen unless it was cancelled
        # before a worker took it
        assert cancelled.status == "cancelled"
        assert cancelled.done in (1, 2)
        second = CountingExecutor(pool.executor)
        resumed = run_sweep(db, sweep_id, second, slots=pool.slots)
        assert (resumed.status, resumed.done, resumed.skipped) == ("finished", 3, cancelled.done)
        assert resumed.ran == len(second.submitted) == 3 - cancelled.done
        finished_first = {p.point_id for p in load_sweep(db, sweep_id).points} - set(
            second.submitted
        )
        assert len(finished_first) == cancelled.done


class TestCommandLine:
    @staticmethod
    def _main(argv: list[str]) -> int:
        parser = argparse.ArgumentParser(prog="arbitrade backtest")
        register_sweep(parser.add_subparsers(dest="backtest_command"))
        args = parser.parse_args(argv)
        code: int = args.handler(args)
        return code

    def test_sweep_command_when_file_breaks_a_rule_exits_1_with_one_line(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bad sweep file starts nothing and prints one line naming the key."""
        config = tmp_path / "sweep.toml"
        config.write_text('[sweep]\nmethod = "anneal"\n[sweep.parameters]\nseed = [1]\n')
        code = self._main(["sweep", "--config", str(config), "--db", str(tmp_path / "db")])
        err = capsys.readouterr().err
        assert code == 1
        assert err.strip().splitlines() == [
            "configuration error: sweep.method: expected one of grid, random, tpe, got 'anneal'"
        ]

    def test_sweep_command_when_run_then_list_and_show_find_it(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """``sweep`` runs on the pool and prints JSON; ``list`` and ``show`` read it back."""
        config = tmp_path / "sweep.toml"
        config.write_text(
            f"[backtest]\nevents = [{str(RECORDING)!r}]\n"
            'end = "2024-05-01T10:00:15Z"\nsymbols = ["BTC/USD", "ETH/USD", "ETH/BTC"]\n'
            '[backtest.balances]\nUSD = "10000"\n'
            '[sweep]\nobjective = "net_pnl"\n[sweep.parameters]\nfill_model = ["depth", "top"]\n'
        )
        db = str(tmp_path / "db.duckdb")
        assert (
            self._main(["sweep", "--config", str(config), "--db", db, "--workers", "1", "--json"])
            == 0
        )
        ran = orjson.loads(capsys.readouterr().out)
        assert (ran["status"], ran["done"], ran["failed"]) == ("finished", 2, 0)
        assert self._main(["sweep", "list", "--db", db, "--json"]) == 0
        (listed,) = orjson.loads(capsys.readouterr().out)
        assert listed["sweep_id"] == ran["sweep_id"]
        assert self._main(["sweep", "show", ran["sweep_id"][:6], "--db", db]) == 0
        assert ran["sweep_id"] in capsys.readouterr().out
        assert [s.sweep_id for s in list_sweeps(Path(db))] == [ran["sweep_id"]]
