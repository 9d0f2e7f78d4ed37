"""The network face of the simulator: one loopback port for REST, WS v2 and the control API.

A small raw ASGI app served by Hypercorn's Trio worker handles both scopes: HTTP for
``/0/public/*``, ``/0/private/*`` and ``/sim/*`` (fault knobs, mispricing hook, order record),
and WebSocket for ``/v2`` (public) and ``/v2-auth`` (private). A timer task advances the
market one tick every ``tick_seconds``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, MutableMapping
from functools import partial
from typing import Any

import attrs
import orjson
import structlog
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from arbitrade.sim._config import SimConfig
from arbitrade.sim._errors import SimConfigError, UnknownSymbol
from arbitrade.sim._rest import handle_rest
from arbitrade.sim._simulator import Simulator
from arbitrade.sim._ws import Connection

log = structlog.get_logger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_DROP_CLOSE_CODE = 1011


class LoopbackUrls:
    """The simulator's URLs from its ``host`` and ``port`` (wherever it runs)."""

    host: str
    port: int

    @property
    def rest_url(self) -> str:
        """Base URL for REST (``/0/public/...`` and ``/0/private/...`` go below it)."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_public_url(self) -> str:
        return f"ws://{self.host}:{self.port}/v2"

    @property
    def ws_private_url(self) -> str:
        return f"ws://{self.host}:{self.port}/v2-auth"

    @property
    def control_url(self) -> str:
        """Base of the control API (``POST /sim/faults``, ``POST /sim/mispricing``...)."""
        return f"http://{self.host}:{self.port}/sim"


@attrs.frozen
class RunningSimulator(LoopbackUrls):
    """What :func:`serve_simulator` reports once it listens."""

    simulator: Simulator
    host: str
    port: int


class SimulatorApp:
    """The ASGI application over one :class:`Simulator`."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._ids = random.Random(sim.config.seed ^ 0xC0FFEE)  # noqa: S311 - ids, not secrets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if path.startswith("/sim/"):
            status, payload = self._control(scope["method"], path, body)
        else:
            if self.sim.faults.ack_delay_seconds:
                await trio.sleep(self.sim.faults.ack_delay_seconds)
            status, payload = handle_rest(
                self.sim, scope["method"], path, scope.get("query_string", b""), headers, body
            )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    def _control(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        sim = self.sim
        try:
            data = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            return 400, orjson.dumps({"error": "body must be JSON"})
        if not isinstance(data, dict):
            return 400, orjson.dumps({"error": "body must be a JSON object"})
        try:
            if path == "/sim/faults" and method == "GET":
                return 200, orjson.dumps(sim.faults.as_dict())
            if path == "/sim/faults" and method == "POST":
                return 200, orjson.dumps(sim.set_faults(data).as_dict())
            if path == "/sim/mispricing" and method == "POST":
                mispricing = sim.inject_mispricing(
                    str(data.get("symbol")),
                    float(data.get("deviation_bps", 0)),
                    int(data.get("lifetime_ticks", 20)),
                )
                return 200, orjson.dumps(attrs.asdict(mispricing))
            if path == "/sim/orders" and method == "GET":
                return 200, orjson.dumps([attrs.asdict(o) for o in sim.received_orders])
        except (SimConfigError, UnknownSymbol, ValueError, TypeError) as error:
            return 400, orjson.dumps({"error": str(error)})
        return 404, orjson.dumps({"error": f"no control endpoint {method} {path}"})

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        if path not in ("/v2", "/v2-auth"):
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "websocket.accept"})
        # Kraken's connection ids are unsigned 64-bit and can exceed 2**63.
        connection = Connection(
            self.sim, private=path == "/v2-auth", connection_id=self._ids.getrandbits(64)
        )
        closed_by_client = False

        async def receive_text() -> str | None:
            nonlocal closed_by_client
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    closed_by_client = True
                    return None
                if message["type"] == "websocket.receive":
                    text = message.get("text")
                    if text is None:
                        text = (message.get("bytes") or b"").decode("utf-8", "replace")
                    return str(text)

        async def send_text(text: str) -> None:
            await send({"type": "websocket.send", "text": text})

        log.debug("sim.ws.connected", path=path, connection_id=connection.connection_id)
        try:
            await connection.run(send_text, receive_text)
        except Exception:
            log.exception("sim.ws.crashed", connection_id=connection.connection_id)
            raise
        if not closed_by_client:
            await send({"type": "websocket.close", "code": _DROP_CLOSE_CODE})


async def _tick(sim: Simulator) -> None:
    interval = sim.model.settings.tick_seconds
    next_at = trio.current_time()
    while True:
        next_at += interval
        await trio.sleep_until(next_at)
        sim.step()
        behind = trio.current_time() - next_at
        if behind > 10 * interval:  # the machine stalled: skip ahead rather than burst,
            sim.model.skip(behind)  # and keep the stamps on the wall clock
            next_at = trio.current_time()


async def serve_simulator(
    config: SimConfig | None = None,
    *,
    simulator: Simulator | None = None,
    task_status: trio.TaskStatus[RunningSimulator] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the simulator on loopback until cancelled.

    Binds ``config.host:config.port`` (port 0 picks a free port), then reports a
    :class:`RunningSimulator` (port, URLs and the :class:`Simulator` for the Python API)
    through ``task_status.started``; use it as ``running = await nursery.start(
    serve_simulator, config)``. The market ticks every ``config.market.tick_seconds`` unless
    ``config.ticking`` is false. Cancelling the enclosing scope stops the server and closes
    every connection.

    Args:
        config: settings; the defaults serve the whole universe with the default test key.
        simulator: an already built simulator to serve (its config is used then).

    Raises:
        OSError: the address cannot be bound (before ``started`` is reported).
        SimConfigError: the fee profiles file does not fit.
    """
    if simulator is None:
        config = config or SimConfig()
        market = attrs.evolve(config.market, start_time=time.time())
        simulator = Simulator(attrs.evolve(config, market=market))
    sim = simulator
    hyper = HypercornConfig()
    hyper.bind = [f"{sim.config.host}:{sim.config.port}"]
    hyper.accesslog = None
    hyper.errorlog = None
    hyper.websocket_ping_interval = None
    async with trio.open_nursery() as nursery:
        app: Any = SimulatorApp(sim)
        binds: list[str] = await nursery.start(partial(serve, app, hyper))
        port = int(binds[0].rsplit(":", 1)[1])
        if sim.config.ticking:
            nursery.start_soon(_tick, sim)
        running = RunningSimulator(sim, sim.config.host, port)
        log.info(
            "sim.listening",
            rest_url=running.rest_url,
            ws_public_url=running.ws_public_url,
            seed=sim.config.seed,
            pairs=len(sim.universe.pairs),
        )
        task_status.started(running)
