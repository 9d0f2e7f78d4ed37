"""The simulator in a child process (sim mode's default): it serves, it stops with the bot."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
import trio

from arbitrade.sim import SimulatorProcessError, serve_simulator_process


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead
        return stat.read().split()[2] != "Z"


async def test_serve_when_started_answers_rest_and_stops_the_child_when_cancelled() -> None:
    """The child answers Kraken's REST on the reported URL; cancelling stops it."""
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(serve_simulator_process, 7)
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{handle.rest_url}/0/public/Time")
        assert answer.json()["error"] == []
        assert handle.ws_public_url.endswith("/v2")
        assert alive(handle.pid)
        nursery.cancel_scope.cancel()
    assert not alive(handle.pid)  # stopped and reaped before the nursery exits


async def test_serve_when_the_port_is_taken_raises_with_the_child_output() -> None:
    """A child that cannot listen exits; the error says it did not start, with its output."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SimulatorProcessError, match=r"did not start.*cannot listen"):
            await serve_simulator_process(7, port)


async def test_serve_when_running_long_keeps_the_child_alive() -> None:
    """The child outlives Trio's idle worker threads (one of them started it; a signal tied
    to that thread, PR_SET_PDEATHSIG, once stopped the simulator after about ten seconds)."""
    async with trio.open_nursery() as nursery:
        handle = await nursery.start(serve_simulator_process, 7)
        await trio.sleep(12)
        assert alive(handle.pid)
        nursery.cancel_scope.cancel()


def test_serve_when_the_bot_is_killed_the_child_goes_too() -> None:
    """SIGKILL of the parent (no clean-up runs) still ends the simulator child: its stdin
    closes with the parent."""
    script = (
        "import trio\n"
        "from arbitrade.sim import serve_simulator_process\n"
        "async def main():\n"
        "    async with trio.open_nursery() as n:\n"
        "        h = await n.start(serve_simulator_process, 7)\n"
        "        print(h.pid, flush=True)\n"
        "trio.run(main)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child)
    finally:
        parent.kill()
