"""A restarted gate reserves again for the cycles the executor still trades.

The core's :meth:`~arbitrade.risk.RiskGateCore.restore_cycles` directly; the actor with a probe
executor that answers :class:`~arbitrade.risk.GetCyclesInFlight`; and the whole trading tree,
where an executor crash restarts the gate (rest-for-one) with a cycle in flight.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import attrs
import structlog.testing
import trio
import trio.testing

import actors.testing
from actors import ChildSpec, Lossless
from arbitrade.execution import ExecType, ScriptedVenue, silent
from arbitrade.messages import (
    TOPIC_AUDIT,
    TOPIC_OPPORTUNITIES,
    TOPIC_RISK_DECISIONS,
    AuditEvent,
    ControlChanged,
    CycleFinished,
    Opportunity,
    OrderState,
    OrderUpdate,
    PortfolioSnapshot,
    RiskAccepted,
    RiskRejected,
    Side,
)
from arbitrade.risk import (
    CycleInFlight,
    GetCyclesInFlight,
    GetRiskView,
    RiskGate,
    RiskGateCore,
    RiskMemory,
    RiskSettings,
)
from tests.execution.test_actors import leg_report, one_leg, submitted_order
from tests.execution.tree import trading_tree
from tests.risk.builders import RICH_BALANCES, make_opportunity
from tests.risk.test_actor import SNAPSHOT, WALL

D = Decimal
NOW = 100.0


def order_update(
    opportunity: Opportunity, index: int, state: OrderState = OrderState.OPEN
) -> OrderUpdate:
    """The update the executor would give for the ``index``-th leg's order."""
    leg = opportunity.legs[index]
    return OrderUpdate(
        cl_ord_id=f"{opportunity.id}-{index}",
        cycle_id=opportunity.id,
        symbol=leg.symbol,
        side=leg.side,
        order_type="limit",
        reason="",
        state=state,
        qty=leg.qty,
        filled_qty=D(0),
        limit_price=leg.price,
        at=NOW,
    )


def in_flight(opportunity: Opportunity, *states: OrderState) -> CycleInFlight:
    """A cycle whose legs stand in ``states`` (all open when none are given)."""
    states = states or (OrderState.OPEN,) * len(opportunity.legs)
    return CycleInFlight(
        opportunity, tuple(order_update(opportunity, i, s) for i, s in enumerate(states))
    )


def gate_spec(settings: RiskSettings, executor: str = "executor") -> ChildSpec:
    return ChildSpec(
        "risk_gate",
        factory=RiskGate,
        args=(settings,),
        kwargs={"executor": executor, "wall_clock": lambda: WALL},
    )


def gate(**settings: Any) -> RiskGateCore:
    core = RiskGateCore(RiskSettings(**settings))
    core.on_portfolio(SNAPSHOT)
    return core


