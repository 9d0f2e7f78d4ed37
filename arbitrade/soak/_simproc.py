"""The soak's handle on the simulator, in this process or in a child process of its own.

The in-process simulator shares the bot's Trio loop: its work counts in the bot's RSS and
competes for the bot's loop, whose one core the two together outgrow (the feeds then read
seconds behind and call their books stale); the child process is the soak's default, as
``arbitrade run`` in sim mode runs its simulator in one. :class:`SimulatorProcess` runs it
in a child (``python -m arbitrade.soak._simmain SEED EXTRA_ASSETS``) and drives it through a line
protocol on the child's stdin and stdout: one JSON request per line, one JSON answer per line
(``{"ok": ...}`` or ``{"error": "..."}``). The child's first line is its addresses. Both
handles implement :class:`SimulatorControl`, the only way the soak touches the simulator:
fault knobs, dropping connections, the orders it received, an account's balances.

What goes wrong: a child that dies or answers garbage raises :class:`SimulatorGone` on the
next request (the soak then fails loudly, it never guesses); leaving the ``async with`` kills
the child if it does not stop within two seconds of its stdin closing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, Protocol

import attrs
import orjson
import trio

from arbitrade.logs import configure_logging
from arbitrade.sim import DEFAULT_API_KEY, SimConfig, Simulator, serve_simulator


class SimulatorGone(RuntimeError):
    """The simulator's child process died, or answered something that is not the protocol."""


@attrs.frozen
class SimAddresses:
    """Where the simulator listens."""

    port: int
    rest_url: str
    ws_public_url: str
    ws_private_url: str
    control_url: str

    @classmethod
    def of(cls, running: Any) -> SimAddresses:
        """The addresses of a serving simulator (anything with its port and URLs)."""
        return cls(
            running.port,
            running.rest_url,
            running.ws_public_url,
            running.ws_private_url,
            running.control_url,
        )


class SimulatorControl(Protocol):
    """What the soak may do to the simulator, wherever it runs."""

    addresses: SimAddresses
    pid: int | None
    """The child's process id (its RSS is sampled apart); None when in this process."""

    async def set_faults(self, changes: dict[str, Any]) -> None: ...
    async def fault(self, knob: str) -> Any: ...
    async def drop_connections(self) -> None: ...
    async def received_orders(self) -> list[tuple[str | None, bool]]:
        """``(cl_ord_id, accepted)`` per order request received, oldest first."""
        ...

    async def balances(self) -> dict[str, Decimal]: ...
    async def pair_count(self) -> int: ...


def _received(sim: Simulator) -> list[tuple[str | None, bool]]:
    return [(o.cl_ord_id, o.error is None and o.order_id is not None) for o in sim.received_orders]


def _handle(sim: Simulator, request: dict[str, Any]) -> Any:
    """One protocol request against ``sim`` (also the child's dispatcher)."""
    op = request.get("op")
    if op == "set_faults":
        sim.set_faults(request["changes"])
        return None
    if op == "fault":
        return getattr(sim.faults, str(request["knob"]))
    if op == "drop_connections":
        sim.drop_connections()
        return None
    if op == "received_orders":
        return _received(sim)
    if op == "balances":
        balances = sim.engine.accounts[DEFAULT_API_KEY].balances
        return {asset: str(amount) for asset, amount in balances.items()}
    if op == "pair_count":
        return len(sim.universe.pairs)
    raise ValueError(f"unknown op {op!r}")


class InProcessSimulator:
    """:class:`SimulatorControl` over a simulator served on this Trio loop."""

    pid: int | None = None

    def __init__(self, simulator: Simulator, addresses: SimAddresses) -> None:
        self.simulator = simulator
        self.addresses = addresses

    async def set_faults(self, changes: dict[str, Any]) -> None:
        self.simulator.set_faults(changes)

    async def fault(self, knob: str) -> Any:
        return getattr(self.simulator.faults, knob)

    async def drop_connections(self) -> None:
        self.simulator.drop_connections()

    async def received_orders(self) -> list[tuple[str | None, bool]]:
        return _received(self.simulator)

    async def balances(self) -> dict[str, Decimal]:
        return dict(self.simulator.engine.accounts[DEFAULT_API_KEY].balances)

    async def pair_count(self) -> int:
        return len(self.simulator.universe.pairs)


