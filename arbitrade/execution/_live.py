"""The live venue: real orders on Kraken through WebSocket v2, REST as the fallback.

Safety first: :func:`check_live_settings` refuses to start unless the mode is ``live``, an
API key and secret are configured, and the key's declared permissions hold no withdrawal
scope. Tests run it against the simulator only.

Orders go out as WS v2 ``add_order`` (limit, IOC, ``cl_ord_id``, ``deadline``) without waiting
for the acknowledgement, so three legs leave back to back; when the WebSocket is down they go
through REST ``AddOrder``. Fills and every other state change come from the ``executions``
channel (subscribed with ``snap_orders`` and ``snap_trades``, renewed on every reconnect, so
fills that happened while disconnected arrive as the snapshot). A refusal (``EOrder:...``)
becomes a REJECTED report with Kraken's error string; an unknown outcome (timeout, dropped
connection) produces nothing, and the executor's reconnect query settles it.

Reconnects, in the order the executor needs for reconciliation: when the connection goes (or
is replaced before anyone noticed) a ``VenueConnection(False)`` goes out; the new connection's
``executions`` snapshot is turned into reports (fills by their trade ids, open orders with
their totals; Kraken ids learnt from it) and only then comes ``VenueConnection(True)``, so the
executor's queries follow the snapshot. A connection whose snapshot does not come within
:data:`SNAPSHOT_WAIT` seconds is reported up anyway (the queries still settle every order).

The venue keeps the interface's rules itself, since Kraken checks ``cl_ord_id`` uniqueness only
among open orders: an id sent once in this process is never sent again (REJECTED with
``DUPLICATE_REASON``), and an order past its deadline is refused before it is sent.
``query`` asks REST: ``QueryOrders`` by Kraken id when known, else ``OpenOrders`` and then
``ClosedOrders``, both filtered by ``cl_ord_id`` (an order whose acknowledgement was lost with
the connection and that closed since is found there, cancelled or filled; so is an order an
earlier process placed); an order found in none was never received.

Memory is bounded: an order that ended (a terminal report) is kept whole until
``finished_orders_kept`` newer ones have ended; then its Kraken id mapping is dropped (later
executions of it are ignored, as those of another process's orders are) and only its
``cl_ord_id`` is kept, among the last :data:`RETIRED_IDS_KEPT`, to refuse a duplicate.
A query for a forgotten order still works: it asks Kraken by ``cl_ord_id``.

Every fault the venue meets is audited (:mod:`arbitrade.execution._audit`, read from
:attr:`LiveVenue.audit_events`; the trading wiring publishes them): each failed REST attempt
(``venue.rest_error``, retried or given up), the private connection going quiet for
:data:`STALL_AFTER` seconds or an acknowledged order hearing nothing on ``executions`` as long
(``venue.private_stalled``, then ``venue.private_stall_ended``), and each connection change
(``venue.connection``). Storms are throttled to one event per kind and subject every few
seconds, with a count.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

import structlog
import trio

from arbitrade.config import Mode, Settings
from arbitrade.execution._audit import (
    VENUE_BAD_FRAME,
    VENUE_CONNECTION,
    VENUE_PRIVATE_STALL_ENDED,
    VENUE_PRIVATE_STALLED,
    VenueAuditor,
)
from arbitrade.execution._errors import VenueRefusedToStart, VenueUnavailable
from arbitrade.execution._retention import RecentIds, Retention
from arbitrade.execution._venue import (
    DEADLINE_REASON,
    DUPLICATE_REASON,
    ExecType,
    ExecutionReport,
    OrderRequest,
    VenueConnection,
    VenueEvent,
)
from arbitrade.kraken import (
    AddOrder,
    CancelOrder,
    DecodeError,
    Execution,
    ExecutionsMessage,
    KrakenError,
    KrakenException,
    KrakenRestClient,
    KrakenTransportError,
    KrakenWsClient,
    Message,
    RequestTimedOut,
    UnknownOrder,
    normalize_asset,
)
from arbitrade.messages import AuditEvent, BookTop, OrderState, Side

log = structlog.get_logger(__name__)

_EXEC_TYPES: Final = {
    "pending_new": ExecType.PENDING_NEW,
    "new": ExecType.NEW,
    "trade": ExecType.TRADE,
    "filled": ExecType.FILLED,
    "canceled": ExecType.CANCELED,
    "expired": ExecType.EXPIRED,
}
_STATUSES: Final = {
    "pending_new": OrderState.PENDING,
    "new": OrderState.OPEN,
    "partially_filled": OrderState.PARTIALLY_FILLED,
    "filled": OrderState.FILLED,
    "canceled": OrderState.CANCELLED,
    "expired": OrderState.EXPIRED,
}
_REST_STATUSES: Final = {
    "pending": OrderState.PENDING,
    "open": OrderState.OPEN,
    "closed": OrderState.FILLED,
    "canceled": OrderState.CANCELLED,
    "expired": OrderState.EXPIRED,
}
FINISHED_ORDERS_KEPT: Final = 1024
"""Orders that ended the live venue keeps whole by default (their Kraken ids, fees)."""
RETIRED_IDS_KEPT: Final = 65_536
"""Ids of forgotten orders still refused as duplicates (about 100 bytes each)."""
_MIN_DEADLINE: Final = 0.5
_MAX_DEADLINE: Final = 60.0
SNAPSHOT_WAIT: Final = 3.0
"""Seconds a new connection waits for its executions snapshot before it is reported up."""
_WATCH_INTERVAL: Final = 0.05
STALL_AFTER: Final = 2.0
"""Seconds of silence that make a stall: Kraken sends a heartbeat every second when idle, and
an acknowledged order's executions follow within milliseconds."""


