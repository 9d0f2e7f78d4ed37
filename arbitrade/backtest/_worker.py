"""Backtests in a worker process: the dashboard starts one without taking the live loop's CPU.

:func:`check_backtest` validates a form's values (in a thread: it reads the recording) and
returns the settings or the one :class:`~arbitrade.config.ConfigError` to show beside the field.
:func:`run_in_worker` starts a ``spawn``-ed process that loads, replays, stores the report and
streams progress back through a pipe; the calling Trio task receives each progress step and
finally the report id. Cancelling the calling task terminates the process (nothing stored).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Awaitable, Callable, Mapping
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import trio

from arbitrade.backtest._errors import BacktestFailed
from arbitrade.backtest._inputs import prepare_inputs
from arbitrade.backtest._settings import BacktestSettings, backtest_settings_from
from arbitrade.config import ConfigError


async def check_backtest(values: Mapping[str, Any]) -> BacktestSettings:
    """Settings from a form's values, checked against their recording (off the Trio loop).

    Raises:
        ConfigError: the first violated rule, naming ``backtest.<field>``.
    """

    def check() -> BacktestSettings:
        settings = backtest_settings_from(values)
        prepare_inputs(settings, hash_files=False)
        return settings

    return await trio.to_thread.run_sync(check)


def _work(values: dict[str, Any], database: str, pipe: Connection) -> None:
    """The worker process: run, store, report back (never raises: errors are sent)."""
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    try:
        from arbitrade.backtest._run import run_backtest
        from arbitrade.backtest._store import store_report

        inputs = prepare_inputs(backtest_settings_from(values))
        report = run_backtest(
            inputs, progress=lambda done, total: pipe.send(("progress", done, total))
        )
        store_report(Path(database), report)
        pipe.send(("done", report.report_id))
    except BaseException as error:  # handed to the parent: the process ends either way
        pipe.send(("error", f"{type(error).__name__}: {error}".splitlines()[0]))
    finally:
        pipe.close()


async def run_in_worker(
    values: Mapping[str, Any],
    database: Path,
    on_progress: Callable[[int, int], Awaitable[None]] | None = None,
) -> str:
    """Run a backtest in a new process; return the stored report's id.

    ``on_progress(done, total)`` is awaited for each progress step (every 1024 frames).
    Cancelling the caller terminates the worker at once.

    Raises:
        ConfigError: the values break a rule (checked in the worker, reported here).
        BacktestFailed: the worker ended without a report (its error, or it died).
    """
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(
        target=_work,
        args=(dict(values), str(database), child),
        name="arbitrade-backtest",
        daemon=True,
    )
    process.start()
    child.close()
    try:
        while True:
            ready = await trio.to_thread.run_sync(parent.poll, 0.2, abandon_on_cancel=True)
            if not ready:
                if not process.is_alive() and not parent.poll():
                    raise BacktestFailed(f"the worker died (exit code {process.exitcode})")
                continue
            try:
                message = parent.recv()
            except EOFError:
                raise BacktestFailed(f"the worker died (exit code {process.exitcode})") from None
            if message[0] == "progress" and on_progress is not None:
                await on_progress(message[1], message[2])
            elif message[0] == "done":
                return str(message[1])
            elif message[0] == "error":
                text = str(message[1])
                if text.startswith("ConfigError: "):
                    setting, _, problem = text.removeprefix("ConfigError: ").partition(": ")
                    raise ConfigError(setting, problem)
                raise BacktestFailed(text)
    finally:
        if process.is_alive():
            process.terminate()
        await trio.to_thread.run_sync(process.join, 5)
        parent.close()
