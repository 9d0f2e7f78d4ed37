"""Pages, HTMX fragments and SSE streams: everything a browser reads from the dashboard.

Pages render the read model once; fragments (``/fragments/...``) re-render one panel for
HTMX polling; streams (``/stream/...``) push rows as bus messages arrive. Nothing here
writes: controls live in ``_controls``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import trio
from markupsafe import Markup
from quart import Quart, Response, render_template, request

from actors import SupervisorEvent
from arbitrade.dashboard._charts import ZThresholds, equity_svg, zscore_svg
from arbitrade.dashboard._streams import topic_stream
from arbitrade.messages import TOPIC_BOOK_TOP, TOPIC_OPPORTUNITIES, AuditEvent, BookTop, Opportunity
from arbitrade.strategy.stat_arb import PairSnapshot

if TYPE_CHECKING:
    from arbitrade.dashboard.app import AppState

OVERVIEW_OPPORTUNITIES = 8
PAGE_OPPORTUNITIES = 100
OPPORTUNITY_STREAM_CAPACITY = 64
"""Rows queued for a slow browser before the oldest are dropped (the page shows 100)."""
BOOK_STREAM_CAPACITY = 1
"""A book view only ever needs the latest top."""
AUDIT_KINDS = ("risk.accepted", "risk.rejected", "control.")


@attrs.frozen
class TreeRow:
    """One node of the supervision tree as the page lists it."""

    path: str
    name: str
    depth: int
    kind: str
    status: str
    restarts: int
    queued: int | None
    dropped: int | None


@attrs.frozen
class RestartRow:
    """One restart-log event as the page lists it."""

    event: str
    level: str
    path: str
    at: float
    detail: str


@attrs.frozen
class AuditRow:
    """One audit event, with its reason pulled out of the JSON detail when it has one."""

    event: AuditEvent
    reason: str


@attrs.frozen
class StatArbRow:
    """One stat-arb pair as its page shows it: the latest snapshot and its z-score chart."""

    snapshot: PairSnapshot
    chart: Markup
    signal: str
    """Where ``|z|`` stands against the thresholds: 'stop', 'entry', 'inside' (within exit),
    'between' (between exit and entry), or '' when there is no z-score or no thresholds."""
    held: tuple[tuple[str, Decimal], ...]
    """The legs held now (signed base quantity by symbol), without the flat ones."""


def z_thresholds(state: AppState) -> ZThresholds | None:
    """The stat-arb signal levels from the wired settings (None when not wired)."""
    settings = state.stat_arb_settings
    if settings is None:
        return None
    return ZThresholds(exit=settings.exit_z, entry=settings.entry_z, stop=settings.stop_z)


def _signal(z: float | None, thresholds: ZThresholds | None) -> str:
    if z is None or thresholds is None:
        return ""
    size = abs(z)
    if size >= thresholds.stop:
        return "stop"
    if size >= thresholds.entry:
        return "entry"
    return "inside" if size <= thresholds.exit else "between"


def stat_arb_rows(state: AppState) -> list[StatArbRow]:
    """Every stat-arb pair seen on the bus, sorted by name, with its chart."""
    thresholds = z_thresholds(state)
    model = state.model
    return [
        StatArbRow(
            snapshot=snapshot,
            chart=zscore_svg(model.zscores(snapshot.pair), thresholds),
            signal=_signal(snapshot.z, thresholds),
            held=tuple((symbol, qty) for symbol, qty in snapshot.holdings if qty != 0),
        )
        for snapshot in model.stat_arb_pairs()
    ]


def overview_context(state: AppState) -> dict[str, Any]:
    """Everything the overview's status panel shows."""
    model = state.model
    now = trio.current_time()
    portfolio = model.portfolio
    balances: list[tuple[str, Any, Any]] = []
    equity_now = None
    if portfolio is not None:
        for asset, amount in portfolio.balances:
            value, unpriced = model.value_balances(((asset, amount),), portfolio.home)
            balances.append((asset, amount, None if unpriced else value))
        equity_now, _ = model.value_balances(portfolio.balances, portfolio.home)
    return {
        "uptime": now - state.started_at,
        "feeds": [model.feeds[name] for name in sorted(model.feeds)],
        "portfolio": portfolio,
        "balances": balances,
        "equity_now": equity_now,
        "equity_chart": equity_svg(model.equity()),
        "unpriced": model.unpriced_assets,
        "counts": model.counts,
        "health": model.health_report(now),
        "books": len(model.books),
    }


