"""Parameter sweeps: many backtests of one recording, on a local process pool or a Dask cluster.

A sweep takes a base backtest configuration and a parameter space (a grid, seeded random
draws, or an Optuna TPE search driven ask-and-tell by the coordinator), runs each point as one
backtest in a worker process (one ``trio.run`` per point), stores each report in
``backtest_reports`` and each point in ``sweep_points``, and ranks the points by an objective
(net PnL, Sharpe, Calmar...). A failing point is recorded with its error and the sweep goes
on; a sweep stopped (Ctrl-C) resumes with ``--resume SWEEP_ID`` without running its finished
points again. Layering, bottom up: ``_space`` and ``_objective`` (points and ranking),
``_spec`` (a sweep file), ``_worker`` (what runs in a worker), ``_executors`` (pool or Dask),
``_store`` (the tables), ``_sources`` (grid/random lists, TPE), ``_coordinator`` (the loop).

Running on one machine (one worker process per core)::

    arbitrade backtest sweep --config config/sweep.example.toml

Running on a Dask cluster. Every machine needs this checkout (or the package) installed with
the research extra (``uv sync --extra research``) and the recording at the same absolute path
(a shared filesystem); the coordinator's machine alone writes the DuckDB file::

    # on the scheduler's machine (8786 is Dask's default port)
    .venv/bin/dask scheduler --host 0.0.0.0 --port 8786
    # on each worker machine: one single-threaded worker process per core
    .venv/bin/dask worker tcp://SCHEDULER_HOST:8786 --nworkers auto --nthreads 1
    # on the coordinator's machine
    arbitrade backtest sweep --config config/sweep.example.toml --scheduler tcp://SCHEDULER_HOST:8786

Use ``--nthreads 1``: backtests in one process run one at a time (``run_backtest`` seeds
Trio's process-wide scheduler), so more threads per worker process add nothing.
"""

from arbitrade.backtest.sweep._coordinator import SweepProgress as SweepProgress
from arbitrade.backtest.sweep._coordinator import SweepResult as SweepResult
from arbitrade.backtest.sweep._coordinator import run_sweep as run_sweep
from arbitrade.backtest.sweep._coordinator import start_sweep as start_sweep
from arbitrade.backtest.sweep._errors import ExecutorUnavailable as ExecutorUnavailable
from arbitrade.backtest.sweep._errors import SweepError as SweepError
from arbitrade.backtest.sweep._errors import SweepNotFound as SweepNotFound
from arbitrade.backtest.sweep._errors import SweepStoreUnavailable as SweepStoreUnavailable
from arbitrade.backtest.sweep._executors import ExecutorHandle as ExecutorHandle
from arbitrade.backtest.sweep._executors import default_workers as default_workers
from arbitrade.backtest.sweep._executors import open_executor as open_executor
from arbitrade.backtest.sweep._executors import warm_up as warm_up
from arbitrade.backtest.sweep._objective import OBJECTIVES as OBJECTIVES
from arbitrade.backtest.sweep._objective import Objective as Objective
from arbitrade.backtest.sweep._space import METHODS as METHODS
from arbitrade.backtest.sweep._space import Choice as Choice
from arbitrade.backtest.sweep._space import FloatRange as FloatRange
from arbitrade.backtest.sweep._space import IntRange as IntRange
from arbitrade.backtest.sweep._space import ParameterSpace as ParameterSpace
from arbitrade.backtest.sweep._space import Point as Point
from arbitrade.backtest.sweep._space import point_id as point_id
from arbitrade.backtest.sweep._spec import SweepSpec as SweepSpec
from arbitrade.backtest.sweep._spec import load_sweep_spec as load_sweep_spec
from arbitrade.backtest.sweep._spec import sweep_spec_from as sweep_spec_from
from arbitrade.backtest.sweep._store import PointRow as PointRow
from arbitrade.backtest.sweep._store import SweepOverview as SweepOverview
from arbitrade.backtest.sweep._store import SweepRecord as SweepRecord
from arbitrade.backtest.sweep._store import list_sweeps as list_sweeps
from arbitrade.backtest.sweep._store import load_sweep as load_sweep
from arbitrade.backtest.sweep._worker import PointOutcome as PointOutcome
from arbitrade.backtest.sweep._worker import PointTask as PointTask
from arbitrade.backtest.sweep._worker import run_point as run_point
