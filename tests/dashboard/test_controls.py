"""Operator controls: sign-in, CSRF, the kill switch, pause, strategy mode and risk limits."""

from __future__ import annotations

from decimal import Decimal

import pytest
from quart.typing import TestClientProtocol as Client

from actors import Bus, Lossless, Subscription
from arbitrade.dashboard import AppState, create_app
from arbitrade.messages import TOPIC_AUDIT, TOPIC_CONTROL, AuditEvent, ControlChanged

from .conftest import CSRF, TOKEN, Limits, csrf_from, settings, sign_in


@pytest.fixture
def controls(bus: Bus) -> Subscription:
    return bus.subscribe(TOPIC_CONTROL, Lossless(100))


@pytest.fixture
def audits(bus: Bus) -> Subscription:
    return bus.subscribe(TOPIC_AUDIT, Lossless(100))


def drain(subscription: Subscription) -> list[object]:
    items = []
    while subscription.statistics().queued:
        items.append(subscription.receive_nowait())
    return items


async def post(client: Client, path: str, **form: str) -> tuple[int, str]:
    response = await client.post(path, form=form)
    return response.status_code, await response.get_data(as_text=True)


class TestSignIn:
    async def test_login_when_token_and_csrf_right_signs_in_and_shows_name(
        self, client: Client
    ) -> None:
        """The login form with the operator token starts a session naming the operator."""
        page = await (await client.get("/controls")).get_data(as_text=True)
        response = await client.post(
            "/login", form={"name": "alice", "token": TOKEN, "csrf_token": csrf_from(page)}
        )
        assert response.status_code == 303
        page = await (await client.get("/controls")).get_data(as_text=True)
        assert 'data-testid="operator">alice<' in page

    async def test_login_when_token_wrong_answers_401_beside_the_field(
        self, client: Client
    ) -> None:
        """A wrong token is refused with a message on the form."""
        page = await (await client.get("/controls")).get_data(as_text=True)
        status, html = await post(
            client, "/login", name="mallory", token="guess", csrf_token=csrf_from(page)
        )
        assert status == 401
        assert "That is not the operator token." in html
        assert 'data-testid="operator"' not in html

    async def test_login_when_csrf_missing_answers_403(self, client: Client) -> None:
        """A login posted from another site (no CSRF token) is refused."""
        status, html = await post(client, "/login", name="alice", token=TOKEN)
        assert status == 403
        assert "did not come from this dashboard" in html

    async def test_controls_page_when_no_token_configured_says_controls_are_disabled(
        self,
    ) -> None:
        """With no operator token the page says controls are disabled and shows no login."""
        client = create_app(AppState(settings=settings(token=""))).test_client()
        html = await (await client.get("/controls")).get_data(as_text=True)
        assert 'data-testid="controls-disabled"' in html
        assert 'action="/login"' not in html

    async def test_logout_when_signed_in_ends_the_session(self, client: Client) -> None:
        """Signing out forgets the operator."""
        await sign_in(client)
        assert (await post(client, "/logout", csrf_token=CSRF))[0] == 303
        status, _ = await post(client, "/controls/kill-switch", engaged="true", csrf_token=CSRF)
        assert status == 401


