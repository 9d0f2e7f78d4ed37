"""Execution: the executor and its order state machine, venues, and the portfolio.

Layering: ``_venue`` (the seam: requests, reports, the ``Venue`` protocol) and ``_ids`` at
the bottom; ``_order`` (one order's state machine), ``_unwind`` (leftover planning) and
``_executor`` (cycles, without I/O) above; venues (``_paper``, ``_scripted``, ``_live``)
implement the seam; the actors wrap the cores. ``arbitrade.execution.testing`` holds the
venue conformance suite.
"""

from arbitrade.execution._actor import Executor as Executor
from arbitrade.execution._actor import ExecutorTick as ExecutorTick
from arbitrade.execution._actor import GetOpenOrders as GetOpenOrders
from arbitrade.execution._audit import VENUE_BAD_FRAME as VENUE_BAD_FRAME
from arbitrade.execution._audit import VENUE_CONNECTION as VENUE_CONNECTION
from arbitrade.execution._audit import VENUE_KINDS as VENUE_KINDS
from arbitrade.execution._audit import VENUE_PRIVATE_STALL_ENDED as VENUE_PRIVATE_STALL_ENDED
from arbitrade.execution._audit import VENUE_PRIVATE_STALLED as VENUE_PRIVATE_STALLED
from arbitrade.execution._audit import VENUE_REST_ERROR as VENUE_REST_ERROR
from arbitrade.execution._audit import AuditingVenue as AuditingVenue
from arbitrade.execution._audit import VenueAuditor as VenueAuditor
from arbitrade.execution._audit import publish_venue_audit as publish_venue_audit
from arbitrade.execution._errors import ExecutionError as ExecutionError
from arbitrade.execution._errors import InvalidOrder as InvalidOrder
from arbitrade.execution._errors import VenueError as VenueError
from arbitrade.execution._errors import VenueRefusedToStart as VenueRefusedToStart
from arbitrade.execution._errors import VenueUnavailable as VenueUnavailable
from arbitrade.execution._executor import Cancel as Cancel
from arbitrade.execution._executor import Cycle as Cycle
from arbitrade.execution._executor import Effects as Effects
from arbitrade.execution._executor import ExecutorCore as ExecutorCore
from arbitrade.execution._executor import Query as Query
from arbitrade.execution._executor import Submit as Submit
from arbitrade.execution._ids import client_order_id as client_order_id
from arbitrade.execution._live import STALL_AFTER as STALL_AFTER
from arbitrade.execution._live import LiveVenue as LiveVenue
from arbitrade.execution._live import check_live_settings as check_live_settings
from arbitrade.execution._matching import match_ioc as match_ioc
from arbitrade.execution._order import TrackedOrder as TrackedOrder
from arbitrade.execution._paper import PaperVenue as PaperVenue
from arbitrade.execution._paper import rates_from_taker_fees as rates_from_taker_fees
from arbitrade.execution._reconcile import NOT_RECEIVED_REASON as NOT_RECEIVED_REASON
from arbitrade.execution._reconcile import RECONCILED_KIND as RECONCILED_KIND
from arbitrade.execution._reconcile import RECOVERED_KIND as RECOVERED_KIND
from arbitrade.execution._reconcile import Belief as Belief
from arbitrade.execution._reconcile import ExecutorMemory as ExecutorMemory
from arbitrade.execution._restart import PROCESS_RESTART_TRIGGER as PROCESS_RESTART_TRIGGER
from arbitrade.execution._restart import load_unfinished_orders as load_unfinished_orders
from arbitrade.execution._restart import resolve_unfinished as resolve_unfinished
from arbitrade.execution._restart import unfinished_orders as unfinished_orders
from arbitrade.execution._scripted import ScriptedVenue as ScriptedVenue
from arbitrade.execution._scripted import fills_at_limit as fills_at_limit
from arbitrade.execution._scripted import matches_book as matches_book
from arbitrade.execution._scripted import rejects as rejects
from arbitrade.execution._scripted import silent as silent
from arbitrade.execution._settings import ExecutionSettings as ExecutionSettings
from arbitrade.execution._settings import parse_balances as parse_balances
from arbitrade.execution._unwind import HoldReason as HoldReason
from arbitrade.execution._unwind import UnwindPlan as UnwindPlan
from arbitrade.execution._unwind import fill_flows as fill_flows
from arbitrade.execution._unwind import plan_unwind as plan_unwind
from arbitrade.execution._venue import DEADLINE_REASON as DEADLINE_REASON
from arbitrade.execution._venue import DUPLICATE_REASON as DUPLICATE_REASON
from arbitrade.execution._venue import IOC_REASON as IOC_REASON
from arbitrade.execution._venue import USER_CANCEL_REASON as USER_CANCEL_REASON
from arbitrade.execution._venue import ExecType as ExecType
from arbitrade.execution._venue import ExecutionReport as ExecutionReport
from arbitrade.execution._venue import OrderRequest as OrderRequest
from arbitrade.execution._venue import Venue as Venue
from arbitrade.execution._venue import VenueConnection as VenueConnection
from arbitrade.execution._venue import VenueEvent as VenueEvent
from arbitrade.execution._venue import split_symbol as split_symbol
from arbitrade.execution._wiring import run_trading_io as run_trading_io
from arbitrade.execution._wiring import trading_children as trading_children
from arbitrade.execution._wiring import trading_supervisor as trading_supervisor
from arbitrade.execution.portfolio import GetPortfolio as GetPortfolio
from arbitrade.execution.portfolio import Portfolio as Portfolio
from arbitrade.execution.portfolio import PortfolioBook as PortfolioBook
from arbitrade.execution.portfolio import PortfolioTick as PortfolioTick
from arbitrade.execution.portfolio import RefreshBalances as RefreshBalances
