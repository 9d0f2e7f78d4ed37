"""The executor core: cycles, unwinding, halting and resubmission, without I/O."""

from __future__ import annotations

import json
from decimal import Decimal

import attrs

from arbitrade.execution import (
    Cancel,
    Effects,
    ExecType,
    ExecutionReport,
    ExecutionSettings,
    ExecutorCore,
    Query,
    Submit,
    VenueConnection,
    client_order_id,
)
from arbitrade.messages import AuditEvent, CycleFinished, Fill, OrderState, OrderUpdate
from tests.execution.market import BOOKS, INSTRUMENTS, book
from tests.risk.builders import make_opportunity

D = Decimal
S = OrderState
FEE = D("0.004")


def core(**settings: object) -> ExecutorCore:
    executor = ExecutorCore(ExecutionSettings(**settings), to_wall=lambda t: 1_790_000_000 + t)  # type: ignore[arg-type]
    executor.on_instruments(INSTRUMENTS)
    for top in BOOKS:
        executor.on_book(top)
    return executor


def submitted(effects: Effects) -> list[Submit]:
    return [c for c in effects.commands if isinstance(c, Submit)]


def of_type[T](effects: Effects, kind: type[T]) -> list[T]:
    return [e for e in effects.events if isinstance(e, kind)]


def fill_report(
    submit: Submit, qty: str | None = None, price: str | None = None
) -> ExecutionReport:
    """The venue filled ``qty`` (default all) of the order at ``price`` (default its limit)."""
    order = submit.order
    filled = D(qty) if qty is not None else order.qty
    at_price = D(price) if price is not None else order.limit_price
    status = S.FILLED if filled >= order.qty else S.PARTIALLY_FILLED
    return ExecutionReport(
        order.cl_ord_id,
        ExecType.TRADE,
        status,
        order.symbol,
        order.side,
        order.qty,
        filled,
        at=100.1,
        exec_id=f"x-{order.cl_ord_id}",
        last_qty=filled,
        last_price=at_price,
        fee=filled * at_price * FEE,
        fee_asset=order.symbol.split("/")[1],
    )


def end_report(
    submit: Submit, exec_type: ExecType, status: OrderState, cum: str = "0", reason: str = ""
) -> ExecutionReport:
    order = submit.order
    return ExecutionReport(
        order.cl_ord_id,
        exec_type,
        status,
        order.symbol,
        order.side,
        order.qty,
        D(cum),
        at=100.1,
        reason=reason,
    )


def run(executor: ExecutorCore, reports: list[ExecutionReport]) -> Effects:
    total = Effects()
    for item in reports:
        total.extend(executor.on_report(item, 100.1))
    return total


class TestStartCycle:
    def test_start_when_accepted_sends_every_leg_at_once_as_ioc(self) -> None:
        """All legs go out together, IOC limit at the opportunity's prices, deterministic ids."""
        opportunity = make_opportunity()
        effects = core().start_cycle(opportunity, now=100.0)
        orders = [s.order for s in submitted(effects)]
        assert [(o.symbol, o.side.value, o.limit_price, o.qty) for o in orders] == [
            (leg.symbol, leg.side.value, leg.price, leg.qty) for leg in opportunity.legs
        ]
        assert all(o.time_in_force == "ioc" and o.deadline == 105.0 for o in orders)
        assert [o.cl_ord_id for o in orders] == [
            client_order_id("opp-1", "leg", i) for i in range(3)
        ]
        assert [u.state for u in of_type(effects, OrderUpdate)] == [S.PENDING] * 3

    def test_start_when_same_cycle_again_sends_nothing(self) -> None:
        """A cycle id is traded at most once."""
        executor = core()
        executor.start_cycle(make_opportunity(), now=100.0)
        assert executor.start_cycle(make_opportunity(), now=100.0) == Effects()

    def test_start_when_halted_finishes_rejected_without_orders(self) -> None:
        """While the kill switch holds, an accepted cycle that slipped through sends nothing."""
        executor = core()
        executor.set_halted(True)
        effects = executor.start_cycle(make_opportunity(), now=100.0)
        assert effects.commands == []
        (finished,) = of_type(effects, CycleFinished)
        assert finished.outcome == "rejected"


