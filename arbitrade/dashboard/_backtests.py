"""The backtests page: a form to run one, its progress over SSE, recent reports, a report page.

Routes (registered by :func:`register_backtests` from ``create_app``):

- ``GET /backtests``: the form (every backtest setting), the run panel, recent reports and
  sweeps. ``?from=REPORT_ID`` fills the form with a stored report's settings.
- ``POST /backtests/run`` and ``POST /backtests/cancel``: controls, checked like the others
  (operator session and CSRF token, or a bearer token). A bad value is answered 422 with its
  message beside the field and starts nothing; a run already going is answered 409.
- ``GET /stream/backtests``: SSE, ``progress`` (the run panel's HTML) on every progress step,
  ``reports`` when a run ended and the listing changed.
- ``GET /fragments/backtests/progress`` and ``/fragments/backtests/reports``: the panels.
- ``GET /backtests/<report_id>``: a report's figures, its configuration and its equity chart.

Backtests use their own DuckDB file (``<duckdb_path stem>-backtests.duckdb``), never the bot's:
DuckDB allows one writing process per file, and the bot's writer holds its file.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import structlog
import trio
from markupsafe import Markup
from quart import Quart, Response, flash, redirect, render_template, request

from arbitrade.backtest import (
    BacktestReport,
    BacktestSettings,
    ReportNotFound,
    ReportStoreUnavailable,
    check_backtest,
)
from arbitrade.backtest._table import ROWS
from arbitrade.config import ConfigError
from arbitrade.dashboard._auth import (
    API_OPERATOR,
    Refusal,
    authorise,
    csrf_token,
    signed_in_operator,
)
from arbitrade.dashboard._backtests_form import (
    field_of,
    form_from_settings,
    form_groups,
    submitted_text,
    values_from_form,
)
from arbitrade.dashboard._backtests_runner import (
    BacktestRunner,
    BacktestRunning,
    backtests_database,
)
from arbitrade.dashboard._charts import equity_svg
from arbitrade.dashboard._model import EquityPoint
from arbitrade.dashboard._streams import KEEPALIVE_SECONDS, sse_event
from arbitrade.messages import TOPIC_AUDIT, AuditEvent

if TYPE_CHECKING:
    from arbitrade.dashboard.app import AppState

log = structlog.get_logger(__name__)

RUNNER_KEY: Final = "arbitrade.backtests"
"""Where the app keeps its :class:`BacktestRunner` (``app.extensions[RUNNER_KEY]``)."""
STREAM_INTERVAL: Final = 0.25
"""Least time between two progress events of one stream (progress can come much faster)."""
CHART_POINTS: Final = 600
"""An equity curve longer than this is drawn from per-bucket lows and highs."""
_REFUSAL_STATUS: Final = {Refusal.DISABLED: 403, Refusal.UNAUTHORISED: 401, Refusal.BAD_CSRF: 403}
_CHALLENGE: Final = 'Bearer realm="arbitrade"'


def runner_of(app: Quart) -> BacktestRunner:
    """The app's backtest runner (tests swap its ``worker``)."""
    runner: BacktestRunner = app.extensions[RUNNER_KEY]
    return runner


def run_summary(settings: BacktestSettings) -> str:
    """What a run replays, in a line: recordings, pairs, range."""
    names = ", ".join(entry.rstrip("/").rsplit("/", 1)[-1] for entry in settings.events)
    pairs = ", ".join(settings.symbols) if settings.symbols else "every recorded pair"
    span = f"{settings.start or 'start'} → {settings.end or 'end'}"
    return f"{names} · {pairs} · {span} · {settings.strategy}"


def utc_datetime(at_wall: float) -> str:
    """``2024-05-01 10:03:07`` (UTC) from Unix seconds."""
    return datetime.fromtimestamp(at_wall, UTC).strftime("%Y-%m-%d %H:%M:%S")


