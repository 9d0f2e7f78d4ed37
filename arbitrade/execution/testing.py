"""The venue conformance suite: ``await check_venue(make_venue)`` for every venue.

Modelled on ``trio.testing.check_two_way_stream``: ``make_venue`` is an async context
manager factory yielding a fresh, running :class:`VenueFixture` (the venue plus prices at
which a buy of ``qty`` on ``symbol`` does and does not trade). Each check gets its own venue.
A failed rule raises ``AssertionError`` naming the rule. The suite assumes the venue answers
within ``timeout`` seconds of Trio time (use a MockClock for in-process venues).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal

import attrs
import trio

from arbitrade.execution._venue import (
    DEADLINE_REASON,
    DUPLICATE_REASON,
    ExecType,
    ExecutionReport,
    OrderRequest,
    Venue,
    VenueConnection,
)
from arbitrade.messages import Leg, Opportunity, OrderState, Side

__all__ = ["VenueFixture", "check_venue"]


@attrs.frozen
class VenueFixture:
    """A running venue and a market it can trade in."""

    venue: Venue
    symbol: str
    qty: Decimal
    crossing_buy_price: Decimal
    """A limit at which a buy of ``qty`` fills completely now."""
    resting_buy_price: Decimal
    """A limit at which a buy of ``qty`` finds nothing to trade with now."""
    timeout: float = 5.0
    """Trio seconds to wait for an order to end."""


type MakeVenue = Callable[[], AbstractAsyncContextManager[VenueFixture]]

_ids = itertools.count(1)


def _order(fixture: VenueFixture, price: Decimal, *, deadline_in: float = 5.0) -> OrderRequest:
    return OrderRequest(
        cl_ord_id=f"conformance-{next(_ids):06d}",
        symbol=fixture.symbol,
        side=Side.BUY,
        qty=fixture.qty,
        limit_price=price,
        deadline=trio.current_time() + deadline_in,
    )


async def _until_terminal(
    fixture: VenueFixture, cl_ord_id: str, seen: list[ExecutionReport]
) -> ExecutionReport:
    with trio.fail_after(fixture.timeout):
        async for event in _events(fixture):
            seen.append(event)
            if event.cl_ord_id == cl_ord_id and event.order_status.terminal:
                return event
    raise AssertionError("the venue's event stream ended")


async def _events(fixture: VenueFixture) -> AsyncIterator[ExecutionReport]:
    async for event in fixture.venue.events:
        if isinstance(event, VenueConnection):
            continue
        yield event


async def _drain(fixture: VenueFixture, seen: list[ExecutionReport], for_: float = 0.5) -> None:
    with trio.move_on_after(for_):
        async for event in _events(fixture):
            seen.append(event)


def _check_stream_rules(reports: list[ExecutionReport], ours: set[str]) -> None:
    assert {r.cl_ord_id for r in reports} <= ours, "reports only about orders we sent"
    exec_ids = [r.exec_id for r in reports if r.exec_type is ExecType.TRADE]
    assert len(exec_ids) == len(set(exec_ids)), "every trade has a unique exec_id"
    for cl_ord_id in ours:
        cums = [r.cum_qty for r in reports if r.cl_ord_id == cl_ord_id]
        assert cums == sorted(cums), f"cum_qty never decreases ({cl_ord_id})"
        traded = sum(
            (
                r.last_qty
                for r in reports
                if r.cl_ord_id == cl_ord_id and r.exec_type is ExecType.TRADE
            ),
            Decimal(0),
        )
        if cums:
            assert traded == max(cums), f"trades add up to cum_qty ({cl_ord_id})"
    assert all(r.fee >= 0 for r in reports), "fees are never negative"


async def check_crossing_ioc_fills(make_venue: MakeVenue) -> None:
    """A buy IOC at a crossing price fills completely; its trades add up to cum_qty."""
    async with make_venue() as fixture:
        order = _order(fixture, fixture.crossing_buy_price)
        await fixture.venue.submit(order)
        seen: list[ExecutionReport] = []
        await _until_terminal(fixture, order.cl_ord_id, seen)
        await _drain(fixture, seen, 0.2)
        final = [r for r in seen if r.order_status.terminal][-1]
        assert final.order_status is OrderState.FILLED, f"filled, got {final.order_status}"
        assert max(r.cum_qty for r in seen) == order.qty, "the whole quantity traded"
        assert all(
            r.last_price <= order.limit_price for r in seen if r.exec_type is ExecType.TRADE
        ), "no trade beyond the limit price"
        _check_stream_rules(seen, {order.cl_ord_id})


async def check_resting_ioc_ends_without_trading(make_venue: MakeVenue) -> None:
    """A buy IOC below the market trades nothing and ends (cancelled or expired) at once."""
    async with make_venue() as fixture:
        order = _order(fixture, fixture.resting_buy_price)
        await fixture.venue.submit(order)
        seen: list[ExecutionReport] = []
        final = await _until_terminal(fixture, order.cl_ord_id, seen)
        assert final.order_status in (OrderState.CANCELLED, OrderState.EXPIRED), (
            f"an IOC that cannot trade ends cancelled or expired, got {final.order_status}"
        )
        assert final.cum_qty == 0, "nothing traded"
        _check_stream_rules(seen, {order.cl_ord_id})


async def check_duplicate_submit_never_doubles(make_venue: MakeVenue) -> None:
    """Submitting the same cl_ord_id twice never trades more than one order's quantity."""
    async with make_venue() as fixture:
        order = _order(fixture, fixture.crossing_buy_price)
        await fixture.venue.submit(order)
        await fixture.venue.submit(order)
        seen: list[ExecutionReport] = []
        await _drain(fixture, seen, min(fixture.timeout, 1.0))
        traded = sum((r.last_qty for r in seen if r.exec_type is ExecType.TRADE), Decimal(0))
        assert traded <= order.qty, f"one order's quantity at most, got {traded}"
        venue_ids = {r.venue_order_id for r in seen if r.exec_type is ExecType.TRADE}
        assert len(venue_ids) <= 1, "trades of one order only"
        duplicates = [r for r in seen if r.reason == DUPLICATE_REASON]
        assert all(r.exec_type is ExecType.REJECTED for r in duplicates), "duplicates are rejected"


