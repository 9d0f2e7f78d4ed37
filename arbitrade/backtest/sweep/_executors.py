"""Where points run: a local process pool (the default) or a Dask cluster, as an Executor.

Both are ``concurrent.futures.Executor`` objects, so the coordinator does not know which it
has. The local pool starts its processes with ``forkserver``: a fresh server process imports
the backtest engine once (``set_forkserver_preload``) and forks each worker from itself, so a
worker starts in milliseconds without paying the imports again, and nothing is forked from
the coordinator (which holds DuckDB's and rich's threads). Workers ignore Ctrl-C, which the
coordinator handles. Dask's ``Client.get_executor()`` offers the same interface over a cluster; its
workers must be able to import ``arbitrade`` and read the recording at the same path.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

import attrs
import structlog

from arbitrade.backtest.sweep._errors import ExecutorUnavailable
from arbitrade.backtest.sweep._worker import init_worker

log = structlog.get_logger(__name__)

LOCAL_POOL = "local process pool"
_PRELOAD = ("arbitrade.backtest.sweep._worker", "pyarrow.dataset", "pandas")
"""Imported once by the fork server: the engine, and what reading a partitioned recording
imports on first use (pyarrow's datasets pull in pandas); seconds per worker otherwise."""


@attrs.frozen
class ExecutorHandle:
    """An open executor and how many points to keep in flight on it."""

    executor: Executor
    slots: int
    """Points submitted at once: one per worker process (local) or per worker thread (Dask)."""
    where: str
    """``local process pool`` or the scheduler address."""
    log_level: str | None
    """Log level each point sets in its worker (None for the local pool: set at start)."""


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _worker_pid() -> int:
    time.sleep(0.05)  # long enough for the other idle workers to take the other calls
    return os.getpid()


def warm_up(handle: ExecutorHandle, *, rounds: int = 5) -> float:
    """Start the executor's workers now (not with the first points); return the seconds taken.

    Submits ``slots`` trivial calls per round until as many distinct worker processes have
    answered, or ``rounds`` rounds have passed (a Dask worker with several threads is one
    process). The benchmark calls it so that start-up is not counted as per-point overhead.
    """
    started = time.perf_counter()
    seen: set[int] = set()
    for _ in range(rounds):
        futures = [handle.executor.submit(_worker_pid) for _ in range(handle.slots)]
        seen.update(future.result() for future in futures)
        if len(seen) >= handle.slots:
            break
    return time.perf_counter() - started


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the worker processes now (Ctrl-C, errors)."""
    pool.shutdown(wait=False, cancel_futures=True)
    # running points would otherwise finish first; their results are not wanted any more
    processes: dict[int, Any] = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        process.terminate()


@contextmanager
def open_executor(
    scheduler: str | None = None,
    *,
    workers: int | None = None,
    log_level: str | None = "WARNING",
) -> Iterator[ExecutorHandle]:
    """Open a local process pool, or connect to the Dask scheduler at ``scheduler``.

    ``workers`` is the local pool's size (default: one per core); with a scheduler it is
    the number of points kept in flight when the cluster reports no worker threads yet.
    On a normal exit the local pool waits for its processes; on an exception (Ctrl-C
    included) it cancels pending points and terminates its processes, and the Dask client
    cancels the sweep's tasks. Either way the exception propagates.

    As with any ``spawn`` or ``forkserver`` pool, a script that opens the local pool must
    start from an ``if __name__ == "__main__":`` guard: each worker re-imports the main
    module (the ``arbitrade`` command and ``python -m arbitrade`` are safe).

    Raises:
        ExecutorUnavailable: the scheduler cannot be reached (within 10 s), or ``distributed``
            is not installed (``uv sync --extra research``).
        ValueError: ``workers`` is less than 1.
    """
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be 1 or more, got {workers}")
    if scheduler is None:
        size = workers or default_workers()
        context = multiprocessing.get_context("forkserver")
        # takes effect when this process starts its fork server (once; later pools reuse it)
        context.set_forkserver_preload(list(_PRELOAD))
        pool = ProcessPoolExecutor(
            max_workers=size,
            mp_context=context,
            initializer=init_worker,
            initargs=(log_level,),
        )
        log.info("sweep.executor_opened", where=LOCAL_POOL, workers=size)
        try:
            yield ExecutorHandle(pool, size, LOCAL_POOL, None)
        except BaseException:
            _stop_pool(pool)
            raise
        pool.shutdown(wait=True)
        return
    yield from _dask(scheduler, workers, log_level)


def _dask(scheduler: str, workers: int | None, log_level: str | None) -> Iterator[ExecutorHandle]:
    try:
        import distributed
    except ImportError as error:
        raise ExecutorUnavailable(
            scheduler, "dask.distributed is not installed (uv sync --extra research)"
        ) from error
    client_class: Any = distributed.Client  # untyped library: keep it at this seam
    try:
        client = client_class(scheduler, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise ExecutorUnavailable(scheduler, f"cannot reach the scheduler: {error}") from error
    try:
        threads = sum(client.nthreads().values())
        slots = threads or workers or 1
        log.info("sweep.executor_opened", where=scheduler, worker_threads=threads, slots=slots)
        executor = client.get_executor(pure=False)
        try:
            yield ExecutorHandle(executor, slots, scheduler, log_level)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        executor.shutdown(wait=True)
    finally:
        client.close()