class TestRestoreCore:
    def test_restore_when_cycle_in_flight_reserves_it_again(self) -> None:
        """The restored cycle holds what acceptance reserved, and its live orders count."""
        opportunity = make_opportunity()
        accepted, restored = gate(), gate()
        assert accepted.decide(opportunity, NOW, WALL).accepted
        audit = restored.restore_cycles([in_flight(opportunity)], NOW, WALL)
        assert restored.available() == accepted.available()
        assert (restored.open_cycles, restored.open_orders) == (1, 3)
        assert audit is not None
        detail = json.loads(audit.detail)
        assert (audit.kind, detail["open_cycles"]) == ("risk.restored", 1)
        assert detail["cycles"] == {"opp-1": ["opp-1-0", "opp-1-1", "opp-1-2"]}

    def test_decide_when_restored_cycles_fill_the_limit_rejects_open_cycles(self) -> None:
        """The open-cycle limit counts restored cycles."""
        core = gate(max_open_cycles=1)
        core.restore_cycles([in_flight(make_opportunity(id="before"))], NOW, WALL)
        decision = core.decide(make_opportunity(id="after"), NOW, WALL)
        assert isinstance(decision.verdict, RiskRejected)
        assert decision.verdict.reason == "max_open_cycles"

    def test_decide_when_reservations_restored_rejects_what_balances_no_longer_cover(
        self,
    ) -> None:
        """Balances less the restored reservation are what a new cycle may spend."""
        core = RiskGateCore(RiskSettings(max_open_cycles=10))
        core.on_portfolio(PortfolioSnapshot((("USD", D(600)),), D(0), D(0), "USD", 0.0, WALL))
        core.restore_cycles([in_flight(make_opportunity(id="before"))], NOW, WALL)
        decision = core.decide(make_opportunity(id="after"), NOW, WALL)
        assert isinstance(decision.verdict, RiskRejected)
        assert decision.verdict.reason == "insufficient_balance"

    def test_decide_when_opportunity_restored_rejects_it_as_duplicate(self) -> None:
        """A restored cycle's opportunity is never accepted a second time."""
        core = gate()
        core.restore_cycles([in_flight(make_opportunity())], NOW, WALL)
        decision = core.decide(make_opportunity(), NOW, WALL)
        assert isinstance(decision.verdict, RiskRejected)
        assert decision.verdict.reason == "duplicate"

    def test_order_update_when_restored_order_seen_again_is_not_charged_twice(self) -> None:
        """The executor's republished updates find the orders known: no second charge."""
        opportunity = make_opportunity()
        core = gate()
        core.restore_cycles([in_flight(opportunity)], NOW, WALL)
        charged = core.rate_counter.value("BTC/USD", NOW)
        core.on_order_update(order_update(opportunity, 0), NOW)
        assert core.rate_counter.value("BTC/USD", NOW) == charged
        assert core.open_orders == 3

    def test_restore_when_orders_terminal_counts_only_live_ones(self) -> None:
        """Orders that already ended are settled, not counted as open."""
        opportunity = make_opportunity()
        core = gate()
        cycle = in_flight(opportunity, OrderState.FILLED, OrderState.FILLED, OrderState.OPEN)
        core.restore_cycles([cycle], NOW, WALL)
        core.on_order_update(order_update(opportunity, 0, OrderState.FILLED), NOW)
        assert (core.open_cycles, core.open_orders) == (1, 1)

    def test_cycle_finished_when_restored_cycle_ends_releases_its_reservation(self) -> None:
        """A restored cycle ends like any other: its reservation goes."""
        core = gate()
        core.restore_cycles([in_flight(make_opportunity())], NOW, WALL)
        core.on_cycle_finished(
            CycleFinished("opp-1", "completed", "USD", D(1), D(0), NOW), NOW, WALL
        )
        assert core.open_cycles == 0
        assert core.available() == dict(RICH_BALANCES)

    def test_restore_when_cycle_already_open_changes_nothing(self) -> None:
        """Restoring a cycle the gate still holds neither doubles it nor audits."""
        core = gate()
        opportunity = make_opportunity()
        core.decide(opportunity, NOW, WALL)
        before = core.available()
        assert core.restore_cycles([in_flight(opportunity)], NOW, WALL) is None
        assert (core.available(), core.open_cycles) == (before, 1)


