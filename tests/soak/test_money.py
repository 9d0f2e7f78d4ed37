"""The PnL the portfolio must have booked: stat-arb positions at average cost from fills."""

from __future__ import annotations

from decimal import Decimal

from arbitrade.messages import Fill, Side
from arbitrade.soak._database import position_pnl


def fill(exec_id: str, cycle: str, side: Side, price: str, qty: str, fee: str = "0") -> Fill:
    return Fill(
        exec_id=exec_id,
        cl_ord_id=f"cl-{exec_id}",
        cycle_id=cycle,
        symbol="ETH/USD",
        side=side,
        price=Decimal(price),
        qty=Decimal(qty),
        fee=Decimal(fee),
        fee_asset="USD",
        liquidity="t",
        at=0.0,
    )


class TestPositionPnl:
    def test_entry_and_close_when_both_finished_realise_spread_less_fees(self) -> None:
        """Buy 1 at 100, sell 1 at 110, fees 1 + 1: the two cycles realise 8 in all."""
        fills = [
            fill("e1", "sa-1-1", Side.BUY, "100", "1", "1"),
            fill("e2", "sa-1-2", Side.SELL, "110", "1", "1"),
        ]
        finished = {"sa-1-1": Decimal("-1"), "sa-1-2": Decimal("-1"), "tri-1": Decimal(5)}
        total, cycles = position_pnl(fills, finished, "USD")
        assert (total, cycles) == (Decimal(8), 2)

    def test_fills_when_cycle_unfinished_are_not_realised(self) -> None:
        """A close still in flight books nothing yet (the portfolio holds it pending)."""
        fills = [
            fill("e1", "sa-1-1", Side.BUY, "100", "1"),
            fill("e2", "sa-1-2", Side.SELL, "110", "1"),
        ]
        total, cycles = position_pnl(fills, {"sa-1-1": Decimal(0)}, "USD")
        assert (total, cycles) == (Decimal(0), 1)

    def test_fill_when_repeated_exec_id_counts_once(self) -> None:
        """A fill stored twice under one exec id moves the ledger once, as in the portfolio."""
        buy = fill("e1", "sa-1-1", Side.BUY, "100", "1")
        sell = fill("e2", "sa-1-2", Side.SELL, "110", "1")
        finished = {"sa-1-1": Decimal(0), "sa-1-2": Decimal(0)}
        total, _ = position_pnl([buy, buy, sell], finished, "USD")
        assert total == Decimal(10)