def chart_points(curve: Sequence[Sequence[Any]]) -> list[EquityPoint]:
    """A report's ``equity_curve`` ([unix seconds, equity text]) as chart points.

    Long curves keep each bucket's lowest and highest point (in time order), so drawdowns
    stay visible when thinned.
    """
    points = [EquityPoint(float(at), Decimal(str(equity))) for at, equity in curve]
    if len(points) <= CHART_POINTS:
        return points
    size = len(points) / (CHART_POINTS / 2)
    thinned: list[EquityPoint] = []
    for bucket in range(CHART_POINTS // 2):
        chunk = points[int(bucket * size) : int((bucket + 1) * size)]
        if chunk:
            low = min(chunk, key=lambda point: point.equity)
            high = max(chunk, key=lambda point: point.equity)
            thinned.extend(sorted({id(low): low, id(high): high}.values(), key=_at))
    if thinned[-1] is not points[-1]:
        thinned.append(points[-1])
    return thinned


def _at(point: EquityPoint) -> float:
    return point.at_wall


def configuration_rows(settings: dict[str, Any]) -> list[tuple[str, str]]:
    """A report's settings (or replay facts) as (name, value) rows; mappings flattened."""
    rows: list[tuple[str, str]] = []
    for key, value in settings.items():
        if isinstance(value, dict) and key != "balances":
            if not value:
                rows.append((key, "defaults"))
            for inner, item in value.items():
                rows.append((f"{key}.{inner}", _shown(item)))
        else:
            rows.append((key, _shown(value)))
    return rows


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "all"
    return "" if value is None else str(value)


def register_backtests(app: Quart, state: AppState) -> BacktestRunner:
    """Add the backtests page, its controls, fragments and stream to ``app``; return the runner."""
    settings = state.settings
    runner = BacktestRunner(backtests_database(settings))
    app.extensions[RUNNER_KEY] = runner
    app.jinja_env.filters["utc_datetime"] = utc_datetime

    def is_api() -> bool:
        return "Authorization" in request.headers

    async def page(
        status: int = 200,
        *,
        message: str = "",
        errors: dict[str, str] | None = None,
        submitted: dict[str, str] | None = None,
    ) -> tuple[str, int, dict[str, str]]:
        await runner.read_listings()
        reports, sweeps, listing_note = runner.listings()
        html = await render_template(
            "backtests.html",
            page="backtests",
            message=message,
            errors=errors or {},
            groups=form_groups(submitted or runner.last_form, errors),
            run=runner.snapshot(),
            reports=reports,
            sweeps=sweeps,
            listing_note=listing_note,
            database=runner.database,
        )
        headers = {"WWW-Authenticate": _CHALLENGE} if status == 401 else {}
        return html, status, headers

    async def answer(status: int, message: str, **extra: Any) -> Any:
        """A refusal: JSON for bearer clients, the page with the message for browsers."""
        if is_api():
            body: dict[str, Any] = {"ok": False, "error": message}
            if extra.get("errors"):
                field, text = next(iter(extra["errors"].items()))
                body.update(field=field, error=text)
            headers = {"WWW-Authenticate": _CHALLENGE} if status == 401 else {}
            return body, status, headers
        return await page(status, message=message, **extra)

    async def refused(refusal: Refusal) -> Any:
        log.warning("dashboard.control_refused", reason=refusal.name.lower(), path=request.path)
        return await answer(_REFUSAL_STATUS[refusal], refusal.value)

    async def audit(kind: str, who: str, detail: dict[str, Any]) -> None:
        event = AuditEvent(
            kind=kind,
            actor=f"operator:{who}",
            subject="backtest",
            detail=json.dumps(
                {"who": who, "remote_addr": request.remote_addr or "", **detail}, sort_keys=True
            ),
            at=trio.current_time(),
            at_wall=time.time(),
        )
        if state.bus is None:
            state.model.apply(event)
        else:
            await state.bus.publish(TOPIC_AUDIT, event)

    @app.get("/backtests")
    async def backtests() -> Any:
        source = request.args.get("from", "")
        if not source:
            return await page()
        try:
            report = await runner.report(source)
        except (ReportNotFound, ReportStoreUnavailable, BacktestRunning) as error:
            return await page(404 if isinstance(error, ReportNotFound) else 503, message=str(error))
        return await page(submitted=form_from_settings(report.body.get("settings", {})))

    @app.post("/backtests/run")
    async def start_backtest() -> Any:
        verdict = await authorise(settings)
        if verdict.refusal is not None:
            return await refused(verdict.refusal)
        form = await request.form
        submitted = submitted_text(form)
        if runner.busy:
            message = "A backtest is already running: cancel it or wait for it to end."
            return await answer(409, message, submitted=submitted)
        values = values_from_form(form)
        try:
            checked = await check_backtest(values)
        except ConfigError as error:
            field, problem = field_of(error)
            log.info("dashboard.backtest_refused", setting=error.setting, problem=error.problem)
            return await answer(
                422,
                "" if field else problem,
                errors={field: problem} if field else {"": problem},
                submitted=submitted,
            )
        nursery: trio.Nursery | None = getattr(app, "nursery", None)
        if nursery is None:
            return await answer(503, "The dashboard is not serving: backtests cannot start.")
        try:
            run = runner.start(
                nursery, values, who=verdict.who, summary=run_summary(checked), form=submitted
            )
        except BacktestRunning as error:
            return await answer(409, f"{error.detail}.", submitted=submitted)
        await audit("backtest.started", verdict.who, {"run": run.run_id, "summary": run.summary})
        if verdict.who == API_OPERATOR:
            return {"ok": True, "run": run.run_id, "summary": run.summary}, 202
        await flash(f"Backtest {run.run_id} started: {run.summary}.")
        return redirect("/backtests", 303)

    @app.post("/backtests/cancel")
    async def cancel_backtest() -> Any:
        verdict = await authorise(settings)
        if verdict.refusal is not None:
            return await refused(verdict.refusal)
        run = runner.snapshot()
        cancelled = runner.cancel()
        text = (
            f"Backtest {run.run_id} cancelled." if cancelled and run else "No backtest is running."
        )
        if cancelled and run is not None:
            await audit("backtest.cancelled", verdict.who, {"run": run.run_id})
        if verdict.who == API_OPERATOR:
            return {"ok": cancelled, "message": text}, 200 if cancelled else 409
        await flash(text)
        return redirect("/backtests", 303)

    @app.get("/fragments/backtests/progress")
    async def progress_fragment() -> str:
        return await render_template("fragments/backtest_progress.html", run=runner.snapshot())

    @app.get("/fragments/backtests/reports")
    async def reports_fragment() -> str:
        await runner.read_listings()
        reports, sweeps, note = runner.listings()
        return await render_template(
            "fragments/backtest_reports.html", reports=reports, sweeps=sweeps, listing_note=note
        )

    @app.get("/stream/backtests")
    async def backtest_stream() -> Response:
        # The stream outlives the request context: what the Cancel button needs is read now.
        token, who = csrf_token(), signed_in_operator()
        template = app.jinja_env.get_template("fragments/backtest_progress.html")

        async def render_progress() -> str:
            return await template.render_async(
                run=runner.snapshot(),
                csrf_token=lambda: token,
                operator=who,
                controls_enabled=bool(settings.operator_token),
            )

        response = Response(
            progress_events(runner, render_progress), content_type="text/event-stream"
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Accel-Buffering"] = "no"
        response.timeout = None
        return response

    @app.get("/backtests/<report_id>")
    async def report_page(report_id: str) -> Any:
        try:
            report = await runner.report(report_id)
        except ReportNotFound as error:
            return await render_template(
                "backtest_report.html", page="backtests", report=None, problem=str(error)
            ), 404
        except (ReportStoreUnavailable, BacktestRunning) as error:
            return await render_template(
                "backtest_report.html", page="backtests", report=None, problem=str(error)
            ), 503
        return await render_template(
            "backtest_report.html", page="backtests", **report_context(report)
        )

    return runner


def report_context(report: BacktestReport) -> dict[str, Any]:
    """What the report page shows: figures, configuration, inputs and the equity chart."""
    figures = report.figures
    body = report.body
    points = chart_points(body.get("equity_curve", []))
    return {
        "report": report,
        "problem": "",
        "figures": [(label, figures.get(key)) for key, label in ROWS],
        "home": figures.get("home", ""),
        "annualisation": figures.get("annualisation", ""),
        "extra": {
            "Cycles by outcome": figures.get("cycles_by_outcome", {}),
            "Rejections by reason": figures.get("rejections_by_reason", {}),
        },
        "configuration": configuration_rows(body.get("settings", {})),
        "inputs": body.get("inputs", []),
        "replay": configuration_rows(body.get("replay", {})),
        "code_version": body.get("code_version", ""),
        "chart": equity_svg(points, width=960, height=240) if points else Markup(""),
        "curve_points": len(body.get("equity_curve", [])),
    }


async def progress_events(
    runner: BacktestRunner,
    render: Callable[[], Awaitable[str]],
    *,
    keepalive: float = KEEPALIVE_SECONDS,
) -> AsyncIterator[bytes]:
    """SSE frames: the run panel on connect and on each change, ``reports`` when runs end.

    At most one ``progress`` frame per :data:`STREAM_INTERVAL`; a comment line after
    ``keepalive`` seconds without change. Ends only when the client goes away.
    """
    yield b"retry: 3000\n\n"
    shown, listed = -1, runner.reports_version
    while True:
        if runner.version != shown:
            shown = runner.version
            yield sse_event("progress", await render())
        if runner.reports_version != listed:
            listed = runner.reports_version
            yield sse_event("reports", str(listed))
        with trio.move_on_after(keepalive) as timeout:
            await runner.wait_changed(shown + listed)
        if timeout.cancelled_caught:
            yield b": keepalive\n\n"
            continue
        await trio.sleep(STREAM_INTERVAL)