class TestCompletion:
    def test_cycle_when_every_leg_fills_completes_with_home_pnl(self) -> None:
        """PnL is the net home flow of the fills, fees included."""
        executor = core()
        legs = submitted(executor.start_cycle(make_opportunity(), now=100.0))
        effects = run(executor, [fill_report(s) for s in legs])
        (finished,) = of_type(effects, CycleFinished)
        assert finished.outcome == "completed"
        btc_fee_in_usd = D("0.2") * D("0.05") * FEE * D(50000)  # ETH/BTC fee, paid in BTC
        assert finished.pnl == D("520") * (1 - FEE) - D("500") * (1 + FEE) - btc_fee_in_usd
        assert len(of_type(effects, Fill)) == 3

    def test_cycle_when_every_leg_rejected_finishes_rejected_with_zero_pnl(self) -> None:
        """Nothing traded: outcome rejected, nothing to unwind."""
        executor = core()
        legs = submitted(executor.start_cycle(make_opportunity(), now=100.0))
        effects = run(executor, [end_report(s, ExecType.REJECTED, S.REJECTED) for s in legs])
        (finished,) = of_type(effects, CycleFinished)
        assert (finished.outcome, finished.pnl) == ("rejected", D(0))

    def test_cycle_when_some_legs_open_waits(self) -> None:
        """No verdict before every order is terminal."""
        executor = core()
        legs = submitted(executor.start_cycle(make_opportunity(), now=100.0))
        effects = run(executor, [fill_report(legs[0]), fill_report(legs[1])])
        assert of_type(effects, CycleFinished) == []


