"""The hot path's stages, prepared for timing one call at a time by ``profile_latency.py``.

Each builder does its setup once (recorded frames, a ~1,000-pair Kraken-shaped graph, a risk
gate with rich balances) and returns a :class:`Stage` whose ``run`` does one unit of the
stage's work and nothing else; the profiler times ``run`` and nothing around it. The
calibration loop is a stage like the others, so every stage can be expressed as a multiple of
it measured in the same run. Nothing here touches the network or the disk beyond reading the
recorded BTC/USD frames in ``tests/fixtures/kraken``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from collections.abc import Callable, Collection
from decimal import Decimal
from pathlib import Path

import attrs
import orjson

from arbitrade.execution import ExecutionSettings, ExecutorCore, Submit
from arbitrade.execution.testing import SAMPLE_TRIANGLES, ample_balances, sample_triangle
from arbitrade.graph import CycleDetector, PairGraph, TakerFees
from arbitrade.kraken import AddOrder, Decoder, encode_request
from arbitrade.market import OrderBook
from arbitrade.messages import (
    BookTop,
    CycleFinished,
    Instrument,
    Opportunity,
    PortfolioSnapshot,
)
from arbitrade.risk import RiskGateCore, RiskSettings
from arbitrade.sim import build_universe

D = Decimal
RECORDING = Path(__file__).resolve().parent.parent / (
    "tests/fixtures/kraken/book-btc-usd-v2-recorded.json"
)
TRIANGLES = SAMPLE_TRIANGLES
"""Distinct triangles the risk and tick-to-order stages rotate through, so Kraken's modelled
per-pair rate counter stays below its budget and every opportunity is accepted."""
TAKER_FEE = D("0.0026")


@attrs.frozen
class Stage:
    """One stage of the hot path: ``run`` does one unit of its work (the timed part)."""

    name: str
    description: str
    run: Callable[[], object]


# -- the calibration loop ------------------------------------------------------------------


def calibration_work() -> int:
    """A fixed piece of plain interpreter work (int arithmetic, dict reads and writes).

    Its time measures how fast this machine runs Python right now; the stages are reported
    as multiples of it, so a baseline from one machine can judge another.
    """
    table: dict[int, int] = {}
    total = 0
    for i in range(256):
        key = i & 31
        table[key] = table.get(key, 0) + i
        total += i * i % 7
    return total + len(table)


def calibration() -> Stage:
    return Stage("calibration", "fixed loop: int arithmetic and dict updates", calibration_work)


# -- frame decode and book apply (the recorded BTC/USD stream) -------------------------------


def _recorded_frames() -> tuple[bytes, list[bytes]]:
    recording = json.loads(RECORDING.read_text())
    return orjson.dumps(recording["init"]), [orjson.dumps(u) for u in recording["updates"]]


def frame_decode() -> Stage:
    """``Decoder.decode`` of recorded BTC/USD book frames, in order, round and round."""
    snapshot, updates = _recorded_frames()
    decode = Decoder({"BTC/USD": (1, 8)}).decode
    frames = itertools.cycle([snapshot, *updates])
    return Stage(
        "frame_decode",
        "Decoder.decode: raw WS v2 book frame -> BookMessage (recorded BTC/USD)",
        lambda: decode(next(frames)),
    )


def book_apply() -> Stage:
    """``OrderBook.apply`` with its checksum check, on the decoded recording in order."""
    snapshot, updates = _recorded_frames()
    decoder = Decoder({"BTC/USD": (1, 8)})
    messages = [decoder.decode(frame) for frame in (snapshot, *updates)]
    book = OrderBook("BTC/USD", price_precision=1, qty_precision=8)
    stream = itertools.cycle(messages)

    def apply() -> None:
        outcome = book.apply(next(stream))  # type: ignore[arg-type]
        if outcome is not None:
            raise AssertionError(f"the recorded stream no longer applies cleanly: {outcome}")

    return Stage(
        "book_apply", "OrderBook.apply + CRC32 checksum verified (recorded BTC/USD)", apply
    )


# -- cycle evaluation and sizing on a Kraken-shaped universe --------------------------------


def _instrument(
    symbol: str, price_precision: int, qty_precision: int, status: str = "online"
) -> Instrument:
    base, quote = symbol.split("/")
    return Instrument(
        symbol=symbol,
        base=base,
        quote=quote,
        price_precision=price_precision,
        qty_precision=qty_precision,
        price_increment=D(1).scaleb(-price_precision),
        qty_increment=D(1).scaleb(-qty_precision),
        qty_min=D(0),
        cost_min=D(0),
        status=status,
    )


def _levels(best: int, step: int, lots: int) -> tuple[tuple[int, int], ...]:
    return tuple((best + i * step, lots + 7 * i) for i in range(10))


def book_top(instrument: Instrument, bid: int, ask: int, lots: int) -> BookTop:
    """A depth-10 top: ``bid`` and ``ask`` (ticks) best, one tick apart below and above."""
    return BookTop(
        symbol=instrument.symbol,
        bids=_levels(bid, -1, lots),
        asks=_levels(ask, 1, lots),
        price_precision=instrument.price_precision,
        qty_precision=instrument.qty_precision,
        received_at=0.0,
        sequence=0,
    )


def triangle_instruments(index: int) -> tuple[Instrument, Instrument, Instrument]:
    """``X<i>/USD``, ``Y<i>/X<i>`` and ``Y<i>/USD``: X is worth 100 USD, Y 50 USD."""
    x, y = f"X{index}", f"Y{index}"
    return (
        _instrument(f"{x}/USD", 2, 4),
        _instrument(f"{y}/{x}", 4, 2),
        _instrument(f"{y}/USD", 2, 2),
    )


def triangle_tops(index: int) -> tuple[list[BookTop], BookTop]:
    """Fair tops of triangle ``index`` and a ``Y/USD`` top whose bid is 4% rich.

    With the rich bid exactly one ring passes: USD -> X -> Y -> USD, depth-limited to the
    1 Y bid at 52.00.
    """
    x_usd, y_x, y_usd = triangle_instruments(index)
    fair = [
        book_top(x_usd, 9_999, 10_001, 10_000),
        book_top(y_x, 4_999, 5_001, 1_000),
        book_top(y_usd, 4_999, 5_001, 1_000),
    ]
    rich = attrs.evolve(fair[2], bids=((5_200, 100), *fair[2].bids[:9]))
    return fair, rich


def cycle_stages(extra_assets: int = 200) -> list[Stage]:
    """Two stages of ``CycleDetector.on_book_top`` on the simulator's ~1,000-pair universe.

    Every book starts at a fair price (half a basis point each side of the reference, so no
    cycle pays its fees), plus :data:`TRIANGLES` small triangles over USD.

    * ``cycle_screen``: the best bid of one of the 20 pairs with the most cycles moves a tick
      and back: every cycle through the pair is re-screened, none passes (the usual update).
    * ``cycle_sizing``: a triangle's ``Y/USD`` bid turns 4% rich and back: one ring passes the
      screen, is sized exactly by depth and rounded (one opportunity), then is screened out.
    """
    universe = build_universe(extra_assets=extra_assets)
    market = [
        _instrument(p.symbol, p.price_precision, p.qty_precision, p.status) for p in universe.pairs
    ]
    triangles = [triangle_instruments(i) for i in range(TRIANGLES)]
    graph = PairGraph(
        [*market, *itertools.chain.from_iterable(triangles)],
        fees=TakerFees.flat(TAKER_FEE),
        home_currencies=("USD", "EUR", "USDT", "BTC"),
    )
    detector = CycleDetector(graph, clock=lambda: 0.0)
    fair: dict[str, BookTop] = {}
    moved: dict[str, BookTop] = {}
    for pair, instrument in zip(universe.pairs, market, strict=True):
        if graph.index_of(pair.symbol) is None:
            continue  # not online: not in the graph
        price = pair.base.usd_price / pair.quote.usd_price * 10**instrument.price_precision
        bid = max(2, math.floor(price * (1 - 0.00005)))
        ask = max(bid + 1, math.ceil(price * (1 + 0.00005)))
        lots = max(1, int(20_000 / pair.base.usd_price * 10**instrument.qty_precision))
        fair[pair.symbol] = book_top(instrument, bid, ask, lots)
        moved[pair.symbol] = book_top(instrument, bid - 1, ask, lots)
    rich: list[BookTop] = []
    for index in range(TRIANGLES):
        tops, rich_top = triangle_tops(index)
        for top in tops:
            fair[top.symbol] = top
        rich.append(rich_top)
    for top in fair.values():
        detector.on_book_top(top)
    busiest = sorted(fair, key=lambda symbol: -len(graph.cycles_through(symbol)))[:20]
    screen_updates = itertools.cycle([t[s] for s in busiest for t in (moved, fair)])
    sizing_updates = itertools.cycle([t for r in rich for t in (r, fair[r.symbol])])
    on_book_top = detector.on_book_top
    through = sum(len(graph.cycles_through(s)) for s in busiest) // len(busiest)

    def size_one() -> None:
        found = on_book_top(next(sizing_updates))
        restored = on_book_top(next(sizing_updates))
        if len(found) != 1 or restored:
            raise AssertionError(f"expected one opportunity, got {len(found)} then {len(restored)}")

    return [
        Stage(
            "cycle_screen",
            f"CycleDetector.on_book_top: best bid moves on a busy pair ({len(graph.pairs)} "
            f"pairs, ~{through} cycles through it), all re-screened, none passes",
            lambda: on_book_top(next(screen_updates)),
        ),
        Stage(
            "cycle_sizing",
            "CycleDetector.on_book_top twice: a rich bid (one cycle screened in, sized by "
            "depth, rounded -> Opportunity) and its restore",
            size_one,
        ),
    ]


# -- risk check and order formatting -------------------------------------------------------


RISK = RiskSettings(
    max_open_cycles=10_000,
    max_open_orders=100_000,
    max_cycle_notional=D(10_000),
    max_leg_notional=D(10_000),
    max_book_age_seconds=3600.0,
    daily_loss_limit=D(10) ** 9,
)
"""Limits wide enough that every profiled opportunity is accepted (the accepted path is
the one that leads to an order, and the longer one)."""


def triangle(index: int, serial: int, now: float) -> Opportunity:
    """A profitable three-leg cycle over triangle ``index`` (the shared sample)."""
    return sample_triangle(index, serial, now, prefix="profile")


rich_balances = ample_balances


def risk_check() -> Stage:
    """``RiskGateCore.decide`` on a fresh triangle each call (every check runs; accepted).

    The cycle is then finished (untimed work of the same call, outside the decision) so the
    open-cycle count stays flat.
    """
    gate = RiskGateCore(RISK)
    gate.on_portfolio(PortfolioSnapshot(tuple(rich_balances().items()), D(0), D(0), "USD", 0, 0))
    serial = itertools.count()
    pending: list[Opportunity] = []

    def decide() -> None:
        n = next(serial)
        if pending:  # finish the previous cycle first: bookkeeping, not the decision
            done = pending.pop()
            gate.on_cycle_finished(
                CycleFinished(done.id, "completed", "USD", D(0), D(0), 0.0),
                now=float(n),
                wall=1.79e9,
            )
        opportunity = triangle(n, n, float(n))
        decision = gate.decide(opportunity, now=float(n), wall=1.79e9)
        if not decision.accepted:
            raise AssertionError(f"risk gate refused a profiled cycle: {decision.verdict}")
        pending.append(opportunity)

    return Stage(
        "risk_check",
        "RiskGateCore.decide: every check on a 3-leg triangle, accepted, with its audit row",
        decide,
    )


def _rfc3339(wall: float) -> str:
    return dt.datetime.fromtimestamp(wall, dt.UTC).isoformat(timespec="milliseconds")


def order_formatting() -> Stage:
    """The executor's orders for an accepted cycle, down to the bytes a venue sends.

    ``ExecutorCore.start_cycle`` makes three IOC limit orders; each becomes Kraken's
    ``add_order`` params (``AddOrder.to_params``) and a request frame (``encode_request``),
    as ``KrakenWsClient.add_order`` sends it.
    """
    executor = ExecutorCore(ExecutionSettings(), to_wall=lambda t: 1.79e9 + t)
    serial = itertools.count()

    def format_orders() -> list[bytes]:
        n = next(serial)
        effects = executor.start_cycle(triangle(n, n, float(n)), now=float(n))
        frames = []
        for command in effects.commands:
            if isinstance(command, Submit):
                order = command.order
                params = AddOrder(
                    side=str(order.side),
                    order_qty=order.qty,
                    symbol=order.symbol,
                    limit_price=order.limit_price,
                    time_in_force=order.time_in_force,
                    cl_ord_id=order.cl_ord_id,
                    deadline=_rfc3339(1.79e9 + order.deadline),
                ).to_params()
                frames.append(encode_request("add_order", params, n))
        if len(frames) != 3:
            raise AssertionError(f"expected 3 orders for a triangle, got {len(frames)}")
        return frames

    return Stage(
        "order_formatting",
        "ExecutorCore.start_cycle -> 3 OrderRequests -> AddOrder params -> add_order frames",
        format_orders,
    )


_BUILDERS: tuple[tuple[tuple[str, ...], Callable[[], list[Stage]]], ...] = (
    (("frame_decode",), lambda: [frame_decode()]),
    (("book_apply",), lambda: [book_apply()]),
    (("cycle_screen", "cycle_sizing"), cycle_stages),
    (("risk_check",), lambda: [risk_check()]),
    (("order_formatting",), lambda: [order_formatting()]),
)
STAGE_NAMES: tuple[str, ...] = tuple(name for names, _ in _BUILDERS for name in names)
"""The stages timed as plain calls, in hot-path order (calibration apart)."""


def sync_stages(wanted: Collection[str] | None = None) -> list[Stage]:
    """Build the stages timed as plain calls (those in ``wanted``; all when None)."""
    stages: list[Stage] = []
    for names, build in _BUILDERS:
        if wanted is None or any(name in wanted for name in names):
            stages.extend(s for s in build() if wanted is None or s.name in wanted)
    return stages
