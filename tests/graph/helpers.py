"""Small builders shared by the graph tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import attrs

from arbitrade.graph import CycleDetector, PairGraph
from arbitrade.messages import BookTop, Instrument, Opportunity
from tests.graph.oracle import OracleLeg, OracleOpportunity


@attrs.frozen
class SymbolFees:
    """A taker rate per symbol (tests choose fees freely)."""

    rates: Mapping[str, Decimal]

    def rate_for(self, instrument: Instrument, /) -> Decimal:
        return self.rates[instrument.symbol]


def instrument(
    symbol: str,
    price_precision: int,
    qty_precision: int,
    *,
    qty_min: str = "0",
    cost_min: str = "0",
    status: str = "online",
) -> Instrument:
    base, quote = symbol.split("/")
    return Instrument(
        symbol=symbol,
        base=base,
        quote=quote,
        price_precision=price_precision,
        qty_precision=qty_precision,
        price_increment=Decimal(1).scaleb(-price_precision),
        qty_increment=Decimal(1).scaleb(-qty_precision),
        qty_min=Decimal(qty_min),
        cost_min=Decimal(cost_min),
        status=status,
    )


def top(
    spec: Instrument,
    bids: Sequence[tuple[str, str]],
    asks: Sequence[tuple[str, str]],
    received_at: float = 0.0,
) -> BookTop:
    """A book top from decimal strings (price, qty), best first."""

    def units(levels: Sequence[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
        return tuple(
            (
                int(Decimal(price).scaleb(spec.price_precision)),
                int(Decimal(qty).scaleb(spec.qty_precision)),
            )
            for price, qty in levels
        )

    return BookTop(
        symbol=spec.symbol,
        bids=units(bids),
        asks=units(asks),
        price_precision=spec.price_precision,
        qty_precision=spec.qty_precision,
        received_at=received_at,
        sequence=0,
    )


def detector_for(
    instruments: Sequence[Instrument],
    fee_rates: Mapping[str, Decimal],
    homes: Sequence[str],
    *,
    max_length: int = 3,
    min_profit_bps: Decimal = Decimal(0),
    max_book_age: float = float("inf"),
    now: list[float] | None = None,
) -> CycleDetector:
    clock = now if now is not None else [0.0]
    graph = PairGraph(
        instruments,
        fees=SymbolFees(fee_rates),
        home_currencies=homes,
        max_cycle_length=max_length,
    )
    return CycleDetector(
        graph,
        min_profit_bps=min_profit_bps,
        max_book_age=max_book_age,
        clock=lambda: clock[0],
    )


def as_oracle(opportunity: Opportunity) -> OracleOpportunity:
    """The fields the oracle computes, from a detector opportunity."""
    return OracleOpportunity(
        home=opportunity.home,
        legs=tuple(
            OracleLeg(
                symbol=leg.symbol,
                side=str(leg.side),
                price=leg.price,
                qty=leg.qty,
                from_asset=leg.from_asset,
                to_asset=leg.to_asset,
            )
            for leg in opportunity.legs
        ),
        start_amount=opportunity.start_amount,
        end_amount=opportunity.end_amount,
        profit=opportunity.profit,
        profit_bps=opportunity.profit_bps,
    )


def key(found: OracleOpportunity) -> tuple[str, tuple[str, ...]]:
    return found.home, tuple(f"{leg.symbol}:{leg.side}" for leg in found.legs)