class TestUnwind:
    def broken(self, executor: ExecutorCore) -> Effects:
        """Legs 1 and 3 fill, leg 2 (ETH/BTC) is rejected: BTC surplus, ETH deficit."""
        legs = submitted(executor.start_cycle(make_opportunity(), now=100.0))
        return run(
            executor,
            [
                fill_report(legs[0]),
                end_report(
                    legs[1], ExecType.REJECTED, S.REJECTED, reason="EOrder:Insufficient funds"
                ),
                fill_report(legs[2]),
            ],
        )

    def test_broken_when_within_bound_sends_unwinds_back_to_home(self) -> None:
        """Surplus BTC is sold on BTC/USD, the ETH deficit bought back on ETH/USD."""
        effects = self.broken(core())
        orders = sorted((s.order for s in submitted(effects)), key=lambda o: o.symbol)
        assert [(o.symbol, o.side.value, o.qty) for o in orders] == [
            ("BTC/USD", "sell", D("0.01")),
            ("ETH/USD", "buy", D("0.2")),
        ]
        btc, eth = orders
        # BTC: value 500 at the leg's 50000, bound min(25, 1.5 % of 500) = 7.5:
        # (500 - 7.5) / (0.01 * 0.996) = 49447.79..., rounded up to the 0.1 tick
        assert btc.limit_price == D("49447.8")
        # ETH: value 520 at the leg's 2600, bound 7.8: (520 + 7.8) / (0.2 * 1.004) = 2628.486...
        assert eth.limit_price == D("2628.48")
        assert [a.kind for a in of_type(effects, AuditEvent)] == ["execution.unwind"] * 2
        assert of_type(effects, CycleFinished) == []

    def test_unwinds_when_filled_finish_broken_unwound_with_cost(self) -> None:
        """Unwound cycle: PnL is the home flow of all fills; unwind_cost against leg prices."""
        executor = core()
        unwinds = sorted(submitted(self.broken(executor)), key=lambda s: s.order.symbol)
        effects = run(
            executor,
            [fill_report(unwinds[0], price="49990"), fill_report(unwinds[1], price="2601")],
        )
        (finished,) = of_type(effects, CycleFinished)
        assert finished.outcome == "broken_unwound"
        usd = (
            -D(500) * (1 + FEE)
            + D(520) * (1 - FEE)
            + D("499.90") * (1 - FEE)
            - D("520.2") * (1 + FEE)
        )
        assert finished.pnl == usd
        expected_cost = (D(500) - D("499.90") * (1 - FEE)) + (D("520.2") * (1 + FEE) - D(520))
        assert finished.unwind_cost == expected_cost

    def test_broken_when_book_beyond_bound_holds_and_alerts(self) -> None:
        """A leftover whose unwind would break the bound is held with an alert."""
        executor = core()
        executor.on_book(book("BTC/USD", [("45000", "1")], [("45010", "1")]))
        effects = self.broken(executor)
        held = [a for a in of_type(effects, AuditEvent) if a.kind == "execution.unwind_held"]
        assert [json.loads(a.detail)["asset"] for a in held] == ["BTC"]
        assert json.loads(held[0].detail)["hold"] == "loss_bound"
        assert [s.order.symbol for s in submitted(effects)] == ["ETH/USD"]

    def test_held_when_rest_unwound_finishes_broken_held(self) -> None:
        """A cycle with a held leftover ends broken_held once the rest is done."""
        executor = core()
        executor.on_book(book("BTC/USD", [("45000", "1")], [("45010", "1")]))
        (eth,) = submitted(self.broken(executor))
        (finished,) = of_type(run(executor, [fill_report(eth)]), CycleFinished)
        assert finished.outcome == "broken_held"

    def test_broken_when_no_direct_pair_holds(self) -> None:
        """Without an ASSET/HOME pair there is no unwind route: held, alert."""
        executor = ExecutorCore(ExecutionSettings(), to_wall=lambda t: t)
        effects = self.broken(executor)
        held = [json.loads(a.detail)["hold"] for a in of_type(effects, AuditEvent)]
        assert held == ["no_unwind_pair", "no_unwind_pair"]
        (finished,) = of_type(effects, CycleFinished)
        assert finished.outcome == "broken_held"

    def test_unwind_when_ioc_partly_fills_tries_again_until_attempts_run_out(self) -> None:
        """Each round unwinds what is left; after unwind_attempts the rest is held."""
        executor = core(unwind_attempts=2)
        first = {s.order.symbol: s for s in submitted(self.broken(executor))}
        second = run(
            executor,
            [
                fill_report(first["BTC/USD"], qty="0.004", price="49990"),
                end_report(first["BTC/USD"], ExecType.CANCELED, S.CANCELLED, "0.004", "ioc"),
                fill_report(first["ETH/USD"], price="2601"),
            ],
        )
        (retry,) = submitted(second)
        assert (retry.order.symbol, retry.order.qty) == ("BTC/USD", D("0.006"))
        assert retry.order.cl_ord_id == client_order_id("opp-1", "unwind2", 0)
        third = run(executor, [end_report(retry, ExecType.CANCELED, S.CANCELLED, "0", "ioc")])
        held = [json.loads(a.detail)["hold"] for a in of_type(third, AuditEvent)]
        assert held == ["attempts_exhausted"]
        (finished,) = of_type(third, CycleFinished)
        assert finished.outcome == "broken_held"

    def test_broken_when_halted_holds_instead_of_trading(self) -> None:
        """The kill switch stops unwinds too: leftovers are held with reason kill_switch."""
        executor = core()
        executor.set_halted(True)
        legs = submitted(core().start_cycle(make_opportunity(), now=100.0))
        executor.set_halted(False)
        executor.start_cycle(make_opportunity(), now=100.0)
        executor.set_halted(True)
        effects = run(
            executor,
            [
                fill_report(legs[0]),
                end_report(legs[1], ExecType.REJECTED, S.REJECTED),
                fill_report(legs[2]),
            ],
        )
        assert submitted(effects) == []
        assert {json.loads(a.detail)["hold"] for a in of_type(effects, AuditEvent)} == {
            "kill_switch"
        }

    def test_leftover_when_below_minimum_is_dust_without_alert(self) -> None:
        """A leftover smaller than the pair minimum is left alone and not alerted."""
        executor = core()
        legs = submitted(executor.start_cycle(make_opportunity(), now=100.0))
        effects = run(
            executor,
            [
                fill_report(legs[0]),
                fill_report(legs[1], qty="0.19999"),
                end_report(legs[1], ExecType.CANCELED, S.CANCELLED, "0.19999", "ioc"),
                fill_report(legs[2]),
            ],
        )
        kinds = [a.kind for a in of_type(effects, AuditEvent)]
        assert "execution.dust" in kinds
        assert "execution.unwind_held" not in kinds