def tree_rows(state: AppState) -> list[TreeRow] | None:
    """The supervision tree from the registry, in path order (None when not wired)."""
    if state.registry is None:
        return None
    rows = []
    for node in state.registry.snapshot():
        mailbox = node.mailbox
        rows.append(
            TreeRow(
                path=node.path,
                name=node.path.rsplit("/", 1)[-1],
                depth=node.path.count("/"),
                kind=node.kind,
                status=node.status,
                restarts=node.restarts,
                queued=None if mailbox is None else mailbox.queued,
                dropped=None if mailbox is None else mailbox.dropped,
            )
        )
    return rows


def restart_rows(state: AppState, actor: str) -> list[RestartRow]:
    """Restart-log events, newest first, for actors matching ``actor`` ('' = all)."""
    return [_restart_row(event) for event in state.model.restarts(actor)]


def _restart_row(event: SupervisorEvent) -> RestartRow:
    fields = attrs.asdict(event)
    for common in ("path", "name", "at"):
        fields.pop(common, None)
    detail = ", ".join(f"{key}={value}" for key, value in fields.items() if value not in ("", 0))
    return RestartRow(
        event=event.event, level=event.level, path=event.path, at=event.at, detail=detail
    )


def audit_rows(state: AppState, kind: str) -> list[AuditRow]:
    """Audit events, newest first, whose kind starts with ``kind``."""
    rows = []
    for event in state.model.audit(kind):
        reason = ""
        try:
            detail = json.loads(event.detail)
        except ValueError:
            detail = None
        if isinstance(detail, dict):
            reason = str(detail.get("reason", ""))
        rows.append(AuditRow(event=event, reason=reason))
    return rows


