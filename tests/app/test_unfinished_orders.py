"""Start-up in live mode hands the orders an earlier process left unfinished to the executor."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import attrs

from actors import ChildSpec, SupervisorSpec
from arbitrade.app import build_tree, unfinished_orders_at_start
from arbitrade.components import load_components
from arbitrade.config import Mode
from arbitrade.execution import PaperVenue
from arbitrade.messages import OrderState
from tests.execution.test_live import LIVE
from tests.execution.test_reconcile_restart import (
    FILLED,
    NEVER_RECEIVED,
    OPEN_THEN_CANCELLED,
    store,
)


def _executor_spec(tree: SupervisorSpec) -> ChildSpec:
    trading = next(c for c in tree.children if c.name == "trading")
    assert isinstance(trading, SupervisorSpec)
    executor = next(c for c in trading.children if c.name == "executor")
    assert isinstance(executor, ChildSpec)
    return executor


def test_start_when_live_with_unfinished_orders_passes_them_to_the_executor(
    tmp_path: Path,
) -> None:
    """Open and never-answered orders reach the executor; a filled one does not."""
    path = tmp_path / "bot.duckdb"
    store(path, [*OPEN_THEN_CANCELLED, NEVER_RECEIVED, *FILLED])
    settings = attrs.evolve(LIVE, duckdb_path=path)
    orders = unfinished_orders_at_start(settings)
    assert sorted((o.cl_ord_id, o.state) for o in orders) == [
        ("a", OrderState.OPEN),
        ("b", OrderState.PENDING),
    ]
    tree = build_tree(
        settings,
        load_components(),
        PaperVenue(taker_fee_rate=Decimal("0.004")),
        unfinished_orders=orders,
    )
    assert _executor_spec(tree).kwargs["unfinished"] == orders


def test_start_when_sim_mode_resolves_nothing(tmp_path: Path) -> None:
    """Paper fills die with their process: sim and paper mode resolve nothing at start."""
    path = tmp_path / "bot.duckdb"
    store(path, [NEVER_RECEIVED])
    for mode in (Mode.SIM, Mode.PAPER):
        assert unfinished_orders_at_start(attrs.evolve(LIVE, mode=mode, duckdb_path=path)) == ()
