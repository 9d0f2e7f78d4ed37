"""Fixtures of the dashboard tests: settings with an operator token, an app state, a client."""

from __future__ import annotations

import re
from decimal import Decimal

import attrs
import pytest
from quart.typing import TestClientProtocol as Client

from actors import Bus
from arbitrade.config import Secret, Settings
from arbitrade.dashboard import AppState, create_app

TOKEN = "operator-token-for-tests"
CSRF = "csrf-token-for-tests"


@attrs.frozen(kw_only=True)
class Limits:
    """A small risk-limits class shaped like the risk gate's settings."""

    min_profit_bps: Decimal = attrs.field(default=Decimal(5))
    """Smallest expected profit after fees."""
    max_open_orders: int = attrs.field(default=12)
    """Most orders live at once."""
    enabled: bool = True
    """Not editable on the form (a boolean)."""

    @min_profit_bps.validator
    def _check_profit(self, attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
        if value < 0:
            raise ValueError(f"risk.min_profit_bps: must be zero or more, got {value}")

    @max_open_orders.validator
    def _check_orders(self, attribute: attrs.Attribute[int], value: int) -> None:
        if value <= 0:
            raise ValueError(f"risk.max_open_orders: must be more than zero, got {value}")


def settings(token: str = TOKEN) -> Settings:
    return Settings(operator_token=Secret(token), app_env="test")


@pytest.fixture
def bus() -> Bus:
    return Bus()


@pytest.fixture
async def state(bus: Bus) -> AppState:
    return AppState(settings=settings(), bus=bus, risk_limits=Limits())


@pytest.fixture
async def client(state: AppState) -> Client:
    return create_app(state).test_client()


async def sign_in(client: Client, who: str = "alice") -> None:
    """Put a signed-in operator and a known CSRF token in the client's session."""
    async with client.session_transaction() as session:
        session["operator"] = who
        session["csrf"] = CSRF


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)
