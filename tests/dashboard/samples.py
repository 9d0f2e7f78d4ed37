"""Builders of bus messages for dashboard tests: valid defaults, override what the test is about."""

from __future__ import annotations

from decimal import Decimal

from arbitrade.messages import (
    AuditEvent,
    BookHealth,
    BookStateChanged,
    BookTop,
    ControlChanged,
    FeedStateChanged,
    Fill,
    Leg,
    Opportunity,
    OrderState,
    OrderUpdate,
    PortfolioSnapshot,
    RiskRejected,
    Side,
)
from arbitrade.strategy.stat_arb import PairSnapshot

WALL = 1_760_000_000.0


def opportunity(number: int = 1, *, at: float = 10.0, profit_bps: str = "12.5") -> Opportunity:
    """A three-leg USD cycle detected 1.5 ms after its frame."""
    return Opportunity(
        id=f"opp-{number}",
        strategy="triangular",
        home="USD",
        legs=(
            Leg("BTC/USD", Side.BUY, Decimal("64000"), Decimal("0.003"), "USD", "BTC"),
            Leg("ETH/BTC", Side.BUY, Decimal("0.05"), Decimal("0.06"), "BTC", "ETH"),
            Leg("ETH/USD", Side.SELL, Decimal("3200"), Decimal("0.06"), "ETH", "USD"),
        ),
        start_amount=Decimal("192"),
        end_amount=Decimal("192.24"),
        profit=Decimal("0.24"),
        profit_bps=Decimal(profit_bps),
        book_ages=(0.01, 0.25, 0.02),
        received_at=at,
        detected_at=at + 0.0015,
    )


def book_top(symbol: str = "BTC/USD", *, bid: int = 640_000, ask: int = 640_010) -> BookTop:
    """Two levels a side at price precision 1 and qty precision 8."""
    return BookTop(
        symbol=symbol,
        bids=((bid, 150_000_000), (bid - 10, 50_000_000)),
        asks=((ask, 120_000_000), (ask + 10, 30_000_000)),
        price_precision=1,
        qty_precision=8,
        received_at=9.0,
        sequence=42,
    )


def book_state(
    symbol: str = "BTC/USD", health: BookHealth = BookHealth.LIVE, *, checksum_ok: bool = True
) -> BookStateChanged:
    return BookStateChanged(
        symbol, health, "checksum mismatch" if not checksum_ok else "snapshot", 8.0, checksum_ok
    )


def feed(channel: str = "book", state: str = "subscribed", reason: str = "") -> FeedStateChanged:
    return FeedStateChanged(channel, state, reason, 5.0)


def order(
    cl_ord_id: str = "opp-1-1", state: OrderState = OrderState.OPEN, at: float = 11.0
) -> OrderUpdate:
    return OrderUpdate(
        cl_ord_id=cl_ord_id,
        cycle_id="opp-1",
        symbol="BTC/USD",
        side=Side.BUY,
        order_type="limit",
        limit_price=Decimal("64000"),
        qty=Decimal("0.003"),
        filled_qty=Decimal("0.003") if state is OrderState.FILLED else Decimal(0),
        state=state,
        reason="",
        at=at,
    )


def fill(exec_id: str = "x-1") -> Fill:
    return Fill(
        exec_id,
        "opp-1-1",
        "opp-1",
        "BTC/USD",
        Side.BUY,
        Decimal("64000"),
        Decimal("0.003"),
        Decimal("0.4992"),
        "USD",
        "t",
        11.5,
    )


def rejected(number: int = 1, reason: str = "min_profit") -> RiskRejected:
    return RiskRejected(f"opp-{number}", reason, '{"bps": "1"}', 10.1)


def audit(
    kind: str = "risk.rejected", subject: str = "opp-1", reason: str = "min_profit"
) -> AuditEvent:
    return AuditEvent(kind, "risk", subject, f'{{"reason": "{reason}"}}', 10.1, WALL)


def portfolio(
    usd: str = "1000", btc: str = "0.01", pnl_today: str = "1.5", *, at_wall: float = WALL
) -> PortfolioSnapshot:
    return PortfolioSnapshot(
        balances=(("BTC", Decimal(btc)), ("USD", Decimal(usd))),
        realised_pnl_today=Decimal(pnl_today),
        realised_pnl_total=Decimal("20.25"),
        home="USD",
        at=12.0,
        at_wall=at_wall,
    )


def control(setting: str, value: str, previous: str = "", who: str = "risk") -> ControlChanged:
    return ControlChanged(setting, value, previous, who, 13.0, WALL)


def pair_snapshot(
    z: float | None = 1.25,
    *,
    pair: str = "ETH/USD~BTC/USD",
    at: float = 20.0,
    state: str = "flat",
    direction: str = "",
    holdings: tuple[tuple[str, Decimal], ...] = (("ETH/USD", Decimal(0)), ("BTC/USD", Decimal(0))),
) -> PairSnapshot:
    """A warmed-up stat-arb pair with hedge ratio 1.2 (z None: still warming up)."""
    return PairSnapshot(
        pair=pair,
        ratio=1.2,
        intercept=-5.1,
        spread=0.0031,
        z=z,
        observations=240,
        state=state,
        direction=direction,
        holdings=holdings,
        screen_passed=True,
        at=at,
    )
