"""End to end: `run_app` (the whole tree, paper venue) trades against the simulator; the
DuckDB file it leaves reconciles with itself.

The bot runs on the real clock against a real loopback simulator (hypercorn, WebSocket v2),
exactly as ``arbitrade run`` wires it; only the simulator is the test's (a six-pair universe
with frequent mispricings) and handed in through ``run_app(simulator=...)``. Once a few
cycles have completed the bot is stopped as SIGTERM would stop it, the file is reopened, and
the checks below read it with plain SQL and an independent Decimal ledger
(:mod:`tests.integration.ledger`).
"""

from __future__ import annotations

import time
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pytest
import trio

from actors import Lossless, System
from arbitrade.app import run_app
from arbitrade.execution import parse_balances
from arbitrade.messages import TOPIC_CONTROL, TOPIC_CYCLES, ControlChanged, CycleFinished
from arbitrade.sim import serve_simulator
from tests.integration import scenario
from tests.integration.ledger import Stored, cycle_pnl, flows, read_store

COMPLETED_CYCLES = 3
RUN_LIMIT_SECONDS = 50.0
QUIET_SECONDS = scenario.components().execution.snapshot_interval_seconds + 1.0
KILLER = "integration-test"


async def _trade_until_cycles(database: Path) -> list[CycleFinished]:
    """Run the bot until ``COMPLETED_CYCLES`` cycles completed, engage the kill switch, let
    the portfolio take a quiet snapshot, stop the bot; return the cycles seen on the bus."""
    seen: list[CycleFinished] = []
    async with trio.open_nursery() as outer:
        running: Any = await outer.start(serve_simulator, scenario.sim_config())
        with trio.fail_after(RUN_LIMIT_SECONDS):
            async with trio.open_nursery() as bot:
                system: System = await bot.start(
                    partial(
                        run_app,
                        scenario.settings(database),
                        scenario.components(),
                        simulator=running,
                    )
                )
                with system.bus.subscribe(TOPIC_CYCLES, Lossless(10_000)) as cycles:
                    async for finished in cycles:
                        seen.append(finished)
                        if sum(c.outcome == "completed" for c in seen) >= COMPLETED_CYCLES:
                            break
                    now = trio.current_time()
                    engage = ControlChanged("kill_switch", "on", "off", KILLER, now, time.time())
                    await system.bus.publish(TOPIC_CONTROL, engage)
                    # the portfolio's next periodic snapshot then follows the last fill
                    with trio.move_on_after(QUIET_SECONDS):
                        async for finished in cycles:
                            seen.append(finished)
                bot.cancel_scope.cancel()  # as SIGTERM does: the tree stops in reverse order
        outer.cancel_scope.cancel()
    return seen


@pytest.fixture(scope="module")
def traded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[CycleFinished]]:
    """One run shared by the checks below (it takes a while)."""
    database = tmp_path_factory.mktemp("end_to_end") / "arbitrade.duckdb"
    seen = trio.run(_trade_until_cycles, database)
    return database, seen


@pytest.fixture(scope="module")
def stored(traded: tuple[Path, list[CycleFinished]]) -> Stored:
    database, _ = traded
    with duckdb.connect(str(database), read_only=True) as connection:
        return read_store(connection)


def _connect(traded: tuple[Path, list[CycleFinished]]) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(traded[0]), read_only=True)


def _dead_letters(traded: tuple[Path, list[CycleFinished]]) -> list[tuple[str, str]]:
    with _connect(traded) as connection:
        return [
            (str(kind), str(message))
            for kind, message in connection.execute(
                "SELECT message_type, message FROM dead_letters"
            ).fetchall()
        ]


