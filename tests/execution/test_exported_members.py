"""The public faces of arbitrade.risk and arbitrade.execution, pinned."""

from __future__ import annotations

import arbitrade.execution
import arbitrade.execution.testing
import arbitrade.risk


def public(module: object) -> set[str]:
    return {name for name in vars(module) if not name.startswith("_")}


def test_risk_exports_when_listed_match_the_pinned_set() -> None:
    """Changing arbitrade.risk's public names is a deliberate act."""
    assert public(arbitrade.risk) >= {
        "CHECKS", "CLOSE_CHECKS", "CancelAllOrders", "ControlOutcome", "Decision", "GetRiskView",
        "RateTier", "RejectReason", "Rejection", "RiskGate", "RiskGateCore", "RiskSettings",
        "RiskView", "TIER_LIMITS", "TradingRateCounter", "cancel_penalty", "evaluate",
        "implied_home_values", "leg_flow", "net_home_profit",
    }  # fmt: skip


def test_execution_exports_when_listed_match_the_pinned_set() -> None:
    """Changing arbitrade.execution's public names is a deliberate act."""
    assert public(arbitrade.execution) >= {
        "Cancel", "Cycle", "DEADLINE_REASON", "DUPLICATE_REASON", "Effects", "ExecType",
        "ExecutionError", "ExecutionReport", "ExecutionSettings", "Executor", "ExecutorCore",
        "ExecutorTick", "GetOpenOrders", "GetPortfolio", "HoldReason", "InvalidOrder",
        "IOC_REASON", "LiveVenue", "OrderRequest", "PaperVenue", "Portfolio", "PortfolioBook",
        "PortfolioTick", "Query", "RefreshBalances", "ScriptedVenue", "Submit", "TrackedOrder",
        "USER_CANCEL_REASON", "UnwindPlan", "Venue", "VenueConnection", "VenueError",
        "VenueEvent", "VenueRefusedToStart", "VenueUnavailable", "check_live_settings",
        "client_order_id", "fill_flows", "fills_at_limit", "match_ioc", "matches_book",
        "parse_balances", "plan_unwind", "rejects", "run_trading_io", "silent", "split_symbol",
        "trading_children", "trading_supervisor", "Belief", "ExecutorMemory",
        "NOT_RECEIVED_REASON", "RECONCILED_KIND", "RECOVERED_KIND",
    }  # fmt: skip
    assert arbitrade.execution.testing.__all__ == ["VenueFixture", "check_venue"]


def test_risk_when_imported_pulls_in_no_venue() -> None:
    """Modes stay out of the engines: arbitrade.risk never imports a venue module."""
    import ast
    from pathlib import Path

    folder = Path(arbitrade.risk.__file__).parent
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("arbitrade.execution"), path.name
            if isinstance(node, ast.Import):
                assert all(not a.name.startswith("arbitrade.execution") for a in node.names)
