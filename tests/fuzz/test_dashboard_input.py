"""Fuzzing the dashboard's untrusted input: control forms and query strings.

Rule: whatever a browser or script sends, the app answers 2xx, 3xx or 4xx (never 5xx), and
keeps serving afterwards. Controls are tried signed in (with the right CSRF token), with a
right or wrong bearer token, anonymously, and with controls disabled. The only 5xx answers
are documented ones: ``/health`` says 503 when a health input fails.
"""

from __future__ import annotations

import functools
import urllib.parse
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbitrade.config import Secret, Settings
from arbitrade.dashboard import AppState, create_app
from arbitrade.risk import RiskSettings
from tests.fuzz.strategies import ODD_STRINGS

FAST = [HealthCheck.too_slow, HealthCheck.data_too_large]
TOKEN = "operator-token-for-fuzzing"
CSRF = "csrf-token-for-fuzzing"

CONTROLS = [
    "/login",
    "/logout",
    "/controls/strategy-mode",
    "/controls/pause",
    "/controls/kill-switch",
    "/controls/risk-limits",
]
PAGES = [
    "/", "/fragments/overview", "/opportunities", "/books", "/fragments/book", "/supervision",
    "/fragments/tree", "/fragments/restarts", "/orders", "/fragments/orders", "/audit",
    "/fragments/audit", "/controls", "/metrics", "/static/dashboard.css", "/nope",
]  # fmt: skip
FORM_KEYS = [
    "mode", "paused", "engaged", "name", "token", "csrf_token",
    *(field.name for field in attrs.fields(RiskSettings)), "unknown",
]  # fmt: skip
QUERY_KEYS = ["symbol", "actor", "kind", "page", "limit", ""]
TEXT = st.text(max_size=30)  # hypothesis' text() draws no lone surrogates: forms cannot carry them
VALUES = st.one_of(
    TEXT,
    ODD_STRINGS,
    st.sampled_from(["true", "false", "on", "off", "triangular", "off", "stat_arb", "nan",
                     "inf", "-1", "0", "1e999999999", "pro", TOKEN, CSRF, "x" * 5000]),
)  # fmt: skip
AUTH = st.sampled_from(["anonymous", "session", "session-bad-csrf", "bearer", "bad-bearer"])


@functools.cache
def make_app(*, token: str = TOKEN) -> Any:
    """One app per token, shared by the examples (templates compile once; state accumulates,
    so later examples meet a kill switch engaged, limits changed... by earlier ones)."""
    settings_ = Settings(operator_token=Secret(token), app_env="test")
    return create_app(AppState(settings=settings_, risk_limits=RiskSettings()))


def raw_queries() -> st.SearchStrategy[str]:
    """Query strings: encoded pairs of any text, or raw percent-escapes of any bytes."""
    pairs = st.dictionaries(st.sampled_from(QUERY_KEYS) | TEXT, VALUES, max_size=3)
    return st.one_of(
        pairs.map(urllib.parse.urlencode),
        st.binary(max_size=20).map(lambda raw: urllib.parse.quote_from_bytes(raw, safe="=&")),
        st.sampled_from(["%", "%zz", "%ff%fe", "a=%00", "=&=&", "symbol[]=1", "&" * 50]),
    )


class TestDashboardInput:
    @settings(max_examples=60, deadline=None, suppress_health_check=FAST)
    @given(
        path=st.sampled_from(CONTROLS),
        form=st.dictionaries(st.sampled_from(FORM_KEYS), VALUES, max_size=5),
        auth=AUTH,
        controls_enabled=st.booleans(),
    )
    async def test_control_when_form_is_anything_answers_below_500_and_keeps_serving(
        self, path: str, form: dict[str, str], auth: str, controls_enabled: bool
    ) -> None:
        """Any form on any control, any way of (not) being signed in: no 5xx, app alive."""
        app = make_app(token=TOKEN if controls_enabled else "")
        client = app.test_client()
        headers: dict[str, str] = {}
        if auth.startswith("session"):
            async with client.session_transaction() as session:
                session["operator"] = "fuzzer"
                session["csrf"] = CSRF
            if auth == "session":
                form = {**form, "csrf_token": CSRF}
        elif auth == "bearer":
            headers["Authorization"] = f"Bearer {TOKEN}"
        elif auth == "bad-bearer":
            headers["Authorization"] = "Bearer wrong"
        response = await client.post(path, form=form, headers=headers)
        assert response.status_code < 500, await response.get_data(as_text=True)
        after = await client.get("/controls")
        assert after.status_code == 200

    @settings(max_examples=60, deadline=None, suppress_health_check=FAST)
    @given(path=st.sampled_from(PAGES), query=raw_queries())
    async def test_page_when_query_is_anything_answers_below_500(
        self, path: str, query: str
    ) -> None:
        """Any query string on any page or fragment: no 5xx, and the app keeps serving."""
        client = make_app().test_client()
        response = await client.get(f"{path}?{query}")
        assert response.status_code < 500, (path, query)
        health = await client.get("/health?" + query)
        assert health.status_code in (200, 503)  # 503 is /health's documented "unhealthy"
        assert (await client.get("/controls")).status_code == 200
