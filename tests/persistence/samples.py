"""One sample of every persisted message type, with awkward but representable amounts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from actors import ChildCrashed, ChildRestarted, ChildStarted, ChildStopped, SupervisorEscalated
from arbitrade.messages import (
    AuditEvent,
    CycleFinished,
    Fill,
    Leg,
    Opportunity,
    OrderState,
    OrderUpdate,
    PortfolioSnapshot,
    RiskAccepted,
    RiskRejected,
    Side,
)
from arbitrade.persistence import RecordedFrame
from arbitrade.strategy.stat_arb import ClosePosition

OPPORTUNITY = Opportunity(
    id="opp-1",
    strategy="triangular",
    home="USD",
    legs=(
        Leg("BTC/USD", Side.BUY, Decimal("64123.1"), Decimal("0.00012345"), "USD", "BTC"),
        Leg("ETH/BTC", Side.BUY, Decimal("0.052341"), Decimal("0.0023"), "BTC", "ETH"),
        Leg("ETH/USD", Side.SELL, Decimal("3356.12"), Decimal("0.0023"), "ETH", "USD"),
    ),
    start_amount=Decimal("7.915996"),
    end_amount=Decimal("7.917311234567891234"),
    profit=Decimal("0.001315234567891234"),
    profit_bps=Decimal("1.6614"),
    book_ages=(0.001, 0.25, 1e-9),
    received_at=1234.000001,
    detected_at=1234.000042,
)

CLOSE = ClosePosition(
    opportunity=Opportunity(
        id="stat-7",
        strategy="stat_arb",
        home="USD",
        legs=(Leg("ETH/USD", Side.SELL, Decimal("3356.12"), Decimal("0.25"), "ETH", "USD"),),
        start_amount=Decimal("0.25"),
        end_amount=Decimal("839.03"),
        profit=Decimal("0"),
        profit_bps=Decimal("0"),
        book_ages=(0.01,),
        received_at=1240.5,
        detected_at=1240.5,
    ),
    pair="ETH/USD~BTC/USD",
    position_id="stat-3",
    reason="exit",
)


def samples() -> list[Any]:
    """Every persisted type once (RiskAccepted after its opportunity, as on the bus)."""
    return [
        OPPORTUNITY,
        CLOSE,
        RiskAccepted(opportunity=OPPORTUNITY, at=1234.5),
        RiskRejected("opp-2", "min_profit", '{"bps": "0.4"}', 1235.0),
        OrderUpdate(
            cl_ord_id="c-1",
            cycle_id="opp-1",
            symbol="BTC/USD",
            side=Side.BUY,
            order_type="limit",
            limit_price=Decimal("64123.1"),
            qty=Decimal("0.00012345"),
            filled_qty=Decimal("0"),
            state=OrderState.PARTIALLY_FILLED,
            reason="",
            at=1234.6,
            venue_order_id="OABC-123",
        ),
        Fill(
            exec_id="x-1",
            cl_ord_id="c-1",
            cycle_id="opp-1",
            symbol="BTC/USD",
            side=Side.BUY,
            price=Decimal("64123.1"),
            qty=Decimal("0.00012345"),
            fee=Decimal("0.000000000000000001"),
            fee_asset="USD",
            liquidity="t",
            at=1234.7,
        ),
        CycleFinished(
            "opp-1",
            "completed",
            "USD",
            Decimal("-12345678901234567890.123456789012345678"),
            Decimal("0"),
            1240.0,
        ),
        PortfolioSnapshot(
            balances=(("USD", Decimal("10000.5")), ("BTC", Decimal("0.1")), ("ETH", Decimal("0"))),
            realised_pnl_today=Decimal("-0.25"),
            realised_pnl_total=Decimal("99999999999999999999.999999999999999999"),
            home="USD",
            at=1241.0,
            at_wall=1_790_000_000.123456,
        ),
        AuditEvent(
            "risk.rejected",
            "root/risk",
            "opp-2",
            '{"reason": "min_profit"}',
            1235.0,
            1_790_000_000.5,
        ),
        ChildStarted(path="root/feeds", name="feeds", at=1.0, kind="supervisor"),
        ChildCrashed(
            path="root/feeds/book",
            name="book",
            at=2.0,
            error_type="KeyError",
            error_message="'x'",
            restart_count=1,
            phase="run",
        ),
        ChildRestarted(path="root/feeds/book", name="book", at=2.5, restart_count=2, backoff=0.1),
        ChildStopped(
            path="root/feeds/book",
            name="book",
            at=3.0,
            reason="shutdown",
            forced=True,
            abandoned_thread=False,
        ),
        SupervisorEscalated(
            path="root/feeds",
            name="feeds",
            at=4.0,
            max_restarts=3,
            within=5.0,
            error_type="E",
            error_message="m",
        ),
        RecordedFrame(
            1_790_000_000_123_456_789,
            987_654_321_000,
            "ws-1",
            "book",
            '{"channel":"book","data":[]}',
        ),
    ]