async def check_deadline_passed_is_rejected(make_venue: MakeVenue) -> None:
    """An order already past its deadline is rejected and never trades."""
    async with make_venue() as fixture:
        order = attrs.evolve(
            _order(fixture, fixture.crossing_buy_price), deadline=trio.current_time() - 1.0
        )
        await fixture.venue.submit(order)
        seen: list[ExecutionReport] = []
        final = await _until_terminal(fixture, order.cl_ord_id, seen)
        assert final.order_status is OrderState.REJECTED, f"rejected, got {final.order_status}"
        assert final.reason == DEADLINE_REASON, f"reason {DEADLINE_REASON!r}, got {final.reason!r}"
        assert all(r.exec_type is not ExecType.TRADE for r in seen), "no trade"


async def check_query_reports_state(make_venue: MakeVenue) -> None:
    """query: None for an unknown id; a STATUS report with the totals after a fill."""
    async with make_venue() as fixture:
        assert await fixture.venue.query("conformance-unknown") is None, "unknown id is None"
        order = _order(fixture, fixture.crossing_buy_price)
        await fixture.venue.submit(order)
        await _until_terminal(fixture, order.cl_ord_id, [])
        status = await fixture.venue.query(order.cl_ord_id)
        assert status is not None, "a submitted order is known"
        assert status.exec_type is ExecType.STATUS, "query answers with a STATUS report"
        assert status.order_status is OrderState.FILLED, f"filled, got {status.order_status}"
        assert status.cum_qty == order.qty, "with its cumulative quantity"
        assert status.cum_cost > 0, "and its cumulative cost"


async def check_cancel_of_unknown_is_harmless(make_venue: MakeVenue) -> None:
    """Cancelling an id the venue never saw raises nothing and reports nothing."""
    async with make_venue() as fixture:
        await fixture.venue.cancel("conformance-never-sent")
        seen: list[ExecutionReport] = []
        await _drain(fixture, seen, 0.2)
        assert seen == [], "no report for an unknown order"


CHECKS: tuple[Callable[[MakeVenue], Awaitable[None]], ...] = (
    check_crossing_ioc_fills,
    check_resting_ioc_ends_without_trading,
    check_duplicate_submit_never_doubles,
    check_deadline_passed_is_rejected,
    check_query_reports_state,
    check_cancel_of_unknown_is_harmless,
)


async def check_venue(make_venue: MakeVenue) -> None:
    """Run every conformance check against fresh venues from ``make_venue``.

    Raises:
        AssertionError: the first rule a venue breaks, named in the message.
    """
    for check in CHECKS:
        try:
            await check(make_venue)
        except AssertionError as error:
            raise AssertionError(f"{check.__name__}: {error}") from error


SAMPLE_TRIANGLES = 200
"""How many distinct triangles :func:`sample_triangle` rotates through (so Kraken's modelled
per-pair rate counter stays below its budget when many are sent)."""


def sample_triangle(index: int, serial: int, now: float, *, prefix: str = "sample") -> Opportunity:
    """A profitable three-leg cycle USD -> X -> Y -> USD over triangle ``index`` (benchmarks
    and latency profiles: 100 USD in, 104 USD out, legs on synthetic pairs ``X<i>``/``Y<i>``)."""
    x, y = f"X{index % SAMPLE_TRIANGLES}", f"Y{index % SAMPLE_TRIANGLES}"
    legs = (
        Leg(f"{x}/USD", Side.BUY, Decimal(100), Decimal(1), "USD", x),
        Leg(f"{y}/{x}", Side.BUY, Decimal("0.5"), Decimal(2), x, y),
        Leg(f"{y}/USD", Side.SELL, Decimal(52), Decimal(2), y, "USD"),
    )
    return Opportunity(
        id=f"{prefix}-{serial}",
        strategy="triangular",
        home="USD",
        legs=legs,
        start_amount=Decimal(100),
        end_amount=Decimal(104),
        profit=Decimal(4),
        profit_bps=Decimal(400),
        book_ages=(0.0, 0.0, 0.0),
        received_at=now,
        detected_at=now,
    )


def ample_balances() -> dict[str, Decimal]:
    """Balances no :func:`sample_triangle` cycle can exhaust."""
    balances = {"USD": Decimal(10) ** 12}
    for i in range(SAMPLE_TRIANGLES):
        balances[f"X{i}"] = Decimal(10) ** 9
        balances[f"Y{i}"] = Decimal(10) ** 9
    return balances