def check_live_settings(settings: Settings) -> None:
    """Raise :class:`VenueRefusedToStart` unless live trading is safe to start.

    Rules: mode ``live``; API key and secret present; declared permissions include none
    with withdrawal scope (Kraken cannot be asked, so the declaration is what is checked).
    """
    if settings.mode is not Mode.LIVE:
        raise VenueRefusedToStart("live", f"mode is {settings.mode.value}, not live")
    if not settings.has_credentials:
        raise VenueRefusedToStart("live", "KRAKEN_API_KEY and KRAKEN_API_SECRET are required")
    withdrawal = sorted(p for p in settings.kraken_api_key_permissions if "withdraw" in p)
    if withdrawal:
        raise VenueRefusedToStart(
            "live", f"the API key has withdrawal scope ({', '.join(withdrawal)}): refused"
        )


def _matching(
    orders: Mapping[str, Mapping[str, Any]], cl_ord_id: str
) -> tuple[str, Mapping[str, Any]] | None:
    """The (Kraken id, info) of the order carrying ``cl_ord_id``; the filter is checked here
    too, so an answer that ignored it cannot name another order."""
    for order_id, info in orders.items():
        if isinstance(info, Mapping) and info.get("cl_ord_id") == cl_ord_id:
            return order_id, info
    return None


