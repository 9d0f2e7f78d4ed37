"""Determinism: the app's tree on a virtual clock, run twice with the same seed, leaves the same
rows in DuckDB (see :mod:`tests.integration.virtual` for what differs from a real run)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.integration.ledger import cycle_pnl, read_store, table_rows
from tests.integration.virtual import run_virtual

VIRTUAL_SECONDS = 30.0
TABLES = (
    "opportunities",
    "risk_decisions",
    "orders",
    "fills",
    "cycles",
    "portfolio_snapshots",
    "audit_events",
    "supervisor_events",
)
# The pair-graph actor prefixes opportunity ids with a per-incarnation token (unique across
# restarts by design); client order ids are hashes of those ids. Both are renamed by order of
# first appearance before rows are compared. Unix times (at_wall) come from the wall clock.
OPPORTUNITY_PREFIX = re.compile(r"tri-[0-9a-f]+-")
ORDER_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def _normalised(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    names: dict[str, str] = {}

    def rename(value: Any) -> Any:
        if isinstance(value, str):
            value = OPPORTUNITY_PREFIX.sub("tri-#-", value)
            return ORDER_ID.sub(
                lambda m: names.setdefault(m.group(0), f"order-{len(names)}"), value
            )
        if isinstance(value, list):
            return [rename(item) for item in value]
        if isinstance(value, dict):
            return {key: rename(item) for key, item in value.items()}
        return value

    return [tuple(rename(value) for value in row) for row in rows]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("determinism")
    first, second = folder / "first.duckdb", folder / "second.duckdb"
    run_virtual(first, VIRTUAL_SECONDS)
    run_virtual(second, VIRTUAL_SECONDS)
    return first, second


@pytest.mark.slow
class TestSameSeedSameRows:
    @pytest.mark.parametrize("table", TABLES)
    def test_rerun_when_seed_is_the_same_stores_identical_rows(
        self, two_runs: tuple[Path, Path], table: str
    ) -> None:
        """Two virtual-clock runs of the same seed store the same rows, in the same order."""
        first, second = (
            _normalised(table_rows(path, table, leave_out=("at_wall",))) for path in two_runs
        )
        assert first == second

    def test_rerun_when_seed_is_the_same_trades_and_reconciles(
        self, two_runs: tuple[Path, Path]
    ) -> None:
        """The run is not trivially equal: it traded, and its PnL reconciles with its fills."""
        with duckdb.connect(str(two_runs[0]), read_only=True) as connection:
            stored = read_store(connection)
        assert stored.cycles
        assert stored.fills
        assert stored.counts["risk_decisions"]
        for cycle_id, _, home, pnl, _ in stored.cycles:
            fills = stored.fills_of(cycle_id)
            assert cycle_pnl(cycle_id, home, fills, stored.legs[cycle_id]) == pnl
