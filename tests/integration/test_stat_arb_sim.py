"""Stat-arb trading in sim mode: `run_app` enters and exits a position on a mean-reverting pair.

The whole bot runs as ``arbitrade run`` wires it (real clock, loopback simulator over
WebSocket v2, paper venue), with the strategy mode set to stat-arb only. The simulator's
ETH/USD follows BTC/USD with an Ornstein-Uhlenbeck spread made fast and wide (a 2-second
half-life, 3 % swings) and the strategy samples every 0.1 s with 30-observation windows, so
an entry and its exit come within seconds instead of minutes. The test waits for a close
cycle to complete, asks the portfolio for its books, stops the bot, and reads the DuckDB file:
the entry and the close went through the risk gate, the executor and the paper venue as
stat-arb cycles, the round trip left the position flat, and the realised PnL the portfolio
reports is the round trip's cash flow net of fees, recomputed here from the fills.
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import attrs
import duckdb
import pytest
import trio

from actors import Lossless, System
from arbitrade.app import ROOT, run_app
from arbitrade.config import Mode, Settings
from arbitrade.execution.portfolio import GetPortfolio
from arbitrade.messages import (
    TOPIC_CONTROL,
    TOPIC_CYCLES,
    TOPIC_OPPORTUNITIES,
    ControlChanged,
    CycleFinished,
    PortfolioSnapshot,
)
from arbitrade.sim import MarketSettings, MeanRevertingPair, SimConfig, serve_simulator
from arbitrade.strategy.stat_arb import ClosePosition, structure_stat_arb_settings
from tests.integration.stat_arb_run import SYMBOLS, stat_arb_components

SEED = 11
RUN_LIMIT_SECONDS = 60.0
SETTLE_SECONDS = 1.0
FAST_PAIR = MeanRevertingPair("ETH/USD", "BTC/USD", beta=1.2, half_life_ticks=20.0, sigma=0.03)
FAST_STRATEGY = {
    "pairs": [{"y": "ETH/USD", "x": "BTC/USD"}],
    "window": 30,
    "zscore_window": 30,
    "sample_interval_seconds": 0.1,
    "entry_z": 1.5,
    "exit_z": 0.3,
    "stop_z": 8.0,
    "max_holding_seconds": 20.0,
    "cooldown_seconds": 1.0,
    "reject_backoff_seconds": 0.5,
    "capital": "200",
    "limit_slippage_bps": "100",  # the spread jumps ~0.8 % a tick: IOC legs must still fill
}


@attrs.frozen
class RoundTrip:
    """What the run left behind."""

    database: Path
    entry_id: str
    close_id: str
    cycles: dict[str, CycleFinished]
    portfolio: PortfolioSnapshot


async def _trade_one_round_trip(database: Path) -> RoundTrip:
    components = stat_arb_components(structure_stat_arb_settings(FAST_STRATEGY))
    market = MarketSettings(mispricing_rate=0.0, mean_reverting=(FAST_PAIR,))
    sim = SimConfig(seed=SEED, symbols=SYMBOLS, market=market)
    settings = Settings(mode=Mode.SIM, duckdb_path=database, app_port=0, sim_seed=SEED)
    cycles: dict[str, CycleFinished] = {}
    closes: dict[str, str] = {}  # close id -> the position (entry) id it closes
    async with trio.open_nursery() as outer:
        running: Any = await outer.start(serve_simulator, sim)
        with trio.fail_after(RUN_LIMIT_SECONDS):
            async with trio.open_nursery() as bot:
                system: System = await bot.start(
                    partial(run_app, settings, components, simulator=running)
                )
                intents = system.bus.subscribe(TOPIC_OPPORTUNITIES, Lossless(10_000))
                finished = system.bus.subscribe(TOPIC_CYCLES, Lossless(10_000))
                with intents, finished:
                    done = trio.Event()
                    result: list[str] = []

                    async def watch_intents() -> None:
                        async for intent in intents:
                            if isinstance(intent, ClosePosition):
                                closes[intent.opportunity.id] = intent.position_id

                    async def watch_cycles() -> None:
                        async for cycle in finished:
                            cycles[cycle.cycle_id] = cycle
                            if cycle.cycle_id in closes and cycle.outcome == "completed":
                                result.append(cycle.cycle_id)
                                done.set()
                                return

                    async with trio.open_nursery() as watchers:
                        watchers.start_soon(watch_intents)
                        watchers.start_soon(watch_cycles)
                        await done.wait()
                        watchers.cancel_scope.cancel()
                # halt as an operator would: nothing new trades while the books settle
                now = trio.current_time()
                halt = ControlChanged("kill_switch", "on", "off", "integration-test", now, 0.0)
                await system.bus.publish(TOPIC_CONTROL, halt)
                await trio.sleep(SETTLE_SECONDS)
                portfolio = system.registry.lookup(f"{ROOT}/trading/portfolio")
                snapshot: PortfolioSnapshot = await portfolio.ask(GetPortfolio())
                bot.cancel_scope.cancel()
        outer.cancel_scope.cancel()
    close_id = result[0]
    return RoundTrip(database, closes[close_id], close_id, cycles, snapshot)


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory) -> RoundTrip:
    """One run shared by the checks below."""
    database = tmp_path_factory.mktemp("stat_arb_sim") / "arbitrade.duckdb"
    return trio.run(_trade_one_round_trip, database)


def _rows(database: Path, sql: str, *parameters: object) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql, list(parameters)).fetchall()


class TestStatArbInSimMode:
    def test_entry_when_traded_is_stored_as_a_stat_arb_opportunity(
        self, round_trip: RoundTrip
    ) -> None:
        """The entry is stored as a stat-arb opportunity (a close is a ``ClosePosition``,
        which the sink does not store as an opportunity row)."""
        stored = _rows(
            round_trip.database,
            "SELECT strategy FROM opportunities WHERE id = ?",
            round_trip.entry_id,
        )
        assert stored == [("stat_arb",)]

    def test_entry_and_close_when_traded_pass_the_risk_gate(self, round_trip: RoundTrip) -> None:
        """The risk gate accepted both intents, and the executor sent their orders."""
        ids = [round_trip.entry_id, round_trip.close_id]
        accepted = _rows(
            round_trip.database,
            "SELECT opportunity_id FROM risk_decisions WHERE accepted AND opportunity_id IN (?, ?)",
            *ids,
        )
        assert sorted(row[0] for row in accepted) == sorted(ids)
        orders = _rows(
            round_trip.database,
            "SELECT DISTINCT cycle_id FROM orders WHERE cycle_id IN (?, ?)",
            *ids,
        )
        assert sorted(row[0] for row in orders) == sorted(ids)

    def test_entry_and_close_when_traded_fill_both_legs_on_the_paper_venue(
        self, round_trip: RoundTrip
    ) -> None:
        """Both cycles completed with fills on both legs; the close trades each leg the other
        way (the entry's sides follow the hedge ratio's sign, so both may be buys)."""
        sides: dict[str, dict[str, set[str]]] = {}
        for cycle_id in (round_trip.entry_id, round_trip.close_id):
            assert round_trip.cycles[cycle_id].outcome == "completed"
            fills = _rows(
                round_trip.database,
                "SELECT DISTINCT symbol, side FROM fills WHERE cycle_id = ?",
                cycle_id,
            )
            by_symbol: dict[str, set[str]] = {}
            for symbol, side in fills:
                by_symbol.setdefault(symbol, set()).add(side)
            sides[cycle_id] = by_symbol
        entry, close = sides[round_trip.entry_id], sides[round_trip.close_id]
        assert set(entry) == set(close) == {"ETH/USD", "BTC/USD"}
        for symbol in entry:
            assert len(entry[symbol]) == len(close[symbol]) == 1
            assert entry[symbol] != close[symbol]

    def test_close_when_completed_leaves_the_position_flat(self, round_trip: RoundTrip) -> None:
        """The close sells back exactly what the entry bought (and buys back what it sold)."""
        net = _rows(
            round_trip.database,
            "SELECT symbol, sum(CASE WHEN side = 'buy' THEN qty ELSE -qty END) FROM fills"
            " WHERE cycle_id IN (?, ?) GROUP BY symbol",
            round_trip.entry_id,
            round_trip.close_id,
        )
        assert {symbol: Decimal(qty) for symbol, qty in net} == {
            "ETH/USD": Decimal(0),
            "BTC/USD": Decimal(0),
        }

    def test_portfolio_when_round_trip_closed_realises_its_cash_net_of_fees(
        self, round_trip: RoundTrip
    ) -> None:
        """Realised PnL is the USD the round trip made, fees included, recomputed from fills
        (plus a next entry's, if one filled before the kill switch: nothing while it is in
        flight, its fees once it finishes holding, or its whole cash once the kill switch
        broke it and the executor unwound it flat; a position cycle is booked when it
        finishes)."""
        fills = _rows(
            round_trip.database,
            "SELECT cycle_id, side, CAST(price AS VARCHAR), CAST(qty AS VARCHAR),"
            " CAST(fee AS VARCHAR), fee_asset FROM fills",
        )
        trip = {round_trip.entry_id, round_trip.close_id}
        expected = Decimal(0)
        next_entry_fees = next_entry_cash = Decimal(0)
        for cycle_id, side, price, qty, fee, fee_asset in fills:
            assert fee_asset == "USD"
            sign = -1 if side == "buy" else 1
            cash = sign * Decimal(qty) * Decimal(price) - Decimal(fee)
            if cycle_id in trip:
                expected += cash
            else:
                next_entry_fees += Decimal(fee)
                next_entry_cash += cash
        others = {row[0] for row in fills} - trip
        assert len(others) <= 1, f"one position at most after the round trip: {others}"
        realised = round_trip.portfolio.realised_pnl_total
        outcomes = (expected, expected - next_entry_fees, expected + next_entry_cash)
        assert realised in outcomes, (realised, outcomes)
        assert expected != sum((c.pnl for c in round_trip.cycles.values()), Decimal(0))