@pytest.mark.slow
class TestTradingAgainstTheSimulator:
    def test_run_when_mispricings_open_trades_cycles_and_stores_every_one(
        self, traded: tuple[Path, list[CycleFinished]], stored: Stored
    ) -> None:
        """Every cycle seen on the bus during the run is stored with the same outcome and PnL
        (in ``cycles``)."""
        _, seen = traded
        rows = {cycle_id: (outcome, pnl) for cycle_id, outcome, _, pnl, _ in stored.cycles}
        assert sum(c.outcome == "completed" for c in seen) >= COMPLETED_CYCLES
        for finished in seen:
            assert rows.get(finished.cycle_id) == (finished.outcome, finished.pnl), finished

    def test_sink_when_trading_sends_nothing_to_dead_letters(
        self, traded: tuple[Path, list[CycleFinished]]
    ) -> None:
        """Every cycle and snapshot fits its table: nothing is dead-lettered."""
        assert _dead_letters(traded) == []

    def test_cycle_pnl_when_recomputed_from_fills_matches_exactly(self, stored: Stored) -> None:
        """Each stored cycle's PnL equals the ledger's Decimal recomputation from its fills,
        rounded half-even to 1e-12 of the home currency as the executor documents (leftovers
        are valued at traded prices, which multiplies digits)."""
        assert stored.cycles
        for cycle_id, outcome, home, pnl, _ in stored.cycles:
            fills = stored.fills_of(cycle_id)
            if outcome == "completed":
                assert fills, cycle_id
            exact = cycle_pnl(cycle_id, home, fills, stored.legs[cycle_id])
            assert exact.quantize(Decimal("1e-12"), rounding=ROUND_HALF_EVEN) == pnl, cycle_id

    def test_portfolio_pnl_when_snapshots_are_read_equals_the_sum_of_cycles(
        self, traded: tuple[Path, list[CycleFinished]], stored: Stored
    ) -> None:
        """Each snapshot's realised total is exactly the PnL of the cycles finished before it."""
        with _connect(traded) as connection:
            snapshots = connection.execute(
                "SELECT realised_pnl_total, at_monotonic FROM portfolio_snapshots ORDER BY rowid"
            ).fetchall()
        assert len(snapshots) >= 2
        for total, at in snapshots:
            finished = [pnl for _, _, _, pnl, cycle_at in stored.cycles if cycle_at <= at]
            assert total == sum(finished, Decimal(0)), at

    def test_final_balances_when_rebuilt_from_fills_match_the_last_snapshot(
        self, traded: tuple[Path, list[CycleFinished]], stored: Stored
    ) -> None:
        """Starting paper balances moved by every stored fill (fees included) are the
        balances of the last snapshot, taken after the kill switch stilled trading."""
        with _connect(traded) as connection:
            balances, at = connection.execute(
                "SELECT balances, at_monotonic FROM portfolio_snapshots ORDER BY rowid DESC LIMIT 1"
            ).fetchone() or (None, None)
        assert balances is not None
        assert all(fill.at < at for fill in stored.fills)
        expected: dict[str, Decimal] = defaultdict(Decimal)
        expected.update(parse_balances(scenario.components().execution.paper_balances))
        for asset, amount in flows(stored.fills).items():
            expected[asset] += amount
        last = {entry["asset"]: entry["amount"] for entry in balances}
        assert {a: v for a, v in last.items() if v} == {a: v for a, v in expected.items() if v}

    def test_orders_when_read_back_each_carry_their_fills(
        self, traded: tuple[Path, list[CycleFinished]], stored: Stored
    ) -> None:
        """Every order ends terminal with filled_qty = the sum of its fills; every fill has
        its order and the order's cycle."""
        with _connect(traded) as connection:
            updates = connection.execute(
                "SELECT cl_ord_id, cycle_id, state, qty, filled_qty FROM orders ORDER BY rowid"
            ).fetchall()
        last: dict[str, tuple[str, str, Decimal, Decimal]] = {}
        for cl_ord_id, cycle_id, state, qty, filled in updates:
            last[cl_ord_id] = (cycle_id, state, qty, filled)
        filled_by_order: dict[str, Decimal] = defaultdict(Decimal)
        for fill in stored.fills:
            assert fill.cl_ord_id in last, fill
            assert last[fill.cl_ord_id][0] == fill.cycle_id
            filled_by_order[fill.cl_ord_id] += fill.qty
        terminal = {"filled", "cancelled", "rejected", "expired"}
        for cl_ord_id, (_, state, qty, filled) in last.items():
            assert state in terminal, (cl_ord_id, state)
            assert filled == filled_by_order.get(cl_ord_id, Decimal(0)), cl_ord_id
            if state == "filled":
                assert filled == qty, cl_ord_id
        assert len({fill.exec_id for fill in stored.fills}) == len(stored.fills)

    def test_decisions_when_read_back_cover_every_opportunity_and_cycle(
        self, traded: tuple[Path, list[CycleFinished]], stored: Stored
    ) -> None:
        """Opportunities, risk decisions (accepted and rejected) and their audit rows are
        stored; every cycle was an accepted opportunity."""
        with _connect(traded) as connection:
            decisions = connection.execute(
                "SELECT opportunity_id, accepted, reason FROM risk_decisions"
            ).fetchall()
            audit = connection.execute("SELECT kind, subject FROM audit_events").fetchall()
        opportunities = set(stored.legs)
        accepted = {oid for oid, ok, _ in decisions if ok}
        assert {oid for oid, _, _ in decisions} <= opportunities
        assert any(not ok for _, ok, _ in decisions), "expected some refusals"
        assert {cycle_id for cycle_id, *_ in stored.cycles} <= accepted
        audited = {(kind, subject) for kind, subject in audit}
        for oid, ok, _ in decisions:
            assert ("risk.accepted" if ok else "risk.rejected", oid) in audited

    def test_restart_log_when_read_back_holds_every_start_and_stop(
        self, traded: tuple[Path, list[CycleFinished]], stored: Stored
    ) -> None:
        """The restart log is stored: every actor's start, and the clean stop of every actor
        that stopped before the sink (all but the persistence branch); the schema is migrated."""
        with _connect(traded) as connection:
            events = connection.execute("SELECT event, path FROM supervisor_events").fetchall()
        started = {path for event, path in events if event == "actor.started"}
        stopped = {path for event, path in events if event == "actor.stopped"}
        for path in (
            "root/trading/executor",
            "root/trading/portfolio",
            "root/trading/risk_gate",
            "root/market/pair_graph",
            "root/market/feed.book",
        ):
            assert path in started, (path, started)
            assert path in stopped, (path, stopped)
        # the writer starts before the sink subscribes: its own start is only in the log file
        assert stored.counts["schema_migrations"] >= 1

    def test_kill_switch_when_engaged_mid_run_is_audited_and_refuses_new_cycles(
        self, traded: tuple[Path, list[CycleFinished]]
    ) -> None:
        """The operator's kill switch is an audit row; opportunities after it are refused."""
        with _connect(traded) as connection:
            (engaged_at,) = connection.execute(
                "SELECT min(at_monotonic) FROM audit_events WHERE kind = 'control.kill_switch'"
            ).fetchone() or (None,)
            assert engaged_at is not None
            later = connection.execute(
                "SELECT DISTINCT accepted, reason FROM risk_decisions WHERE at_monotonic > ?",
                [engaged_at],
            ).fetchall()
        assert all((accepted, reason) == (False, "kill_switch") for accepted, reason in later)