class TestKillSwitch:
    async def test_kill_switch_when_authorised_publishes_change_and_audit_with_who(
        self, state: AppState, client: Client, controls: Subscription, audits: Subscription
    ) -> None:
        """Engaging announces ControlChanged and records who did it in the audit log."""
        await sign_in(client, "alice")
        status, _ = await post(client, "/controls/kill-switch", engaged="true", csrf_token=CSRF)
        assert status == 303
        (change,) = drain(controls)
        assert isinstance(change, ControlChanged)
        assert (change.setting, change.value, change.previous, change.who) == (
            "kill_switch",
            "engaged",
            "released",
            "alice",
        )
        (audit,) = drain(audits)
        assert isinstance(audit, AuditEvent)
        assert (audit.kind, audit.actor, audit.subject) == (
            "control.kill_switch",
            "operator:alice",
            "kill_switch",
        )
        assert '"who": "alice"' in audit.detail
        assert state.model.controls.kill_switch

    async def test_kill_switch_when_engaged_shows_on_the_next_page(self, client: Client) -> None:
        """The redirect target already shows the switch engaged."""
        await sign_in(client)
        response = await client.post(
            "/controls/kill-switch",
            form={"engaged": "true", "csrf_token": CSRF},
            follow_redirects=True,
        )
        html = await response.get_data(as_text=True)
        assert "Kill switch engaged: no new orders." in html
        assert 'data-testid="kill-switch-badge"' in html

    async def test_kill_switch_when_not_signed_in_answers_401_and_changes_nothing(
        self, state: AppState, client: Client, controls: Subscription
    ) -> None:
        """An anonymous POST is refused; nothing is published."""
        status, html = await post(client, "/controls/kill-switch", engaged="true")
        assert status == 401
        assert "Sign in with the operator token" in html
        assert drain(controls) == []
        assert not state.model.controls.kill_switch

    async def test_kill_switch_when_csrf_token_wrong_answers_403_and_changes_nothing(
        self, state: AppState, client: Client, controls: Subscription
    ) -> None:
        """A signed-in session without the right CSRF token is refused."""
        await sign_in(client)
        status, _ = await post(client, "/controls/kill-switch", engaged="true", csrf_token="x")
        assert status == 403
        assert drain(controls) == []
        assert not state.model.controls.kill_switch

    async def test_kill_switch_when_controls_disabled_answers_403(self) -> None:
        """No operator token configured: even a signed-in session is refused."""
        state = AppState(settings=settings(token=""))
        client = create_app(state).test_client()
        await sign_in(client)
        status, html = await post(client, "/controls/kill-switch", engaged="true", csrf_token=CSRF)
        assert status == 403
        assert "Controls are disabled" in html
        assert not state.model.controls.kill_switch

    async def test_kill_switch_when_value_invalid_answers_422_and_changes_nothing(
        self, state: AppState, client: Client, controls: Subscription
    ) -> None:
        """A value other than true/false is explained on the form."""
        await sign_in(client)
        status, html = await post(client, "/controls/kill-switch", engaged="maybe", csrf_token=CSRF)
        assert status == 422
        assert "Send engaged=true or engaged=false." in html
        assert drain(controls) == []

    async def test_kill_switch_when_already_engaged_publishes_nothing(
        self, client: Client, controls: Subscription
    ) -> None:
        """Engaging twice is one change."""
        await sign_in(client)
        await post(client, "/controls/kill-switch", engaged="true", csrf_token=CSRF)
        await post(client, "/controls/kill-switch", engaged="true", csrf_token=CSRF)
        assert len(drain(controls)) == 1

    async def test_kill_switch_when_bearer_token_sent_answers_json_without_csrf(
        self, client: Client, audits: Subscription
    ) -> None:
        """Scripts authorise with the bearer token and get JSON; who is 'api-token'."""
        response = await client.post(
            "/controls/kill-switch",
            form={"engaged": "true"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert response.status_code == 200
        body = await response.get_json()
        assert body["ok"] is True
        assert body["changes"] == [
            {"setting": "kill_switch", "value": "engaged", "previous": "released"}
        ]
        (audit,) = drain(audits)
        assert isinstance(audit, AuditEvent)
        assert audit.actor == "operator:api-token"

    async def test_kill_switch_when_bearer_token_wrong_answers_401_json(
        self, client: Client
    ) -> None:
        """A wrong bearer token is refused with a WWW-Authenticate challenge."""
        response = await client.post(
            "/controls/kill-switch", form={"engaged": "true"}, headers={"Authorization": "Bearer x"}
        )
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await response.get_json())["ok"] is False

    async def test_kill_switch_when_no_bus_wired_changes_model_and_audit_directly(self) -> None:
        """Without a bus the change and its audit event go straight into the model."""
        state = AppState(settings=settings())
        client = create_app(state).test_client()
        await sign_in(client)
        await post(client, "/controls/kill-switch", engaged="true", csrf_token=CSRF)
        assert state.model.controls.kill_switch
        assert [event.kind for event in state.model.audit()] == ["control.kill_switch"]


class TestPauseAndMode:
    async def test_pause_when_authorised_publishes_paused_true(
        self, state: AppState, client: Client, controls: Subscription
    ) -> None:
        """Pause is announced as paused=true."""
        await sign_in(client)
        assert (await post(client, "/controls/pause", paused="true", csrf_token=CSRF))[0] == 303
        (change,) = drain(controls)
        assert isinstance(change, ControlChanged)
        assert (change.setting, change.value) == ("paused", "true")
        assert state.model.controls.paused

    async def test_pause_when_value_invalid_answers_422(
        self, client: Client, controls: Subscription
    ) -> None:
        """A malformed pause value changes nothing."""
        await sign_in(client)
        status, _ = await post(client, "/controls/pause", paused="soon", csrf_token=CSRF)
        assert status == 422
        assert drain(controls) == []

    async def test_pause_when_unauthorised_answers_401(self, client: Client) -> None:
        """Pause needs an operator."""
        assert (await post(client, "/controls/pause", paused="true"))[0] == 401

    async def test_strategy_mode_when_authorised_publishes_new_mode(
        self, client: Client, controls: Subscription
    ) -> None:
        """Switching to 'off' is announced with the previous mode."""
        await sign_in(client)
        status, _ = await post(client, "/controls/strategy-mode", mode="off", csrf_token=CSRF)
        assert status == 303
        (change,) = drain(controls)
        assert isinstance(change, ControlChanged)
        assert (change.setting, change.value, change.previous) == (
            "strategy_mode",
            "off",
            "triangular",
        )

    async def test_strategy_mode_when_mode_not_offered_answers_422_beside_the_field(
        self, client: Client, controls: Subscription
    ) -> None:
        """A mode the bot does not offer (stat-arb before it exists) is refused."""
        await sign_in(client)
        status, html = await post(
            client, "/controls/strategy-mode", mode="stat_arb", csrf_token=CSRF
        )
        assert status == 422
        assert 'id="error-mode"' in html
        assert drain(controls) == []

    async def test_strategy_mode_when_bad_csrf_answers_403(self, client: Client) -> None:
        """The mode control checks CSRF too."""
        await sign_in(client)
        status, _ = await post(client, "/controls/strategy-mode", mode="off", csrf_token="x")
        assert status == 403


class TestRiskLimits:
    async def test_risk_limits_page_when_wired_shows_editable_fields_with_help(
        self, client: Client
    ) -> None:
        """Numeric limits are editable with their documentation; booleans are not."""
        html = await (await client.get("/controls")).get_data(as_text=True)
        assert 'name="min_profit_bps" value="5"' in html
        assert "Smallest expected profit after fees." in html
        assert 'name="enabled"' not in html

    async def test_risk_limits_when_valid_updates_limits_and_publishes_each_change(
        self, state: AppState, client: Client, controls: Subscription, audits: Subscription
    ) -> None:
        """Each changed limit is one ControlChanged 'risk.<field>' and one audit event."""
        await sign_in(client)
        status, _ = await post(
            client,
            "/controls/risk-limits",
            min_profit_bps="7.5",
            max_open_orders="12",
            csrf_token=CSRF,
        )
        assert status == 303
        assert state.risk_limits == Limits(min_profit_bps=Decimal("7.5"))
        (change,) = drain(controls)
        assert isinstance(change, ControlChanged)
        assert (change.setting, change.value, change.previous) == (
            "risk.min_profit_bps",
            "7.5",
            "5",
        )
        assert [a.kind for a in drain(audits) if isinstance(a, AuditEvent)] == [
            "control.risk.min_profit_bps"
        ]

    async def test_risk_limits_when_out_of_bounds_answers_422_beside_field_and_changes_nothing(
        self, state: AppState, client: Client, controls: Subscription
    ) -> None:
        """A value the limits class rejects is shown beside its field; nothing changes."""
        await sign_in(client)
        status, html = await post(
            client,
            "/controls/risk-limits",
            min_profit_bps="9",
            max_open_orders="-1",
            csrf_token=CSRF,
        )
        assert status == 422
        assert '<span class="field-error" role="alert" id="error-max_open_orders">' in html
        assert "must be more than zero, got -1" in html
        assert 'value="-1"' in html  # the operator's input is kept for correction
        assert state.risk_limits == Limits()
        assert drain(controls) == []

    async def test_risk_limits_when_not_a_number_answers_422_naming_the_field(
        self, state: AppState, client: Client
    ) -> None:
        """Malformed text is refused with the converter's message."""
        await sign_in(client)
        status, html = await post(
            client, "/controls/risk-limits", min_profit_bps="lots", csrf_token=CSRF
        )
        assert status == 422
        assert 'id="error-min_profit_bps"' in html
        assert "expected a number" in html
        assert state.risk_limits == Limits()

    async def test_risk_limits_when_unauthorised_answers_401_and_changes_nothing(
        self, state: AppState, client: Client
    ) -> None:
        """Limits need an operator."""
        status, _ = await post(client, "/controls/risk-limits", min_profit_bps="1")
        assert status == 401
        assert state.risk_limits == Limits()

    async def test_risk_limits_when_bad_csrf_answers_403_and_changes_nothing(
        self, state: AppState, client: Client
    ) -> None:
        """Limits check CSRF."""
        await sign_in(client)
        status, _ = await post(client, "/controls/risk-limits", min_profit_bps="1", csrf_token="x")
        assert status == 403
        assert state.risk_limits == Limits()

    async def test_risk_limits_when_not_wired_answers_422(self) -> None:
        """Without limits there is nothing to edit, and the answer says so."""
        client = create_app(AppState(settings=settings())).test_client()
        await sign_in(client)
        status, html = await post(
            client, "/controls/risk-limits", min_profit_bps="1", csrf_token=CSRF
        )
        assert status == 422
        assert "not wired" in html
