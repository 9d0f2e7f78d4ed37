"""Run the simulator in a background thread with its own Trio loop.

For callers that are not on Trio (asyncio clients such as python-kraken-sdk, browser tests,
plain synchronous scripts). Calls into the simulator must run on its thread:
:meth:`ThreadedSimulator.call` does that.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import attrs
import trio

from arbitrade.sim._config import SimConfig
from arbitrade.sim._server import RunningSimulator, serve_simulator

T = TypeVar("T")


@attrs.frozen
class ThreadedSimulator:
    """A simulator served from another thread; ``running`` has its port and URLs."""

    running: RunningSimulator
    _token: trio.lowlevel.TrioToken

    def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` on the simulator's thread and return its result.

        Use it for every touch of ``running.simulator`` (faults, mispricings, records): the
        simulator is not thread-safe. Exceptions raised by ``function`` propagate here.
        """
        return trio.from_thread.run_sync(function, *args, trio_token=self._token)


@contextmanager
def simulator_in_thread(
    config: SimConfig | None = None, *, start_timeout: float = 30.0
) -> Iterator[ThreadedSimulator]:
    """Serve a simulator from a daemon thread for the duration of the ``with`` block.

    Raises:
        TimeoutError: it did not start within ``start_timeout`` seconds.
        OSError, SimConfigError: starting failed on the thread (re-raised here).
    """
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            box["token"] = trio.lowlevel.current_trio_token()
            box["scope"] = nursery.cancel_scope
            box["running"] = await nursery.start(serve_simulator, config)
            ready.set()

    def target() -> None:
        try:
            trio.run(main)
        except BaseException as error:  # handed to the caller's thread
            box["error"] = error
            ready.set()

    thread = threading.Thread(target=target, name="arbitrade-sim", daemon=True)
    thread.start()
    if not ready.wait(start_timeout):
        raise TimeoutError(f"the simulator did not start within {start_timeout} s")
    if "error" in box:
        raise box["error"]
    token: trio.lowlevel.TrioToken = box["token"]
    try:
        yield ThreadedSimulator(box["running"], token)
    finally:
        trio.from_thread.run_sync(box["scope"].cancel, trio_token=token)
        thread.join(timeout=10)