def register_pages(app: Quart, state: AppState) -> None:
    """Add every page, fragment and stream route to ``app``."""
    model = state.model

    def stream_response(body: AsyncIterator[bytes]) -> Response:
        response = Response(body, content_type="text/event-stream")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Accel-Buffering"] = "no"
        response.timeout = None
        return response

    def no_bus() -> Response:
        return Response("no bus is wired: live streams are unavailable\n", status=503)

    # --- overview ----------------------------------------------------------------------
    @app.get("/")
    async def overview() -> str:
        return await render_template(
            "overview.html",
            page="overview",
            opportunities=model.opportunities(OVERVIEW_OPPORTUNITIES),
            **overview_context(state),
        )

    @app.get("/fragments/overview")
    async def overview_fragment() -> str:
        return await render_template("fragments/overview.html", **overview_context(state))

    # --- opportunities -----------------------------------------------------------------
    async def render_opportunity(message: object) -> tuple[str, str] | None:
        if not isinstance(message, Opportunity):
            return None
        template = app.jinja_env.get_template("fragments/opportunity_row.html")
        return "opportunity", await template.render_async(opportunity=message)

    @app.get("/opportunities")
    async def opportunities() -> str:
        return await render_template(
            "opportunities.html",
            page="opportunities",
            opportunities=model.opportunities(PAGE_OPPORTUNITIES),
            max_rows=PAGE_OPPORTUNITIES,
        )

    @app.get("/stream/opportunities")
    async def opportunity_stream() -> Response:
        if state.bus is None:
            return no_bus()
        body = topic_stream(
            state.bus,
            TOPIC_OPPORTUNITIES,
            render_opportunity,
            capacity=OPPORTUNITY_STREAM_CAPACITY,
        )
        return stream_response(body)

    # --- books -------------------------------------------------------------------------
    def chosen_symbol() -> str:
        symbols = model.symbols()
        wanted = request.args.get("symbol", "")
        if wanted in symbols:
            return wanted
        return symbols[0] if symbols and not wanted else wanted

    def book_context(symbol: str, top: BookTop | None = None) -> dict[str, Any]:
        top = top or model.books.get(symbol)
        bids = top.bid_levels() if top else ()
        asks = top.ask_levels() if top else ()
        largest = max((level.qty for level in (*bids, *asks)), default=0) or 1
        return {
            "symbol": symbol,
            "top": top,
            "bids": bids,
            "asks": asks,
            "largest": largest,
            "status": model.book_status.get(symbol),
        }

    @app.get("/books")
    async def books() -> str:
        symbol = chosen_symbol()
        return await render_template(
            "books.html", page="books", symbols=model.symbols(), **book_context(symbol)
        )

    @app.get("/fragments/book")
    async def book_fragment() -> str:
        return await render_template("fragments/book.html", **book_context(chosen_symbol()))

    @app.get("/stream/books")
    async def book_stream() -> Response:
        if state.bus is None:
            return no_bus()
        symbol = request.args.get("symbol", "")
        template = app.jinja_env.get_template("fragments/book.html")

        async def render_book(message: object) -> tuple[str, str] | None:
            if not isinstance(message, BookTop) or message.symbol != symbol:
                return None
            return "book", await template.render_async(**book_context(symbol, message))

        body = topic_stream(state.bus, TOPIC_BOOK_TOP, render_book, capacity=BOOK_STREAM_CAPACITY)
        return stream_response(body)

    # --- stat-arb ----------------------------------------------------------------------
    @app.get("/stat-arb")
    async def stat_arb() -> str:
        return await render_template(
            "stat_arb.html",
            page="stat_arb",
            rows=stat_arb_rows(state),
            thresholds=z_thresholds(state),
        )

    @app.get("/fragments/stat-arb")
    async def stat_arb_fragment() -> str:
        return await render_template(
            "fragments/stat_arb.html", rows=stat_arb_rows(state), thresholds=z_thresholds(state)
        )

    # --- supervision -------------------------------------------------------------------
    @app.get("/supervision")
    async def supervision() -> str:
        actor = request.args.get("actor", "")
        return await render_template(
            "supervision.html",
            page="supervision",
            actor=actor,
            actors=model.restart_actors(),
            tree=tree_rows(state),
            restarts=restart_rows(state, actor),
        )

    @app.get("/fragments/tree")
    async def tree_fragment() -> str:
        return await render_template("fragments/tree.html", tree=tree_rows(state))

    @app.get("/fragments/restarts")
    async def restarts_fragment() -> str:
        actor = request.args.get("actor", "")
        return await render_template(
            "fragments/restarts.html", actor=actor, restarts=restart_rows(state, actor)
        )

    # --- orders and fills --------------------------------------------------------------
    @app.get("/orders")
    async def orders() -> str:
        return await render_template(
            "orders.html", page="orders", orders=model.orders(), fills=model.fills()
        )

    @app.get("/fragments/orders")
    async def orders_fragment() -> str:
        return await render_template(
            "fragments/orders.html", orders=model.orders(), fills=model.fills()
        )

    # --- audit -------------------------------------------------------------------------
    @app.get("/audit")
    async def audit() -> str:
        kind = request.args.get("kind", "")
        return await render_template(
            "audit.html", page="audit", kind=kind, kinds=AUDIT_KINDS, rows=audit_rows(state, kind)
        )

    @app.get("/fragments/audit")
    async def audit_fragment() -> str:
        kind = request.args.get("kind", "")
        return await render_template(
            "fragments/audit.html", kind=kind, rows=audit_rows(state, kind)
        )
