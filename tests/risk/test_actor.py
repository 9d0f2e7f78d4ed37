"""The RiskGate actor through actors.testing: every check's reject reason and audit event."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import trio
import trio.testing

import actors.testing
from actors import ChildSpec, Lossless
from arbitrade.messages import (
    TOPIC_AUDIT,
    TOPIC_CONTROL,
    TOPIC_RISK_DECISIONS,
    AuditEvent,
    BookHealth,
    BookStateChanged,
    ControlChanged,
    CycleFinished,
    PortfolioSnapshot,
    RiskAccepted,
    RiskRejected,
)
from arbitrade.risk import CancelAllOrders, GetRiskView, RiskGate, RiskSettings
from arbitrade.strategy._stat_messages import ClosePosition
from tests.risk.builders import RICH_BALANCES, make_opportunity, triangle_legs

D = Decimal
WALL = 1_790_000_000.0
SNAPSHOT = PortfolioSnapshot(RICH_BALANCES, D(0), D(0), "USD", 0.0, WALL)


def control(setting: str, value: str) -> ControlChanged:
    return ControlChanged(setting, value, "", "alice", 0.0, WALL)


def lost(cycle_id: str, pnl: str, outcome: str = "broken_unwound") -> CycleFinished:
    return CycleFinished(cycle_id, outcome, "USD", D(pnl), D(0), 0.0)


class Gate:
    """A RiskGate with a probe executor and taps on its output topics."""

    def __init__(self, harness: actors.testing.Harness, settings: RiskSettings) -> None:
        self.harness = harness
        self.settings = settings
        self.executor = harness.probe("root/executor")
        bus = harness.bus
        self.decisions = bus.subscribe(TOPIC_RISK_DECISIONS, Lossless(1000))
        self.audit = bus.subscribe(TOPIC_AUDIT, Lossless(1000))
        self.control = bus.subscribe(TOPIC_CONTROL, Lossless(1000))

    async def start(self) -> None:
        spec = ChildSpec(
            "risk_gate",
            factory=RiskGate,
            args=(self.settings,),
            kwargs={"wall_clock": lambda: WALL},
        )
        self.ref = await self.harness.start(spec)

    async def send(self, *messages: Any) -> None:
        for message in messages:
            await self.ref.send(message)

    async def verdict(self) -> RiskAccepted | RiskRejected:
        with trio.fail_after(1):
            verdict: RiskAccepted | RiskRejected = await self.decisions.receive()
            return verdict

    async def audit_row(self, kind: str) -> AuditEvent:
        with trio.fail_after(1):
            while True:
                event: AuditEvent = await self.audit.receive()
                if event.kind == kind:
                    return event


async def start_gate(harness: actors.testing.Harness, **settings: Any) -> Gate:
    gate = Gate(harness, RiskSettings(**settings))
    await gate.start()
    return gate


# (settings, setup messages, the opportunity, expected reason)
SCENARIOS: list[Any] = [
    pytest.param({}, [control("kill_switch", "on")], {}, "kill_switch", id="kill_switch"),
    pytest.param({}, [control("paused", "true")], {}, "paused", id="paused"),
    pytest.param({}, [control("strategy_mode", "off")], {}, "strategy_off", id="strategy_off"),
    pytest.param({}, [make_opportunity()], {}, "duplicate", id="duplicate"),
    pytest.param({}, [], {"legs": triangle_legs(btc_qty="0")}, "malformed", id="malformed"),
    pytest.param({}, [], {"home": "EUR"}, "home_mismatch", id="home_mismatch"),
    pytest.param(
        {"daily_loss_limit": D(10)},
        [lost("x", "-12"), control("kill_switch", "off")],
        {},
        "daily_loss_limit",
        id="daily_loss_limit",
    ),
    pytest.param(
        {}, [make_opportunity(id="first"), lost("first", "-1")], {}, "cooldown", id="cooldown"
    ),
    pytest.param(
        {},
        [BookStateChanged("ETH/BTC", BookHealth.STALE, "feed lagging", 0.0)],
        {},
        "book_not_live",
        id="book_not_live",
    ),
    pytest.param({}, [], {"book_ages": (0.1, 5.0, 0.1)}, "stale_book", id="stale_book"),
    pytest.param({}, [], {"legs": triangle_legs(eth_usd="2515")}, "min_profit", id="min_profit"),
    pytest.param(
        {},
        [control("risk.max_cycle_notional", "100")],
        {},
        "max_cycle_notional",
        id="max_cycle_notional",
    ),
    pytest.param({"max_leg_notional": D(400)}, [], {}, "max_leg_notional", id="max_leg_notional"),
    pytest.param(
        {"max_open_cycles": 1},
        [make_opportunity(id="first")],
        {},
        "max_open_cycles",
        id="max_open_cycles",
    ),
    pytest.param(
        {"max_open_orders": 5},
        [make_opportunity(id="first")],
        {},
        "max_open_orders",
        id="max_open_orders",
    ),
    pytest.param(
        {},
        [PortfolioSnapshot((("USD", D(10)),), D(0), D(0), "USD", 0.0, WALL)],
        {},
        "insufficient_balance",
        id="insufficient_balance",
    ),
    pytest.param(
        {"rate_budget_fraction": D("0.05"), "max_open_cycles": 100, "max_open_orders": 1000},
        [make_opportunity(id=f"o{i}") for i in range(3)],
        {},
        "rate_budget",
        id="rate_budget",
    ),
]


class TestEveryCheck:
    @pytest.mark.parametrize(("settings", "setup", "changes", "reason"), SCENARIOS)
    async def test_opportunity_when_check_fails_rejects_with_reason_and_audit(
        self,
        autojump_clock: trio.testing.MockClock,
        settings: dict[str, Any],
        setup: list[Any],
        changes: dict[str, Any],
        reason: str,
    ) -> None:
        """The gate publishes RiskRejected with the check's reason and a matching audit row."""
        async with actors.testing.open_harness() as harness:
            gate = await start_gate(harness, **settings)
            await gate.send(SNAPSHOT, *setup)
            opportunity = make_opportunity(
                **{"id": "probe", "detected_at": trio.current_time(), **changes}
            )
            if reason == "duplicate":
                opportunity = make_opportunity(detected_at=trio.current_time())
            await gate.send(opportunity)
            with trio.fail_after(1):
                while True:
                    verdict = await gate.verdict()
                    if (
                        isinstance(verdict, RiskRejected)
                        and verdict.opportunity_id == opportunity.id
                    ):
                        break
            assert verdict.reason == reason
            while True:
                row = await gate.audit_row("risk.rejected")
                if row.subject == opportunity.id and json.loads(row.detail)["reason"] == reason:
                    break