class TestKillSwitch:
    def test_cancel_all_when_orders_open_cancels_each_and_halts(self) -> None:
        """Every non-terminal order gets a cancel; the executor halts."""
        executor = core()
        legs = submitted(executor.start_cycle(make_opportunity(), now=100.0))
        run(executor, [fill_report(legs[0])])
        effects = executor.cancel_all("kill_switch:operator", now=100.2)
        assert [c.cl_ord_id for c in effects.commands if isinstance(c, Cancel)] == [
            legs[1].order.cl_ord_id,
            legs[2].order.cl_ord_id,
        ]
        assert executor.halted
        assert of_type(effects, AuditEvent)[0].kind == "execution.cancel_all"


class TestReconnect:
    def test_reconnect_when_orders_open_queries_before_resubmitting(self) -> None:
        """Reconnecting sends queries only, never a blind resubmission."""
        executor = core()
        executor.start_cycle(make_opportunity(), now=100.0)
        executor.on_connection(VenueConnection(False, "dropped", 100.0), 100.0)
        effects = executor.on_connection(VenueConnection(True, "reconnected", 100.5), 100.5)
        assert all(isinstance(c, Query) for c in effects.commands)
        assert len(effects.commands) == 3

    def test_query_when_venue_never_got_order_resubmits_same_id(self) -> None:
        """An order the venue does not know is resubmitted with its cl_ord_id and deadline."""
        executor = core()
        (leg, *_) = submitted(executor.start_cycle(make_opportunity(), now=100.0))
        effects = executor.on_query_result(leg.order.cl_ord_id, None, now=101.0)
        assert submitted(effects) == [leg]

    def test_query_when_venue_has_order_applies_it_without_resubmitting(self) -> None:
        """An order the venue knows is never sent again; its state is folded in."""
        executor = core()
        (leg, *_) = submitted(executor.start_cycle(make_opportunity(), now=100.0))
        status = attrs.evolve(
            fill_report(leg), exec_type=ExecType.STATUS, exec_id="", cum_cost=D(500), cum_fee=D(2)
        )
        effects = executor.on_query_result(leg.order.cl_ord_id, status, now=101.0)
        assert submitted(effects) == []
        assert [u.state for u in of_type(effects, OrderUpdate)] == [S.FILLED]

    def test_query_when_deadline_passed_expires_locally(self) -> None:
        """Past its deadline an unsent order is never sent: it expires locally."""
        executor = core()
        (leg, *_) = submitted(executor.start_cycle(make_opportunity(), now=100.0))
        effects = executor.on_query_result(leg.order.cl_ord_id, None, now=105.0)
        assert submitted(effects) == []
        (update,) = of_type(effects, OrderUpdate)
        assert (update.state, update.reason) == (S.EXPIRED, "deadline_passed_before_sent")

    def test_duplicate_rejection_when_original_exists_queries_it(self) -> None:
        """A duplicate-id rejection never ends the original order: the executor asks."""
        executor = core()
        (leg, *_) = submitted(executor.start_cycle(make_opportunity(), now=100.0))
        effects = executor.on_report(
            end_report(leg, ExecType.REJECTED, S.REJECTED, reason="duplicate_cl_ord_id"), 100.1
        )
        assert effects.commands == [Query(leg.order.cl_ord_id)]
        assert effects.events == []

    def test_tick_when_order_stuck_past_deadline_queries_once(self) -> None:
        """The watchdog asks about an order with no end well after its deadline, once."""
        executor = core()
        executor.start_cycle(make_opportunity(), now=100.0)
        assert executor.on_tick(106.0).commands == []
        assert len(executor.on_tick(107.5).commands) == 3
        assert executor.on_tick(108.0).commands == []


class TestLateFill:
    def test_fill_when_cycle_already_finished_is_published_with_alert(self) -> None:
        """A fill after the cycle's verdict still counts, and operators are told."""
        executor = core()
        legs = submitted(executor.start_cycle(make_opportunity(), now=100.0))
        run(executor, [end_report(s, ExecType.EXPIRED, S.EXPIRED) for s in legs])
        effects = executor.on_report(fill_report(legs[0]), 101.0)
        assert len(of_type(effects, Fill)) == 1
        assert [a.kind for a in of_type(effects, AuditEvent)] == ["execution.late_fill"]
