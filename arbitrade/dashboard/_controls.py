"""Operator controls: sign-in, strategy mode, pause/resume, the kill switch, risk limits.

Every control is a POST checked by :func:`~arbitrade.dashboard._auth.authorise`. A change is
announced as a :class:`~arbitrade.messages.ControlChanged` on ``TOPIC_CONTROL`` (the risk gate
obeys it) and recorded as an :class:`~arbitrade.messages.AuditEvent` on ``TOPIC_AUDIT`` with
who, what and when. Setting names and values on the control topic:

- ``strategy_mode``: a :class:`~arbitrade.messages.StrategyMode` value (``off``, ``triangular``...)
- ``paused``: ``true`` or ``false``
- ``kill_switch``: ``engaged`` or ``released``
- ``risk.<field>``: the limit's new value as text (``Decimal``/``int``/``float``/enum value)

An invalid value is answered 422 with the message beside its field, and nothing changes.
Browsers get HTML (a redirect after success); bearer-token clients get JSON.
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any

import structlog
import trio
from quart import Quart, flash, redirect, render_template, request

from arbitrade.dashboard._auth import (
    API_OPERATOR,
    CSRF_FIELD,
    Refusal,
    authorise,
    csrf_ok,
    sign_in,
    sign_out,
    signed_in_operator,
    token_matches,
)
from arbitrade.dashboard._limits import LimitChange, LimitsRejected, apply_limits, editable_fields
from arbitrade.dashboard._model import (
    CONTROL_KILL_SWITCH,
    CONTROL_PAUSED,
    CONTROL_STRATEGY_MODE,
    KILL_SWITCH_ENGAGED,
    KILL_SWITCH_RELEASED,
)
from arbitrade.messages import TOPIC_AUDIT, TOPIC_CONTROL, AuditEvent, ControlChanged

if TYPE_CHECKING:
    from arbitrade.dashboard.app import AppState

log = structlog.get_logger(__name__)

_OPERATOR_NAME = re.compile(r"^[A-Za-z0-9 ._@-]{1,40}$")
_TRUE = {"true", "on", "1", "yes"}
_FALSE = {"false", "off", "0", "no"}
_CHALLENGE = 'Bearer realm="arbitrade"'
_REFUSAL_STATUS = {Refusal.DISABLED: 403, Refusal.UNAUTHORISED: 401, Refusal.BAD_CSRF: 403}


async def announce(state: AppState, setting: str, value: str, previous: str, who: str) -> None:
    """Publish one control change and its audit event (or fold them in without a bus)."""
    now = trio.current_time()
    wall = time.time()
    change = ControlChanged(
        setting=setting, value=value, previous=previous, who=who, at=now, at_wall=wall
    )
    detail = json.dumps(
        {
            "who": who,
            "setting": setting,
            "value": value,
            "previous": previous,
            "remote_addr": request.remote_addr or "",
        },
        sort_keys=True,
    )
    audit = AuditEvent(
        kind=f"control.{setting}",
        actor=f"operator:{who}",
        subject=setting,
        detail=detail,
        at=now,
        at_wall=wall,
    )
    log.info("dashboard.control", setting=setting, value=value, previous=previous, who=who)
    # The page that follows the redirect must show the change even if the feeder lags.
    state.model.apply(change)
    if state.bus is None:
        state.model.apply(audit)
        return
    await state.bus.publish(TOPIC_CONTROL, change)
    await state.bus.publish(TOPIC_AUDIT, audit)


def _flag(value: str | None) -> bool | None:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def register_controls(app: Quart, state: AppState) -> None:
    """Add the controls page, sign-in/out and every control POST to ``app``."""
    settings = state.settings

    async def controls_page(
        status: int = 200,
        *,
        message: str = "",
        errors: dict[str, str] | None = None,
        submitted: dict[str, str] | None = None,
    ) -> tuple[str, int, dict[str, str]]:
        limits = editable_fields(state.risk_limits) if state.risk_limits is not None else None
        html = await render_template(
            "controls.html",
            page="controls",
            message=message,
            errors=errors or {},
            submitted=submitted or {},
            limits=limits,
            modes=state.strategy_modes,
        )
        headers = {"WWW-Authenticate": _CHALLENGE} if status == 401 else {}
        return html, status, headers

    async def refused(refusal: Refusal, api: bool) -> Any:
        status = _REFUSAL_STATUS[refusal]
        log.warning("dashboard.control_refused", reason=refusal.name.lower(), path=request.path)
        if api:
            headers = {"WWW-Authenticate": _CHALLENGE} if status == 401 else {}
            return {"ok": False, "error": refusal.value}, status, headers
        return await controls_page(status, message=refusal.value)

    async def invalid(verdict_who: str, field: str, message: str, **extra: Any) -> Any:
        if verdict_who == API_OPERATOR:
            return {"ok": False, "field": field, "error": message}, 422
        return await controls_page(422, errors={field: message}, **extra)

    async def done(who: str, text: str, changes: list[dict[str, str]]) -> Any:
        if who == API_OPERATOR:
            return {"ok": True, "message": text, "changes": changes}, 200
        await flash(text)
        return redirect("/controls", 303)

    def is_api() -> bool:
        return "Authorization" in request.headers

    @app.get("/controls")
    async def controls() -> Any:
        return await controls_page()

    @app.post("/login")
    async def login() -> Any:
        form = await request.form
        if not settings.operator_token:
            return await controls_page(403, message=Refusal.DISABLED.value)
        if not csrf_ok(form.get(CSRF_FIELD)):
            return await controls_page(403, message=Refusal.BAD_CSRF.value)
        name = (form.get("name") or "").strip() or "operator"
        if not _OPERATOR_NAME.match(name):
            return await controls_page(
                422, errors={"name": "Use 1 to 40 letters, digits, spaces or . _ @ -"}
            )
        if not token_matches(settings, form.get("token") or ""):
            log.warning("dashboard.sign_in_failed", name=name, remote=request.remote_addr)
            return await controls_page(401, errors={"token": "That is not the operator token."})
        sign_in(name)
        log.info("dashboard.signed_in", who=name, remote=request.remote_addr)
        await flash(f"Signed in as {name}.")
        return redirect("/controls", 303)

    @app.post("/logout")
    async def logout() -> Any:
        form = await request.form
        if signed_in_operator() and csrf_ok(form.get(CSRF_FIELD)):
            sign_out()
        return redirect("/controls", 303)

    @app.post("/controls/strategy-mode")
    async def strategy_mode() -> Any:
        verdict = await authorise(settings)
        if verdict.refusal is not None:
            return await refused(verdict.refusal, is_api())
        wanted = ((await request.form).get("mode") or "").strip()
        allowed = {mode.value for mode in state.strategy_modes}
        if wanted not in allowed:
            return await invalid(
                verdict.who, "mode", f"Choose one of {', '.join(sorted(allowed))}; got {wanted!r}."
            )
        previous = state.model.controls.strategy_mode.value
        if wanted == previous:
            return await done(verdict.who, f"Strategy mode is already {wanted}.", [])
        await announce(state, CONTROL_STRATEGY_MODE, wanted, previous, verdict.who)
        change = {"setting": CONTROL_STRATEGY_MODE, "value": wanted, "previous": previous}
        return await done(verdict.who, f"Strategy mode set to {wanted}.", [change])

    @app.post("/controls/pause")
    async def pause() -> Any:
        verdict = await authorise(settings)
        if verdict.refusal is not None:
            return await refused(verdict.refusal, is_api())
        paused = _flag((await request.form).get("paused"))
        if paused is None:
            return await invalid(verdict.who, "paused", "Send paused=true or paused=false.")
        previous = state.model.controls.paused
        if paused == previous:
            word = "paused" if paused else "running"
            return await done(verdict.who, f"Trading is already {word}.", [])
        value, before = ("true" if paused else "false"), ("true" if previous else "false")
        await announce(state, CONTROL_PAUSED, value, before, verdict.who)
        text = "Trading paused." if paused else "Trading resumed."
        return await done(
            verdict.who, text, [{"setting": CONTROL_PAUSED, "value": value, "previous": before}]
        )

    @app.post("/controls/kill-switch")
    async def kill_switch() -> Any:
        verdict = await authorise(settings)
        if verdict.refusal is not None:
            return await refused(verdict.refusal, is_api())
        engaged = _flag((await request.form).get("engaged"))
        if engaged is None:
            return await invalid(verdict.who, "engaged", "Send engaged=true or engaged=false.")
        previous = state.model.controls.kill_switch
        if engaged == previous:
            word = "engaged" if engaged else "released"
            return await done(verdict.who, f"The kill switch is already {word}.", [])
        value = KILL_SWITCH_ENGAGED if engaged else KILL_SWITCH_RELEASED
        before = KILL_SWITCH_ENGAGED if previous else KILL_SWITCH_RELEASED
        await announce(state, CONTROL_KILL_SWITCH, value, before, verdict.who)
        text = "Kill switch engaged: no new orders." if engaged else "Kill switch released."
        return await done(
            verdict.who,
            text,
            [{"setting": CONTROL_KILL_SWITCH, "value": value, "previous": before}],
        )

    @app.post("/controls/risk-limits")
    async def risk_limits() -> Any:
        verdict = await authorise(settings)
        if verdict.refusal is not None:
            return await refused(verdict.refusal, is_api())
        if state.risk_limits is None:
            return await invalid(verdict.who, "", "Risk limits are not wired into this dashboard.")
        form = await request.form
        submitted = {key: value for key, value in form.items() if key != CSRF_FIELD}
        try:
            updated, changes = apply_limits(state.risk_limits, submitted)
        except LimitsRejected as error:
            return await invalid(verdict.who, error.field, error.message, submitted=submitted)
        state.risk_limits = updated
        for change in changes:
            await announce(state, f"risk.{change.name}", change.value, change.previous, verdict.who)
        text = _describe(changes)
        return await done(
            verdict.who,
            text,
            [
                {"setting": f"risk.{c.name}", "value": c.value, "previous": c.previous}
                for c in changes
            ],
        )


def _describe(changes: tuple[LimitChange, ...]) -> str:
    if not changes:
        return "Risk limits unchanged."
    parts = ", ".join(f"{c.name} {c.previous} → {c.value}" for c in changes)
    return f"Risk limits changed: {parts}."
