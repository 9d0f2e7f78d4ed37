"""Who may use the controls: the operator token, the session that remembers it, CSRF tokens.

An operator signs in once with the token from settings (``OPERATOR_TOKEN``); the signed
session cookie (HttpOnly, SameSite=Strict) then carries their name. Every control form also
carries a per-session CSRF token, checked on each POST. Scripts may instead send
``Authorization: Bearer <token>``: no cookie is involved, so no CSRF token is needed.
With no token configured, every control is refused and the pages say so.
"""

from __future__ import annotations

import enum
import hmac
import secrets

import attrs
from quart import request, session

from arbitrade.config import Settings

SESSION_OPERATOR = "operator"
SESSION_CSRF = "csrf"
CSRF_FIELD = "csrf_token"
API_OPERATOR = "api-token"
"""``who`` recorded for changes made with a bearer token."""


class Refusal(enum.Enum):
    """Why a control request was refused (the value is what the page says)."""

    DISABLED = "Controls are disabled: no operator token is configured (set OPERATOR_TOKEN)."
    UNAUTHORISED = "Sign in with the operator token to use the controls."
    BAD_CSRF = "The form expired or did not come from this dashboard; reload and try again."


@attrs.frozen
class Verdict:
    """The outcome of :func:`authorise`: an operator name, or why not."""

    who: str = ""
    refusal: Refusal | None = None


def csrf_token() -> str:
    """This session's CSRF token, made on first use (templates call it for every form)."""
    token = session.get(SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_CSRF] = token
    return token


def token_matches(settings: Settings, candidate: str) -> bool:
    """True when ``candidate`` is the configured operator token (constant-time compare)."""
    expected = settings.operator_token.reveal()
    return bool(expected) and hmac.compare_digest(candidate.encode(), expected.encode())


def csrf_ok(submitted: str | None) -> bool:
    """True when ``submitted`` is this session's CSRF token."""
    expected = session.get(SESSION_CSRF)
    if not isinstance(expected, str) or not expected or not submitted:
        return False
    return hmac.compare_digest(submitted.encode(), expected.encode())


def signed_in_operator() -> str:
    """The operator signed in on this session, or ''."""
    who = session.get(SESSION_OPERATOR)
    return who if isinstance(who, str) else ""


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


async def authorise(settings: Settings) -> Verdict:
    """Decide whether the current POST may change a control.

    Order of checks: controls enabled at all; a bearer token (no CSRF needed); otherwise a
    signed-in session *and* a matching CSRF field. Never raises for bad input.
    """
    if not settings.operator_token:
        return Verdict(refusal=Refusal.DISABLED)
    bearer = _bearer()
    if bearer is not None:
        if token_matches(settings, bearer):
            return Verdict(who=API_OPERATOR)
        return Verdict(refusal=Refusal.UNAUTHORISED)
    who = signed_in_operator()
    if not who:
        return Verdict(refusal=Refusal.UNAUTHORISED)
    form = await request.form
    if not csrf_ok(form.get(CSRF_FIELD)):
        return Verdict(refusal=Refusal.BAD_CSRF)
    return Verdict(who=who)


def sign_in(name: str) -> None:
    """Remember ``name`` as the operator of this session, with a fresh CSRF token."""
    session.clear()
    session[SESSION_OPERATOR] = name
    session[SESSION_CSRF] = secrets.token_urlsafe(32)


def sign_out() -> None:
    """Forget the operator (and the CSRF token) of this session."""
    session.clear()
