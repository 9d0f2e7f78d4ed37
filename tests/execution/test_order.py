"""The order state machine: every transition, late fills, duplicates, inferred fills."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arbitrade.execution import ExecType, TrackedOrder
from arbitrade.messages import Fill, OrderState, OrderUpdate
from tests.execution.reports import report, request, trade

D = Decimal
S = OrderState
E = ExecType


def order(qty: str = "1") -> TrackedOrder:
    return TrackedOrder(request(qty=D(qty)), "cycle", "leg", 0.0)


def states(events: list[OrderUpdate | Fill]) -> list[OrderState]:
    return [event.state for event in events if isinstance(event, OrderUpdate)]


def fills(events: list[OrderUpdate | Fill]) -> list[Fill]:
    return [event for event in events if isinstance(event, Fill)]


class TestTransitions:
    def test_new_when_pending_opens(self) -> None:
        """PENDING -> OPEN on acknowledgement, keeping the venue's order id."""
        tracked = order()
        events = tracked.apply(report(E.NEW, S.OPEN, venue_order_id="O-1"))
        assert states(events) == [S.OPEN]
        assert tracked.venue_order_id == "O-1"

    def test_pending_new_when_pending_stays_pending(self) -> None:
        """Kraken's pending_new is not yet an acknowledgement: no change, no update."""
        assert order().apply(report(E.PENDING_NEW, S.PENDING)) == []

    def test_trade_when_part_of_qty_partially_fills(self) -> None:
        """OPEN -> PARTIALLY_FILLED with one Fill."""
        tracked = order()
        tracked.apply(report(E.NEW, S.OPEN))
        events = tracked.apply(trade("t1", "0.4", "0.4"))
        assert states(events) == [S.PARTIALLY_FILLED]
        assert [f.qty for f in fills(events)] == [D("0.4")]

    def test_trade_when_rest_of_qty_fills(self) -> None:
        """PARTIALLY_FILLED -> FILLED when cum reaches qty."""
        tracked = order()
        tracked.apply(trade("t1", "0.4", "0.4"))
        events = tracked.apply(trade("t2", "0.6", "1"))
        assert states(events) == [S.FILLED]
        assert tracked.filled_qty == D(1)

    def test_trade_when_before_ack_moves_straight_to_filled(self) -> None:
        """PENDING -> FILLED when the fill is the first thing seen."""
        assert states(order().apply(trade("t1", "1", "1"))) == [S.FILLED]

    def test_new_when_after_trade_is_ignored(self) -> None:
        """A late acknowledgement never moves the state backwards."""
        tracked = order()
        tracked.apply(trade("t1", "0.5", "0.5"))
        assert tracked.apply(report(E.NEW, S.OPEN)) == []
        assert tracked.state is S.PARTIALLY_FILLED

    @pytest.mark.parametrize(
        ("exec_type", "status", "final"),
        [(E.CANCELED, S.CANCELLED, S.CANCELLED), (E.EXPIRED, S.EXPIRED, S.EXPIRED)],
    )
    def test_end_when_open_moves_to_terminal(
        self, exec_type: ExecType, status: OrderState, final: OrderState
    ) -> None:
        """OPEN -> CANCELLED / EXPIRED with the venue's reason."""
        tracked = order()
        tracked.apply(report(E.NEW, S.OPEN))
        events = tracked.apply(report(exec_type, status, reason="ioc"))
        assert states(events) == [final]
        assert tracked.reason == "ioc"

    def test_cancel_when_partially_filled_keeps_filled_qty(self) -> None:
        """PARTIALLY_FILLED -> CANCELLED (IOC remainder) with the fills kept."""
        tracked = order()
        tracked.apply(trade("t1", "0.3", "0.3"))
        events = tracked.apply(report(E.CANCELED, S.CANCELLED, "0.3", reason="ioc"))
        assert states(events) == [S.CANCELLED]
        assert tracked.filled_qty == D("0.3")

    def test_reject_when_pending_rejects(self) -> None:
        """PENDING -> REJECTED."""
        tracked = order()
        events = tracked.apply(report(E.REJECTED, S.REJECTED, reason="EOrder:Insufficient funds"))
        assert states(events) == [S.REJECTED]
        assert events[0].reason == "EOrder:Insufficient funds"  # type: ignore[union-attr]

    def test_reject_when_already_open_is_ignored(self) -> None:
        """A rejection of a live order (e.g. a duplicate resubmission) does not end it."""
        tracked = order()
        tracked.apply(report(E.NEW, S.OPEN))
        assert tracked.apply(report(E.REJECTED, S.REJECTED)) == []
        assert tracked.state is S.OPEN

    def test_terminal_when_other_terminal_arrives_is_ignored(self) -> None:
        """Terminal states never change into another terminal state without fills."""
        tracked = order()
        tracked.apply(report(E.CANCELED, S.CANCELLED))
        assert tracked.apply(report(E.EXPIRED, S.EXPIRED)) == []
        assert tracked.state is S.CANCELLED

    def test_expire_locally_when_pending_expires(self) -> None:
        """An order never sent can expire locally."""
        tracked = order()
        assert states(tracked.expire_locally(9.0, "deadline")) == [S.EXPIRED]

    def test_expire_locally_when_open_does_nothing(self) -> None:
        """A live order is the venue's to end."""
        tracked = order()
        tracked.apply(report(E.NEW, S.OPEN))
        assert tracked.expire_locally(9.0, "deadline") == []


