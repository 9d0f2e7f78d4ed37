"""Reliability: the fault soak, the kill-and-reopen cycles, and their checks.

``arbitrade soak --minutes N --seed S [--kills K]`` runs the whole bot in sim mode while faults
fire one after another (:mod:`arbitrade.soak._faults` lists them), then checks recovery, orders
doubled, rows lost, PnL and memory; the kill cycles SIGKILL ``arbitrade run`` during writes and
reopen its database. Every check passes, fails, or says why it could not be measured.
"""

from arbitrade.soak._bot import BotHandle as BotHandle
from arbitrade.soak._bot import run_bot as run_bot
from arbitrade.soak._checks import Check as Check
from arbitrade.soak._checks import OrderRecord as OrderRecord
from arbitrade.soak._checks import Verdict as Verdict
from arbitrade.soak._checks import check_doubled_orders as check_doubled_orders
from arbitrade.soak._checks import check_memory as check_memory
from arbitrade.soak._checks import check_pnl as check_pnl
from arbitrade.soak._checks import check_recovery as check_recovery
from arbitrade.soak._checks import check_rows_lost as check_rows_lost
from arbitrade.soak._faults import FaultKind as FaultKind
from arbitrade.soak._faults import FaultRecord as FaultRecord
from arbitrade.soak._faults import PlannedFault as PlannedFault
from arbitrade.soak._faults import fault_plan as fault_plan
from arbitrade.soak._run import SoakOptions as SoakOptions
from arbitrade.soak._run import SoakReport as SoakReport
from arbitrade.soak._run import run_soak as run_soak
from arbitrade.soak._table import print_report as print_report

__all__ = [
    "BotHandle",
    "Check",
    "FaultKind",
    "FaultRecord",
    "OrderRecord",
    "PlannedFault",
    "SoakOptions",
    "SoakReport",
    "Verdict",
    "check_doubled_orders",
    "check_memory",
    "check_pnl",
    "check_recovery",
    "check_rows_lost",
    "fault_plan",
    "print_report",
    "run_bot",
    "run_soak",
]
