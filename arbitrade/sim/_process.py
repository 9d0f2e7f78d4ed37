"""The simulator in a child process of its own (``arbitrade sim``), for sim mode.

On the bot's Trio loop the simulator's market model (every pair of the universe, ten ticks a
second) takes about half of that loop's time, and a bot that shares its core with the exchange
reads the exchange seconds late: its feeds call their books stale and it stops trading. In a
child process the simulator has a core of its own, as Kraken has its own machines.

:func:`serve_simulator_process` starts ``python -m arbitrade sim --port P --seed S``, waits for
its "listening on port" line, reports a :class:`SimulatorProcessHandle` (the same URLs as
:class:`~arbitrade.sim.RunningSimulator`), and stops the child when cancelled: SIGTERM, then
SIGKILL after two seconds. The child also stops when its standard input closes
(``--stop-with-stdin``): the bot holds that pipe, so a bot that dies unannounced (SIGKILL)
leaves no simulator holding a port. (Not ``PR_SET_PDEATHSIG``: Trio starts processes from a
worker thread, and that signal fires when the thread, not the process, goes.)

What goes wrong: a child that exits or prints no port within ``start_timeout`` seconds raises
:class:`SimulatorProcessError` with the end of its output; a child that dies later raises it
too, so the bot's nursery stops rather than trading against nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from typing import Final

import attrs
import trio

from arbitrade.sim._server import LoopbackUrls

__all__ = ["SimulatorProcessError", "SimulatorProcessHandle", "serve_simulator_process"]

_LISTENING: Final = re.compile(rb"arbitrade sim listening on port (\d+)")


class SimulatorProcessError(RuntimeError):
    """The simulator's child process did not start, or stopped while the bot ran."""


@attrs.frozen
class SimulatorProcessHandle(LoopbackUrls):
    """Where the child simulator listens (the URLs of :class:`LoopbackUrls`), and its pid."""

    host: str
    port: int
    pid: int


async def serve_simulator_process(
    seed: int,
    port: int = 0,
    *,
    start_timeout: float = 60.0,
    task_status: trio.TaskStatus[SimulatorProcessHandle] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``arbitrade sim`` on 127.0.0.1 until cancelled (see the module docstring)."""
    command = [sys.executable, "-m", "arbitrade", "sim", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--seed", str(seed), "--log-level", "WARNING"]
    command += ["--stop-with-stdin"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = await trio.lowlevel.open_process(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.PIPE,  # held until the bot ends; closed (even by a crash), the child stops
        env=env,
    )
    assert process.stdout is not None
    output = bytearray()
    try:
        with trio.move_on_after(start_timeout):
            while (match := _LISTENING.search(output)) is None:
                chunk = await process.stdout.receive_some(4096)
                if not chunk:
                    break
                output += chunk
        if match is None:
            tail = output[-2000:].decode(errors="replace")
            raise SimulatorProcessError(f"the simulator did not start: {tail!r}")
        task_status.started(SimulatorProcessHandle("127.0.0.1", int(match.group(1)), process.pid))
        # Keep reading (a full pipe would block the child); its later output is its warnings.
        while chunk := await process.stdout.receive_some(65536):
            sys.stderr.write(chunk.decode(errors="replace"))
        code = await process.wait()
        raise SimulatorProcessError(f"the simulator stopped (exit code {code})")
    finally:
        with trio.CancelScope(shield=True):
            await _stop(process)


async def _stop(process: trio.Process) -> None:
    """Close the child's stdin (it stops by itself), then SIGTERM, then SIGKILL."""
    if process.stdin is not None:
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await process.stdin.aclose()
    for ask in (None, signal.SIGTERM):
        if process.returncode is not None:
            return
        if ask is not None:
            process.send_signal(ask)
        with trio.move_on_after(2.0):
            await process.wait()
    if process.returncode is None:
        process.kill()
        await process.wait()