class TestIdempotence:
    def test_trade_when_duplicated_is_counted_once(self) -> None:
        """The same exec_id twice adds nothing the second time."""
        tracked = order()
        tracked.apply(trade("t1", "0.5", "0.5"))
        assert tracked.apply(trade("t1", "0.5", "0.5")) == []
        assert tracked.filled_qty == D("0.5")

    def test_status_when_repeated_produces_nothing(self) -> None:
        """Duplicate status reports are silent."""
        tracked = order()
        tracked.apply(report(E.NEW, S.OPEN))
        assert tracked.apply(report(E.STATUS, S.OPEN)) == []

    def test_status_when_it_covers_a_trade_already_counted_adds_nothing(self) -> None:
        """A status read back after a reconnect does not double the fills it overlaps."""
        tracked = order()
        tracked.apply(trade("t1", "1", "1"))
        assert fills(tracked.apply(report(E.STATUS, S.FILLED, "1", cum_cost=D(100)))) == []

    def test_trade_when_status_already_counted_it_adds_nothing(self) -> None:
        """The trade report arriving after a status that counted it is ignored."""
        tracked = order()
        tracked.apply(report(E.STATUS, S.PARTIALLY_FILLED, "0.5", cum_cost=D(50)))
        assert tracked.apply(trade("t1", "0.5", "0.5")) == []
        assert tracked.filled_qty == D("0.5")

    def test_status_when_ahead_infers_missing_fill_from_cumulative_cost(self) -> None:
        """Missed trades become one inferred fill priced from cum_cost, fee from cum_fee."""
        tracked = order()
        events = tracked.apply(
            report(E.STATUS, S.FILLED, "1", cum_cost=D("99.5"), cum_fee=D("0.398"))
        )
        (fill,) = fills(events)
        assert (fill.qty, fill.price, fill.fee, fill.exec_id) == (
            D(1),
            D("99.5"),
            D("0.398"),
            "c1#cum1",
        )
        assert states(events) == [S.FILLED]

    def test_trade_when_earlier_trade_missed_infers_gap(self) -> None:
        """A trade whose cum_qty exceeds what it explains fills the gap first."""
        tracked = order()
        events = tracked.apply(
            trade("t2", "0.4", "1", "101", cum_cost=D("100.4"), cum_fee=D("0.4"), fee="0.16")
        )
        gap, real = fills(events)
        assert (gap.qty, gap.price) == (D("0.6"), D("100"))
        assert (real.qty, real.price, real.exec_id) == (D("0.4"), D("101"), "t2")

    def test_fills_when_totalled_match_cum_qty(self) -> None:
        """Whatever the mix of reports, the fills add up to the venue's cum_qty."""
        tracked = order()
        sequence = [
            trade("t1", "0.2", "0.2"),
            trade("t1", "0.2", "0.2"),
            report(E.STATUS, S.PARTIALLY_FILLED, "0.5", cum_cost=D(50)),
            trade("t2", "0.3", "0.5"),
            trade("t3", "0.5", "1"),
            report(E.FILLED, S.FILLED, "1"),
        ]
        for item in sequence:
            tracked.apply(item)
        assert sum(f.qty for f in tracked.fills) == tracked.filled_qty == D(1)


class TestLateFills:
    def test_fill_when_after_cancel_is_counted_and_flagged(self) -> None:
        """A fill after CANCELLED is real: counted, published, reason late_fill."""
        tracked = order()
        tracked.apply(report(E.CANCELED, S.CANCELLED, reason="user_requested"))
        events = tracked.apply(trade("t9", "0.3", "0.3", status=S.CANCELLED))
        assert [f.qty for f in fills(events)] == [D("0.3")]
        assert states(events) == [S.CANCELLED]
        assert events[-1].reason == "late_fill"  # type: ignore[union-attr]

    def test_fill_when_after_expiry_completes_qty_becomes_filled(self) -> None:
        """A late fill of the whole quantity makes the order FILLED (the truth)."""
        tracked = order()
        tracked.apply(report(E.EXPIRED, S.EXPIRED))
        events = tracked.apply(trade("t9", "1", "1"))
        assert states(events) == [S.FILLED]