def _rfc3339(wall: float) -> str:
    return dt.datetime.fromtimestamp(wall, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Silence:
    """The private connection's frame count and since when it has not moved."""

    __slots__ = ("frames", "reported", "since")

    def __init__(self, frames: int, since: float) -> None:
        self.frames = frames
        self.since = since
        self.reported = False


class _Known:
    __slots__ = ("fees", "heard", "order", "order_id")

    def __init__(self, order: OrderRequest) -> None:
        self.order = order
        self.order_id = ""
        self.fees = Decimal(0)
        self.heard = False
        """An execution of it came on the executions channel."""


class LiveVenue:
    """Kraken through WS v2 with REST fallback; see the module docstring.

    Args:
        settings: application settings (mode, credentials, URLs); checked at construction.
        rest_pair: maps a v2 symbol to the name REST ``AddOrder`` takes (Kraken: the altname
            from a :class:`~arbitrade.kraken.SymbolMap`); the identity by default.
        rest: a REST client (built from ``settings`` when None).
        ws: a private WebSocket client (built from ``settings`` when None).
        wall_clock: Unix time, for the ``deadline`` Kraken is sent.
        finished_orders_kept: orders that ended kept whole (see the module docstring).
        stall_after: seconds of silence that count as a private-connection stall.

    Raises:
        VenueRefusedToStart: ``settings`` break a rule of :func:`check_live_settings`.
    """

    name = "live"

    def __init__(
        self,
        settings: Settings,
        *,
        rest_pair: Callable[[str], str] = lambda symbol: symbol,
        rest: KrakenRestClient | None = None,
        ws: KrakenWsClient | None = None,
        wall_clock: Callable[[], float] = time.time,
        finished_orders_kept: int = FINISHED_ORDERS_KEPT,
        stall_after: float = STALL_AFTER,
    ) -> None:
        check_live_settings(settings)
        self._auditor = VenueAuditor(wall_clock=wall_clock)
        self._rest = rest or KrakenRestClient(
            settings.kraken_rest_url,
            api_key=settings.kraken_api_key,
            api_secret=settings.kraken_api_secret,
        )
        self._ws = ws or KrakenWsClient(
            settings.kraken_ws_private_url,
            token_provider=self._rest.get_websockets_token,
            on_message=self._on_message,
        )
        self._rest.on_error = lambda seen: self._auditor.rest_error(seen, trio.current_time())
        self._rest_pair = rest_pair
        self._wall_clock = wall_clock
        self._stall_after = stall_after
        self._awaiting_executions: dict[str, float] = {}
        """Orders acknowledged over WS and not heard of on executions yet: when acked."""
        self._known: dict[str, _Known] = {}
        self._by_order_id: dict[str, str] = {}
        self._finished: Retention[str] = Retention(finished_orders_kept)
        self._retired: RecentIds[None] = RecentIds(RETIRED_IDS_KEPT)
        # Unbounded on purpose: the executor awaits ``submit`` and also drains these reports
        # (through the pump into its mailbox); a bounded channel could leave both waiting on
        # each other. Drained at once, it holds nothing in steady state.
        self._send, self._events = trio.open_memory_channel[VenueEvent](math.inf)
        self._nursery: trio.Nursery | None = None
        self._connected = False
        self._generation = 0
        """The WS client's connect count when the venue last reported itself up."""
        self._up = trio.Event()

    @property
    def events(self) -> trio.MemoryReceiveChannel[VenueEvent]:
        """Execution reports and connection changes."""
        return self._events

    @property
    def audit_events(self) -> trio.MemoryReceiveChannel[AuditEvent]:
        """The venue's audit events (see the module docstring), for the wiring to publish;
        bounded: when nobody reads, the newest are dropped and counted, trading goes on."""
        return self._auditor.events

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, subscribe to executions, report started; reconnect until cancelled."""
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(self._ws.run)
                await self._ws.wait_connected()
                await self._ws.subscribe("executions", None, snap_orders=True, snap_trades=True)
                with trio.move_on_after(SNAPSHOT_WAIT):
                    await self._up.wait()
                if not self._connected:
                    self._generation = self._connects()
                    self._set_connected(True, "subscribed without an executions snapshot")
                self._nursery = nursery
                nursery.start_soon(self._watch_connection)
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            with trio.CancelScope(shield=True):
                await self._rest.aclose()

    def _connects(self) -> int:
        return self._ws.statistics().connects

    async def _watch_connection(self) -> None:
        """Report a lost (or silently replaced) connection; report up a snapshot-less one;
        audit stalls and release throttled audit events."""
        new_since: float | None = None
        quiet = _Silence(self._ws.statistics().frames, trio.current_time())
        waiting_stalled = False
        while True:
            await trio.sleep(_WATCH_INTERVAL)
            now = trio.current_time()
            self._auditor.flush_due(now)
            self._watch_quiet(quiet, now)
            waiting_stalled = self._watch_executions(waiting_stalled, now)
            replaced = self._connects() != self._generation
            if self._connected and (not self._ws.is_connected or replaced):
                self._set_connected(False, "connection lost")
            if self._connected or not self._ws.is_connected or not replaced:
                new_since = None
                continue
            new_since = now if new_since is None else new_since
            if now - new_since >= SNAPSHOT_WAIT:
                self._generation = self._connects()
                self._set_connected(True, "reconnected without an executions snapshot")

    def _watch_quiet(self, quiet: _Silence, now: float) -> None:
        """``venue.private_stalled`` (subject ``heartbeat``) once no frame came for
        ``stall_after`` seconds on an open connection; ``..._stall_ended`` when one comes."""
        frames = self._ws.statistics().frames
        if frames != quiet.frames or not self._ws.is_connected:
            if quiet.reported:
                self._auditor.record(
                    VENUE_PRIVATE_STALL_ENDED,
                    "heartbeat",
                    now,
                    seconds=round(now - quiet.since, 3),
                    connected=self._ws.is_connected,
                )
            quiet.frames, quiet.since, quiet.reported = frames, now, False
        elif not quiet.reported and now - quiet.since >= self._stall_after:
            quiet.reported = True
            self._auditor.record(
                VENUE_PRIVATE_STALLED, "heartbeat", now, quiet_seconds=round(now - quiet.since, 3)
            )

    def _watch_executions(self, stalled: bool, now: float) -> bool:
        """``venue.private_stalled`` (subject ``executions``) once an acknowledged order
        heard nothing on executions for ``stall_after`` seconds; returns the stall state."""
        waiting = self._awaiting_executions
        oldest = min(waiting.values(), default=None)
        late = oldest is not None and now - oldest >= self._stall_after
        if late and not stalled and self._ws.is_connected:
            self._auditor.record(
                VENUE_PRIVATE_STALLED,
                "executions",
                now,
                orders_waiting=len(waiting),
                oldest_seconds=round(now - (oldest or now), 3),
            )
            return True
        if stalled and not late:
            self._auditor.record(VENUE_PRIVATE_STALL_ENDED, "executions", now)
            return False
        return stalled

    def _set_connected(self, connected: bool, reason: str) -> None:
        self._connected = connected
        if connected:
            self._up.set()
        else:
            self._awaiting_executions.clear()  # the snapshot after reconnect settles them
        log.info("live.connection", connected=connected, reason=reason)
        self._auditor.record(
            VENUE_CONNECTION, "up" if connected else "down", trio.current_time(), reason=reason
        )
        self._send.send_nowait(VenueConnection(connected, reason, trio.current_time()))

    # --- orders ------------------------------------------------------------------------------
    async def submit(self, order: OrderRequest) -> None:
        """Send ``order`` (WS, else REST) without waiting for Kraken's answer."""
        nursery = self._nursery
        if nursery is None:
            raise VenueUnavailable(self.name, "not running")
        now = trio.current_time()
        if order.cl_ord_id in self._known or order.cl_ord_id in self._retired:
            self._emit(
                self._report(order, ExecType.REJECTED, OrderState.REJECTED, DUPLICATE_REASON)
            )
            return
        if now > order.deadline:
            self._emit(self._report(order, ExecType.REJECTED, OrderState.REJECTED, DEADLINE_REASON))
            return
        self._known[order.cl_ord_id] = _Known(order)
        seconds = min(max(order.deadline - now, _MIN_DEADLINE), _MAX_DEADLINE)
        deadline = _rfc3339(self._wall_clock() + seconds)
        if self._ws.is_connected:
            nursery.start_soon(self._place_ws, order, deadline)
        else:
            nursery.start_soon(self._place_rest, order, deadline)
        await trio.lowlevel.checkpoint()

    async def _place_ws(self, order: OrderRequest, deadline: str) -> None:
        request = AddOrder(
            side=order.side.value,
            order_qty=order.qty,
            symbol=order.symbol,
            order_type="limit",
            limit_price=order.limit_price,
            time_in_force=order.time_in_force,
            cl_ord_id=order.cl_ord_id,
            post_only=order.post_only or None,
            deadline=deadline,
        )
        try:
            ack = await self._ws.add_order(request)
        except KrakenError as error:
            self._emit(self._report(order, ExecType.REJECTED, OrderState.REJECTED, error.code))
        except (KrakenTransportError, RequestTimedOut) as error:
            log.warning(
                "live.add_order_outcome_unknown", cl_ord_id=order.cl_ord_id, error=str(error)
            )
        else:
            self._learn_order_id(order.cl_ord_id, ack.order.order_id)
            known = self._known.get(order.cl_ord_id)
            if known is not None and not known.heard:
                self._awaiting_executions[order.cl_ord_id] = trio.current_time()

    async def _place_rest(self, order: OrderRequest, deadline: str) -> None:
        try:
            result = await self._rest.add_order(
                pair=self._rest_pair(order.symbol),
                side=order.side.value,
                order_type="limit",
                volume=order.qty,
                price=order.limit_price,
                cl_ord_id=order.cl_ord_id,
                time_in_force=order.time_in_force,
                post_only=order.post_only,
                deadline=deadline,
            )
        except KrakenError as error:
            self._emit(self._report(order, ExecType.REJECTED, OrderState.REJECTED, error.code))
        except KrakenException as error:
            log.warning(
                "live.add_order_outcome_unknown", cl_ord_id=order.cl_ord_id, error=str(error)
            )
        else:
            if result.txids:
                self._learn_order_id(order.cl_ord_id, result.txids[0])

    def _learn_order_id(self, cl_ord_id: str, order_id: str) -> None:
        known = self._known.get(cl_ord_id)
        if known is not None and order_id:
            known.order_id = order_id
            self._by_order_id[order_id] = cl_ord_id

    async def cancel(self, cl_ord_id: str) -> None:
        """Ask Kraken to cancel (WS, else REST); unknown or closed orders are ignored."""
        nursery = self._nursery
        if nursery is None:
            raise VenueUnavailable(self.name, "not running")
        if cl_ord_id in self._known:
            nursery.start_soon(self._cancel, cl_ord_id)
        await trio.lowlevel.checkpoint()

    async def _cancel(self, cl_ord_id: str) -> None:
        try:
            if self._ws.is_connected:
                await self._ws.cancel_order(CancelOrder(cl_ord_id=(cl_ord_id,)))
            else:
                await self._rest.cancel_order(cl_ord_id=cl_ord_id)
        except UnknownOrder:
            return
        except KrakenException as error:
            log.warning("live.cancel_failed", cl_ord_id=cl_ord_id, error=str(error))

    async def query(self, cl_ord_id: str) -> ExecutionReport | None:
        """The order's state from REST, or None when Kraken does not know it (see module).

        Raises:
            VenueUnavailable: REST could not be reached (the executor asks again later).
        """
        known = self._known.get(cl_ord_id)
        try:
            if known is not None and known.order_id:
                order_id = known.order_id
                info = (await self._rest.query_orders([order_id])).get(order_id)
            else:
                order_id, info = await self._find_by_client_id(cl_ord_id)
        except KrakenError as error:
            log.warning("live.query_refused", cl_ord_id=cl_ord_id, error=error.code)
            return None
        except KrakenException as error:
            raise VenueUnavailable(self.name, f"query failed: {error}") from error
        if info is None:
            return None
        report = self._status_from_rest(cl_ord_id, order_id, info)
        if report.order_status.terminal:  # settled by the query, not by the stream
            self._forget(self._finished.finish(cl_ord_id))
        return report

    async def _find_by_client_id(self, cl_ord_id: str) -> tuple[str, Mapping[str, Any] | None]:
        """An order whose Kraken id was never learnt: ``OpenOrders``, then ``ClosedOrders``,
        both filtered by ``cl_ord_id`` (the ack may have been lost and the order closed)."""
        open_orders = (await self._rest.open_orders(cl_ord_id=cl_ord_id)).get("open", {})
        found = _matching(open_orders, cl_ord_id)
        if found is None:
            closed = await self._rest.closed_orders(cl_ord_id=cl_ord_id)
            found = _matching(closed.orders, cl_ord_id)
            if found is not None:
                log.info("live.found_closed", cl_ord_id=cl_ord_id, order_id=found[0])
        if found is None:
            return "", None
        self._learn_order_id(cl_ord_id, found[0])
        return found

    def _status_from_rest(
        self, cl_ord_id: str, order_id: str, info: Mapping[str, Any]
    ) -> ExecutionReport:
        known = self._known.get(cl_ord_id)
        descr = info.get("descr") or {}
        side = Side(descr.get("type", known.order.side.value if known else "buy"))
        qty = Decimal(str(info.get("vol", "0")))
        cum = Decimal(str(info.get("vol_exec", "0")))
        status = _REST_STATUSES.get(str(info.get("status")), OrderState.PENDING)
        if status is OrderState.FILLED and cum < qty:
            status = OrderState.CANCELLED  # closed before the whole quantity traded (IOC)
        return ExecutionReport(
            cl_ord_id=cl_ord_id,
            exec_type=ExecType.STATUS,
            order_status=status,
            symbol=known.order.symbol if known else str(descr.get("pair", "")),
            side=side,
            order_qty=qty,
            cum_qty=cum,
            at=trio.current_time(),
            venue_order_id=order_id,
            reason=str(info.get("reason") or ""),
            cum_cost=Decimal(str(info.get("cost", "0"))),
            cum_fee=Decimal(str(info.get("fee", "0"))),
        )

    async def balances(self) -> dict[str, Decimal]:
        """Kraken ``Balance``, asset names normalised (XXBT -> BTC, ZUSD -> USD)."""
        try:
            raw = await self._rest.balance()
        except KrakenException as error:
            raise VenueUnavailable(self.name, f"balance failed: {error}") from error
        balances: dict[str, Decimal] = {}
        for asset, amount in raw.items():
            name = normalize_asset(asset)
            balances[name] = balances.get(name, Decimal(0)) + amount
        return balances

    def observe_book(self, book: BookTop) -> None:
        """Kraken matches against its own book: nothing to do."""

    # --- executions --------------------------------------------------------------------------
    def _on_message(self, message: Message) -> None:
        if isinstance(message, DecodeError):
            self._on_bad_frame(message)
            return
        if not isinstance(message, ExecutionsMessage):
            return
        connects = self._connects()
        fresh = message.type == "snapshot" and connects != self._generation
        if fresh and self._connected:
            # replaced before the watcher saw it go: beliefs must be noted before the snapshot
            self._set_connected(False, "connection replaced")
        for execution in message.executions:
            report = self._from_execution(execution)
            if report is not None:
                self._emit(report)
        if fresh:
            first = self._generation == 0
            self._generation = connects
            log.info(
                "live.executions_snapshot",
                executions=len(message.executions),
                connects=connects,
            )
            self._set_connected(True, "executions snapshot" if first else "reconnected")

    def _on_bad_frame(self, error: DecodeError) -> None:
        """Audit a frame that did not decode, and reconnect: it may have been an execution.

        The frame's text stays out of the audit (a private frame names our orders); the
        reconnect's snapshot and the executor's reconciliation put right whatever it held.
        """
        log.warning("live.bad_frame", reason=error.reason[:200], length=len(error.excerpt))
        self._auditor.record(
            VENUE_BAD_FRAME,
            "private",
            trio.current_time(),
            reason=error.reason[:200],
            action="reconnect",
        )
        self._ws.reconnect("undecodable frame on the private connection: resync")

    def _from_execution(self, execution: Execution) -> ExecutionReport | None:
        cl_ord_id = execution.cl_ord_id or self._by_order_id.get(execution.order_id, "")
        known = self._known.get(cl_ord_id)
        if known is None:
            return None  # not an order of this process (manual, or before a restart)
        self._learn_order_id(cl_ord_id, execution.order_id)
        known.heard = True
        self._awaiting_executions.pop(cl_ord_id, None)
        exec_type = _EXEC_TYPES.get(execution.exec_type, ExecType.STATUS)
        status = _STATUSES.get(execution.order_status or execution.exec_type)
        if status is None:
            status = OrderState.PENDING
        fee = sum((f.qty for f in execution.fees), Decimal(0))
        fee_asset = normalize_asset(execution.fees[0].asset) if execution.fees else ""
        if exec_type is ExecType.TRADE:
            known.fees += fee
        order = known.order
        return ExecutionReport(
            cl_ord_id=cl_ord_id,
            exec_type=exec_type,
            order_status=status,
            symbol=execution.symbol or order.symbol,
            side=Side(execution.side) if execution.side else order.side,
            order_qty=execution.order_qty if execution.order_qty is not None else order.qty,
            cum_qty=execution.cum_qty or Decimal(0),
            at=trio.current_time(),
            venue_order_id=execution.order_id,
            exec_id=execution.exec_id or "",
            last_qty=execution.last_qty or Decimal(0),
            last_price=execution.last_price or Decimal(0),
            fee=fee,
            fee_asset=fee_asset,
            liquidity=execution.liquidity_ind or "t",
            reason=execution.reason or "",
            cum_cost=execution.cum_cost or Decimal(0),
            cum_fee=known.fees,
        )

    def _report(
        self, order: OrderRequest, exec_type: ExecType, status: OrderState, reason: str
    ) -> ExecutionReport:
        return ExecutionReport(
            cl_ord_id=order.cl_ord_id,
            exec_type=exec_type,
            order_status=status,
            symbol=order.symbol,
            side=order.side,
            order_qty=order.qty,
            cum_qty=Decimal(0),
            at=trio.current_time(),
            reason=reason,
        )

    def _emit(self, report: ExecutionReport) -> None:
        if report.order_status.terminal and report.reason != DUPLICATE_REASON:
            self._forget(self._finished.finish(report.cl_ord_id))
        self._send.send_nowait(report)

    def _forget(self, cl_ord_ids: list[str]) -> None:
        for cl_ord_id in cl_ord_ids:
            known = self._known.pop(cl_ord_id, None)
            self._awaiting_executions.pop(cl_ord_id, None)
            if known is None:
                continue
            self._retired.add(cl_ord_id, None)
            if known.order_id:
                self._by_order_id.pop(known.order_id, None)