class SimulatorProcess:
    """:class:`SimulatorControl` over a simulator in a child process (see the module)."""

    def __init__(self, process: trio.Process, addresses: SimAddresses) -> None:
        self._process = process
        self.addresses = addresses
        self.pid: int | None = process.pid
        self._lock = trio.Lock()
        self._buffer = bytearray()
        self.answer_timeout = 30.0
        """Seconds the child has to answer one request."""

    async def _ask(self, op: str, **fields: Any) -> Any:
        """Send one request and read its answer. The exchange is shielded from cancellation:
        a caller's timeout that fell between the two would leave the answer in the pipe for
        the next request to read as its own (the soak once read ``None``, the answer to a
        ``set_faults``, as a fault count). The shield has its own deadline,
        :attr:`answer_timeout`, after which the child counts as gone."""
        async with self._lock:
            stdin, stdout = self._process.stdin, self._process.stdout
            if stdin is None or stdout is None:
                raise SimulatorGone("simulator process has no pipes")
            line: bytes | None = None
            with trio.CancelScope(shield=True), trio.move_on_after(self.answer_timeout):
                try:
                    await stdin.send_all(orjson.dumps({"op": op, **fields}) + b"\n")
                    line = await _read_line(stdout, self._buffer)
                except (trio.BrokenResourceError, trio.ClosedResourceError) as error:
                    raise SimulatorGone(f"simulator process: {error}") from error
            if line is None:
                raise SimulatorGone(
                    f"simulator process did not answer {op} in {self.answer_timeout:g} s"
                )
        await trio.lowlevel.checkpoint_if_cancelled()
        answer = _decode(line)
        if "error" in answer:
            raise SimulatorGone(f"simulator refused {op}: {answer['error']}")
        return answer.get("ok")

    async def set_faults(self, changes: dict[str, Any]) -> None:
        await self._ask("set_faults", changes=changes)

    async def fault(self, knob: str) -> Any:
        return await self._ask("fault", knob=knob)

    async def drop_connections(self) -> None:
        await self._ask("drop_connections")

    async def received_orders(self) -> list[tuple[str | None, bool]]:
        return [(cl, bool(ok)) for cl, ok in await self._ask("received_orders")]

    async def balances(self) -> dict[str, Decimal]:
        raw = await self._ask("balances")
        return {asset: Decimal(amount) for asset, amount in raw.items()}

    async def pair_count(self) -> int:
        return int(await self._ask("pair_count"))


async def _read_line(stream: trio.abc.ReceiveStream, buffer: bytearray) -> bytes:
    while b"\n" not in buffer:
        chunk = await stream.receive_some(65536)
        if not chunk:
            raise SimulatorGone("simulator process closed its output")
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line


def _decode(line: bytes) -> dict[str, Any]:
    try:
        answer = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise SimulatorGone(f"simulator answered garbage: {line[:80]!r}") from error
    if not isinstance(answer, dict):
        raise SimulatorGone(f"simulator answered garbage: {line[:80]!r}")
    return answer


@asynccontextmanager
async def simulator_process(
    seed: int, extra_assets: int = 0, *, start_timeout: float = 60.0
) -> AsyncIterator[SimulatorProcess]:
    """Start the simulator in a child process on a free loopback port; stop it on exit.

    Raises:
        SimulatorGone: it did not report its addresses within ``start_timeout`` seconds, or
            died first.
    """
    command = [sys.executable, "-m", "arbitrade.soak._simmain", str(seed), str(extra_assets)]
    process = await trio.lowlevel.open_process(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        first: dict[str, Any] | None = None
        with trio.move_on_after(start_timeout):
            first = _decode(await _read_line(process.stdout, bytearray()))
        if first is None:
            raise SimulatorGone(f"the simulator process did not start in {start_timeout:g} s")
        yield SimulatorProcess(process, SimAddresses(**first))
    finally:
        with trio.CancelScope(shield=True):
            if process.stdin is not None:
                await process.stdin.aclose()
            with trio.move_on_after(2.0):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()


async def serve_child(seed: int, extra_assets: int) -> None:
    """The child: serve, announce the addresses, answer requests until stdin closes."""
    configure_logging(level="WARNING", stream=sys.stderr)  # stdout carries the protocol
    config = SimConfig(seed=seed, port=0, extra_assets=extra_assets)
    stdin = trio.lowlevel.FdStream(os.dup(0))
    async with trio.open_nursery() as nursery:
        running: Any = await nursery.start(serve_simulator, config)
        addresses = SimAddresses.of(running)
        _write(attrs.asdict(addresses))
        buffer = bytearray()
        while True:
            try:
                line = await _read_line(stdin, buffer)
            except SimulatorGone:
                break  # the soak closed our stdin: stop
            try:
                _write({"ok": _handle(running.simulator, orjson.loads(line))})
            except Exception as error:
                _write({"error": f"{type(error).__name__}: {error}"})
        nursery.cancel_scope.cancel()


def _write(payload: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(payload) + b"\n")
    sys.stdout.buffer.flush()