class TestRestoreActor:
    async def test_gate_when_started_restores_executor_cycles_and_audits(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """On start the gate asks the executor, reserves, audits ``risk.restored`` and then
        holds the open-cycle limit."""
        cycle = in_flight(make_opportunity(id="before"))
        async with actors.testing.open_harness() as harness:
            harness.probe(
                "root/executor",
                reply=lambda m: (cycle,) if isinstance(m, GetCyclesInFlight) else None,
            )
            audit_rows = harness.bus.subscribe(TOPIC_AUDIT, Lossless(100))
            decisions = harness.bus.subscribe(TOPIC_RISK_DECISIONS, Lossless(100))
            ref = await harness.start(gate_spec(RiskSettings(max_open_cycles=1)))
            await ref.send(SNAPSHOT)
            await ref.send(make_opportunity(id="after", detected_at=trio.current_time()))
            with trio.fail_after(1):
                audit = await audit_rows.receive()
                verdict = await decisions.receive()
        restored = json.loads(audit.detail)["cycles"]
        assert (audit.kind, restored) == (
            "risk.restored",
            {"before": ["before-0", "before-1", "before-2"]},
        )
        assert isinstance(verdict, RiskRejected)
        assert verdict.reason == "max_open_cycles"

    async def test_gate_when_executor_missing_starts_empty_and_logs(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """No executor to ask: the gate starts with nothing reserved and says so."""
        async with actors.testing.open_harness() as harness:
            with structlog.testing.capture_logs() as logs:
                ref = await harness.start(gate_spec(RiskSettings(), executor="nobody"))
            view = await ref.ask(GetRiskView())
        warnings = [e["event"] for e in logs if e["log_level"] == "warning"]
        assert warnings == ["risk_gate.restore_failed"]
        assert (view.open_cycles, view.open_orders) == (0, 0)


class TestRestoreAfterExecutorCrash:
    async def test_executor_crash_when_cycle_in_flight_restarted_gate_keeps_open_cycle_limit(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An executor crash restarts the gate too (rest-for-one); the new gate reserves the
        cycle still in flight, so a second cycle is refused at ``max_open_cycles=1``."""
        venue = ScriptedVenue(silent())
        async with trading_tree(venue, risk=RiskSettings(max_open_cycles=1)) as trading:
            await trading.publish(TOPIC_OPPORTUNITIES, one_leg(id="first"))
            order = await submitted_order(trading, venue)
            venue.emit(leg_report(order, ExecType.NEW, OrderState.OPEN, "0"))
            await trading.tap.expect(OrderUpdate, lambda u: u.state is OrderState.OPEN)
            await trading.harness.crash(trading.executor)
            restored = await trading.tap.expect(
                AuditEvent, lambda a: a.kind == "risk.restored", within=5.0
            )
            await trading.tap.expect(PortfolioSnapshot, within=60.0)  # balances again
            await trading.publish(TOPIC_OPPORTUNITIES, one_leg(id="second"))
            verdict = await trading.tap.expect(
                RiskRejected, lambda r: r.opportunity_id == "second", within=5.0
            )
            accepted = [a.opportunity.id for a in trading.tap.all(RiskAccepted)]
        assert json.loads(restored.detail)["cycles"] == {"first": [order.cl_ord_id]}
        assert verdict.reason == "max_open_cycles"
        assert accepted == ["first"]
        assert venue.submitted == [order]
        assert Side.BUY is order.side


class TestRiskMemory:
    def test_load_when_memory_saved_keeps_kill_switch_and_todays_loss(self) -> None:
        """A new core on a saved memory has the kill switch and the day's PnL of the old."""
        old, memory = gate(daily_loss_limit=D(10)), RiskMemory()
        lost = CycleFinished("x", "broken_unwound", "USD", D(-12), D(0), NOW)
        outcome = old.on_cycle_finished(lost, NOW, WALL)
        old.save(memory)
        new = RiskGateCore(RiskSettings(daily_loss_limit=D(10)))
        assert new.load(memory)
        assert outcome.echo is not None
        assert (new.kill_switch, new.kill_cause) == (True, "daily_loss_limit")
        assert new.pnl_today(WALL) == D(-12)

    def test_load_when_memory_fresh_changes_nothing(self) -> None:
        """A memory no gate saved into leaves the configured state."""
        core = RiskGateCore(RiskSettings(kill_switch_engaged=True))
        assert not core.load(RiskMemory())
        assert core.kill_switch

    async def test_gate_when_crashed_with_memory_keeps_operator_kill_switch(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The kill switch an operator engaged is still engaged after the gate's crash."""
        async with actors.testing.open_harness() as harness:
            harness.probe("root/executor")
            decisions = harness.bus.subscribe(TOPIC_RISK_DECISIONS, Lossless(100))
            spec = gate_spec(RiskSettings())
            spec = attrs.evolve(spec, kwargs={**spec.kwargs, "memory": RiskMemory()})
            ref = await harness.start(spec)
            await ref.send(ControlChanged("kill_switch", "on", "off", "alice", 0.0, WALL))
            await ref.ask(GetRiskView())  # the change was applied (and saved)
            await harness.crash(ref)
            await ref.send(SNAPSHOT)
            await ref.send(make_opportunity(detected_at=trio.current_time()))
            with trio.fail_after(1):
                verdict = await decisions.receive()
        assert isinstance(verdict, RiskRejected)
        assert verdict.reason == "kill_switch"
