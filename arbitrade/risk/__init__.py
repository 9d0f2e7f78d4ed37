"""The risk gate: the only way from an opportunity to the executor.

Layering: ``_settings`` (limits), ``_legs`` (exact cycle arithmetic) and ``_book_states`` (each
book's health as the book feed announced it) feed ``_checks`` (pure functions), which ``_gate``
(state, no clock) runs; the actor wraps the core. Nothing here imports a venue or the
executor: modes stay out of the engines.
"""

from arbitrade.risk._actor import GetRiskView as GetRiskView
from arbitrade.risk._actor import RiskGate as RiskGate
from arbitrade.risk._book_states import BookStates as BookStates
from arbitrade.risk._book_states import caught_up_states as caught_up_states
from arbitrade.risk._checks import CHECKS as CHECKS
from arbitrade.risk._checks import CLOSE_CHECKS as CLOSE_CHECKS
from arbitrade.risk._checks import Rejection as Rejection
from arbitrade.risk._checks import RejectReason as RejectReason
from arbitrade.risk._checks import RiskView as RiskView
from arbitrade.risk._checks import evaluate as evaluate
from arbitrade.risk._gate import ControlOutcome as ControlOutcome
from arbitrade.risk._gate import Decision as Decision
from arbitrade.risk._gate import RiskGateCore as RiskGateCore
from arbitrade.risk._legs import implied_home_values as implied_home_values
from arbitrade.risk._legs import leg_flow as leg_flow
from arbitrade.risk._legs import net_home_profit as net_home_profit
from arbitrade.risk._memory import RiskMemory as RiskMemory
from arbitrade.risk._messages import CancelAllOrders as CancelAllOrders
from arbitrade.risk._messages import CycleInFlight as CycleInFlight
from arbitrade.risk._messages import GetCyclesInFlight as GetCyclesInFlight
from arbitrade.risk._rate_counter import TIER_LIMITS as TIER_LIMITS
from arbitrade.risk._rate_counter import TradingRateCounter as TradingRateCounter
from arbitrade.risk._rate_counter import cancel_penalty as cancel_penalty
from arbitrade.risk._settings import RateTier as RateTier
from arbitrade.risk._settings import RiskSettings as RiskSettings