class TestAccepting:
    async def test_opportunity_when_fine_goes_to_executor_and_is_audited(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Accepted: RiskAccepted to the executor and on the bus, 'risk.accepted' audit row."""
        async with actors.testing.open_harness() as harness:
            gate = await start_gate(harness)
            await gate.send(SNAPSHOT, make_opportunity(detected_at=trio.current_time()))
            sent = await gate.executor.expect(RiskAccepted)
            assert sent.opportunity.id == "opp-1"
            assert isinstance(await gate.verdict(), RiskAccepted)
            assert (await gate.audit_row("risk.accepted")).subject == "opp-1"

    async def test_close_when_strategy_off_still_goes_through(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A stat-arb ClosePosition reduces risk: strategy mode off does not block it."""
        async with actors.testing.open_harness() as harness:
            gate = await start_gate(harness)
            opportunity = make_opportunity(strategy="stat_arb", detected_at=trio.current_time())
            await gate.send(
                SNAPSHOT,
                control("strategy_mode", "off"),
                ClosePosition(opportunity, "BTC/USD~ETH/USD", "p-1", "mode_switch"),
            )
            await gate.executor.expect(RiskAccepted)

    async def test_view_when_asked_reports_state(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """GetRiskView answers with the state the next decision would use."""
        async with actors.testing.open_harness() as harness:
            gate = await start_gate(harness)
            await gate.send(SNAPSHOT, make_opportunity(detected_at=trio.current_time()))
            view = await gate.ref.ask(GetRiskView())
            assert (view.open_cycles, view.available["USD"]) == (1, D(100_000) - D("502.000"))


class TestKillSwitchAndDailyLoss:
    async def test_kill_switch_when_engaged_cancels_open_orders_and_audits(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Engaging sends CancelAllOrders to the executor and writes the audit row."""
        async with actors.testing.open_harness() as harness:
            gate = await start_gate(harness)
            await gate.send(control("kill_switch", "on"))
            cancel = await gate.executor.expect(CancelAllOrders)
            assert cancel.reason == "kill_switch:operator:alice"
            row = await gate.audit_row("control.kill_switch")
            assert json.loads(row.detail)["engaged"] is True

    async def test_daily_loss_when_limit_reached_trips_kill_switch(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The loss limit engages the kill switch: ControlChanged on the bus, cancel, audit."""
        async with actors.testing.open_harness() as harness:
            gate = await start_gate(harness, daily_loss_limit=D(10))
            await gate.send(SNAPSHOT, lost("a", "-4"), lost("b", "-6"))
            await gate.executor.expect(CancelAllOrders)
            with trio.fail_after(1):
                echo: ControlChanged = await gate.control.receive()
            assert (echo.setting, echo.value, echo.who) == (
                "kill_switch",
                "on",
                "risk_gate:daily_loss_limit",
            )
            row = await gate.audit_row("control.kill_switch")
            assert json.loads(row.detail)["realised_pnl_today"] == "-10"
            await gate.send(make_opportunity(detected_at=trio.current_time()))
            verdict = await gate.verdict()
            assert isinstance(verdict, RiskRejected)
            assert verdict.reason == "kill_switch"

    async def test_gate_when_crashed_restarts_with_configured_state(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """After a crash the gate starts afresh: no balances until the next snapshot."""
        async with actors.testing.open_harness() as harness:
            gate = await start_gate(harness)
            await gate.send(SNAPSHOT)
            await harness.crash(gate.ref)
            await gate.send(make_opportunity(detected_at=trio.current_time()))
            verdict = await gate.verdict()
            assert isinstance(verdict, RiskRejected)
            assert verdict.reason == "insufficient_balance"
