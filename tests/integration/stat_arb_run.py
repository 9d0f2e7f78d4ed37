"""Stat-arb only, on the app's tree and a virtual clock: what a trader would see after a run.

:func:`run_stat_arb_virtual` runs the same tree as ``arbitrade run`` in sim mode (simulator
in-process, frames through memory channels as in :mod:`tests.integration.virtual`), with the
strategy mode set to stat-arb only, the book feed held to the three pairs the default
stat-arb pair needs, and the stat-arb inputs forwarded as ``run_app`` forwards them. The
DuckDB file it leaves is summarised by :func:`summarise` (round trips, fees, PnL), with plain
SQL and Decimal arithmetic, independent of the executor and the portfolio.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Final

import attrs
import duckdb
import trio
import trio.testing

from actors import SupervisorSpec, run_system
from arbitrade.app import ROOT, make_venue
from arbitrade.components import Components, load_components
from arbitrade.config import Mode, Settings
from arbitrade.execution import run_trading_io
from arbitrade.sim import MarketSettings, SimConfig, Simulator
from arbitrade.strategy.stat_arb import StatArbSettings, forward_inputs
from tests.integration.virtual import virtual_tree

SYMBOLS: Final = ("BTC/USD", "ETH/USD", "ETH/BTC")
START_WALL: Final = 1_717_754_400.0  # 2024-06-07T10:00:00Z


def stat_arb_components(stat_arb: StatArbSettings | None = None) -> Components:
    """The repository's settings with triangular trading off and the feeds on :data:`SYMBOLS`."""
    loaded = load_components()
    return attrs.evolve(
        loaded,
        market=attrs.evolve(loaded.market, symbols=SYMBOLS),
        risk=attrs.evolve(loaded.risk, disabled_strategies="triangular"),
        stat_arb=stat_arb if stat_arb is not None else loaded.stat_arb,
        # a real-time work budget would make the sink's slices (and so the schedule) vary
        sink=attrs.evolve(loaded.sink, pump_budget=3600.0),
    )


def stat_arb_sim_config(seed: int, market: MarketSettings | None = None) -> SimConfig:
    """The simulator's default market (its default mean-reverting pair) on :data:`SYMBOLS`,
    without the triangular mispricings."""
    market = market if market is not None else MarketSettings()
    market = attrs.evolve(market, mispricing_rate=0.0, start_time=START_WALL)
    return SimConfig(seed=seed, symbols=SYMBOLS, market=market)


def _swap(tree: SupervisorSpec, name: str, replacement: SupervisorSpec) -> SupervisorSpec:
    children = [replacement if child.name == name else child for child in tree.children]
    return attrs.evolve(tree, children=children)


async def _tick(simulator: Simulator) -> None:
    while True:
        await trio.sleep(simulator.model.settings.tick_seconds)
        simulator.step()


async def _run(database: Path, seconds: float, components: Components, sim: SimConfig) -> None:
    simulator = Simulator(sim, clock=lambda: START_WALL + trio.current_time())
    settings = Settings(mode=Mode.SIM, duckdb_path=database, app_port=0, sim_seed=sim.seed)
    venue = make_venue(settings, components)
    tree = virtual_tree(settings, components, venue, simulator, database)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_tick, simulator)
        await nursery.start(venue.run)
        system: Any = await nursery.start(partial(run_system, tree, seed=sim.seed))
        lookup = system.registry.lookup
        await nursery.start(
            run_trading_io, system.bus, lookup, venue, components.execution, f"{ROOT}/trading"
        )
        await nursery.start(
            forward_inputs, system.bus, lookup(f"{ROOT}/strategy/stat_arb"), components.stat_arb
        )
        await trio.sleep(seconds)
        nursery.cancel_scope.cancel()


def run_stat_arb_virtual(
    database: Path,
    seconds: float,
    *,
    components: Components | None = None,
    sim: SimConfig | None = None,
) -> None:
    """Run the tree, stat-arb only, for ``seconds`` of virtual time; the file is closed."""
    components = components if components is not None else stat_arb_components()
    sim = sim if sim is not None else stat_arb_sim_config(seed=7)
    trio.run(
        _run, database, seconds, components, sim, clock=trio.testing.MockClock(autojump_threshold=0)
    )


@attrs.frozen
class StatArbSummary:
    """A stat-arb run in numbers (home currency USD)."""

    opportunities: int
    """Stat-arb intents that reached the bus (entries and closes)."""
    accepted: int
    """Of those, let through by the risk gate."""
    cycles: int
    """Cycles the executor finished (an entry or a close each)."""
    fills: int
    fees: Decimal
    """Fees paid, valued in USD at each fill's price."""
    gross: Decimal
    """Cash flow of the fills before fees plus what is still held, marked at the last fill
    price of each pair: the trading result of the spread."""
    net: Decimal
    """``gross - fees``."""
    portfolio_realised: Decimal | None
    """The last portfolio snapshot's realised PnL total, if one was stored."""

    def row(self) -> str:
        """One line for a table."""
        return (
            f"{self.opportunities:>5} {self.accepted:>5} {self.cycles:>6} {self.fills:>5}"
            f" {self.fees:>10.4f} {self.gross:>10.4f} {self.net:>10.4f}"
        )


def summarise(database: Path) -> StatArbSummary:
    """Read a finished run's file: stat-arb intents, fills, fees and PnL (see the fields)."""
    with duckdb.connect(str(database), read_only=True) as connection:
        opportunities = connection.execute(
            "SELECT count(*) FROM opportunities WHERE strategy = 'stat_arb'"
        ).fetchone()
        accepted = connection.execute(
            "SELECT count(*) FROM risk_decisions WHERE accepted"
        ).fetchone()
        cycles = connection.execute("SELECT count(*) FROM cycles").fetchone()
        fills = connection.execute(
            "SELECT symbol, side, CAST(price AS VARCHAR), CAST(qty AS VARCHAR),"
            " CAST(fee AS VARCHAR), fee_asset FROM fills ORDER BY at_monotonic"
        ).fetchall()
        snapshot = connection.execute(
            "SELECT CAST(realised_pnl_total AS VARCHAR) FROM portfolio_snapshots"
            " ORDER BY at_monotonic DESC LIMIT 1"
        ).fetchone()
    held: dict[str, Decimal] = defaultdict(Decimal)
    last: dict[str, Decimal] = {}
    cash = Decimal(0)
    fees = Decimal(0)
    for symbol, side, price_text, qty_text, fee_text, fee_asset in fills:
        base, quote = symbol.split("/")
        assert quote == "USD", f"stat-arb fills are on USD pairs here, got {symbol}"
        price, qty, fee = Decimal(price_text), Decimal(qty_text), Decimal(fee_text)
        sign = 1 if side == "buy" else -1
        held[base] += sign * qty
        cash -= sign * qty * price
        last[base] = price
        fees += fee if fee_asset == quote else fee * price
    gross = cash + sum((qty * last[asset] for asset, qty in held.items()), Decimal(0))
    return StatArbSummary(
        opportunities=int(opportunities[0]) if opportunities else 0,
        accepted=int(accepted[0]) if accepted else 0,
        cycles=int(cycles[0]) if cycles else 0,
        fills=len(fills),
        fees=fees,
        gross=gross,
        net=gross - fees,
        portfolio_realised=Decimal(snapshot[0]) if snapshot else None,
    )
