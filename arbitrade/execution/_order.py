"""The state machine of one order: what the executor believes, built from venue reports.

States (``OrderState``): PENDING until the venue acknowledges, then OPEN, PARTIALLY_FILLED,
and one terminal state: FILLED, CANCELLED, REJECTED or EXPIRED. Rules:

* States only move forward. A report that would move backwards (a late ``new`` after a
  trade) or sideways between terminal states is ignored.
* Fills are counted by ``cum_qty``, which never decreases: a report whose ``cum_qty`` is not
  above what is already counted adds nothing. So duplicate trade reports, a status read
  back after a reconnect and the trade report it overlaps with are all idempotent.
* A fill that arrives after CANCELLED or EXPIRED (a late fill) is real money: it is counted
  and published. The state stays terminal, but becomes FILLED if the whole quantity traded.
* A trade report without ``cum_qty`` adds its ``last_qty``, but never beyond the order's
  quantity (it may repeat a trade already counted from a status read).
* When a report shows more ``cum_qty`` than its own trade explains (reports were missed),
  the gap becomes an inferred fill priced from ``cum_cost``/``cum_fee`` with a
  deterministic ``exec_id`` ending in ``#cum<qty>``.
* REJECTED only follows PENDING: a rejection of an order already live (a duplicate
  resubmission) does not end it.
"""

from __future__ import annotations

from decimal import Decimal

import structlog

from arbitrade.execution._venue import ExecType, ExecutionReport, OrderRequest, split_symbol
from arbitrade.messages import Fill, OrderState, OrderUpdate

log = structlog.get_logger(__name__)

_ZERO = Decimal(0)
_RANK = {
    OrderState.PENDING: 0,
    OrderState.OPEN: 1,
    OrderState.PARTIALLY_FILLED: 2,
}
_STATUS_TARGETS = frozenset(
    {OrderState.OPEN, OrderState.CANCELLED, OrderState.EXPIRED, OrderState.REJECTED}
)


class TrackedOrder:
    """One order of a cycle (a leg or an unwind) and everything known about it."""

    __slots__ = (
        "cost",
        "created_at",
        "cycle_id",
        "exec_ids",
        "fees",
        "filled_qty",
        "fills",
        "reason",
        "request",
        "role",
        "sent",
        "state",
        "venue_order_id",
    )

    def __init__(self, request: OrderRequest, cycle_id: str, role: str, created_at: float) -> None:
        self.request = request
        self.cycle_id = cycle_id
        self.role = role
        self.created_at = created_at
        self.state = OrderState.PENDING
        self.filled_qty = _ZERO
        self.cost = _ZERO
        self.fees = _ZERO
        self.venue_order_id = ""
        self.reason = ""
        self.sent = False
        self.exec_ids: set[str] = set()
        self.fills: list[Fill] = []

    @property
    def cl_ord_id(self) -> str:
        """The order's client order id."""
        return self.request.cl_ord_id

    @property
    def terminal(self) -> bool:
        """True once no state change can come (late fills still can)."""
        return self.state.terminal

    def update(self, at: float, reason: str = "") -> OrderUpdate:
        """The order's current state as a message."""
        request = self.request
        return OrderUpdate(
            cl_ord_id=request.cl_ord_id,
            cycle_id=self.cycle_id,
            symbol=request.symbol,
            side=request.side,
            order_type="limit",
            limit_price=request.limit_price,
            qty=request.qty,
            filled_qty=self.filled_qty,
            state=self.state,
            reason=reason or self.reason,
            at=at,
            venue_order_id=self.venue_order_id,
        )

    def expire_locally(self, at: float, reason: str) -> list[OrderUpdate | Fill]:
        """End a PENDING order the venue never received (its deadline passed first)."""
        if self.state is not OrderState.PENDING:
            return []
        self.state, self.reason = OrderState.EXPIRED, reason
        return [self.update(at)]

    def apply(self, report: ExecutionReport) -> list[OrderUpdate | Fill]:
        """Fold one report in; return the fills and the state change it caused (maybe none)."""
        before = (self.state, self.filled_qty)
        was_terminal = self.terminal
        if report.venue_order_id and not self.venue_order_id:
            self.venue_order_id = report.venue_order_id
        out: list[OrderUpdate | Fill] = list(self._absorb(report))
        target = report.order_status
        if report.exec_type is ExecType.REJECTED:
            target = OrderState.REJECTED
        if target in _STATUS_TARGETS and self._may_move_to(target):
            self.state = target
            self.reason = report.reason
        if self.filled_qty >= self.request.qty and self.state is not OrderState.FILLED:
            self.state = OrderState.FILLED
        elif self.filled_qty > _ZERO and self.state in (OrderState.PENDING, OrderState.OPEN):
            self.state = OrderState.PARTIALLY_FILLED
        if (self.state, self.filled_qty) != before:
            late = was_terminal and self.filled_qty != before[1]
            reason = "late_fill" if late else report.reason
            if late:
                log.warning(
                    "order.late_fill", cl_ord_id=self.cl_ord_id, filled=str(self.filled_qty)
                )
            out.append(self.update(report.at, reason))
        return out

    def _may_move_to(self, target: OrderState) -> bool:
        if self.terminal or target is self.state:
            return False
        if target is OrderState.REJECTED:
            return self.state is OrderState.PENDING
        if target.terminal:
            return True
        return _RANK[target] > _RANK[self.state]

    def _absorb(self, report: ExecutionReport) -> list[Fill]:
        is_trade = report.exec_type is ExecType.TRADE and report.last_qty > 0
        new_trade = is_trade and report.exec_id not in self.exec_ids
        if is_trade:
            self.exec_ids.add(report.exec_id)
        cum = report.cum_qty
        if new_trade and cum <= 0:  # a venue that does not report cumulative quantities
            # never past the order's size: a trade already counted through a status read
            # (an inferred fill) cannot be told apart here, and must not be counted twice
            cum = min(self.filled_qty + report.last_qty, self.request.qty)
        if cum <= self.filled_qty:
            return []
        delta = cum - self.filled_qty
        fills: list[Fill] = []
        if new_trade:
            last_qty = min(report.last_qty, delta)
            gap = delta - last_qty
            if gap > 0:
                gap_cost = report.cum_cost - self.cost - last_qty * report.last_price
                gap_fee = report.cum_fee - self.fees - report.fee
                fills.append(self._inferred(report, gap, gap_cost, gap_fee, self.filled_qty + gap))
            fills.append(self._trade(report, last_qty))
        else:
            cost = report.cum_cost - self.cost
            fee = report.cum_fee - self.fees
            fills.append(self._inferred(report, delta, cost, fee, cum))
        return fills

    def _record(self, fill: Fill) -> Fill:
        self.filled_qty += fill.qty
        self.cost += fill.qty * fill.price
        self.fees += fill.fee
        self.fills.append(fill)
        return fill

    def _trade(self, report: ExecutionReport, qty: Decimal) -> Fill:
        return self._record(
            Fill(
                exec_id=report.exec_id,
                cl_ord_id=self.cl_ord_id,
                cycle_id=self.cycle_id,
                symbol=self.request.symbol,
                side=self.request.side,
                price=report.last_price,
                qty=qty,
                fee=report.fee,
                fee_asset=report.fee_asset or split_symbol(self.request.symbol)[1],
                liquidity=report.liquidity,
                at=report.at,
            )
        )

    def _inferred(
        self, report: ExecutionReport, qty: Decimal, cost: Decimal, fee: Decimal, cum: Decimal
    ) -> Fill:
        if cost > 0:
            price = cost / qty
        else:
            price = self.request.limit_price
            log.warning("order.fill_inferred_without_cost", cl_ord_id=self.cl_ord_id, qty=str(qty))
        return self._record(
            Fill(
                exec_id=f"{self.cl_ord_id}#cum{cum.normalize()}",
                cl_ord_id=self.cl_ord_id,
                cycle_id=self.cycle_id,
                symbol=self.request.symbol,
                side=self.request.side,
                price=price,
                qty=qty,
                fee=max(fee, _ZERO),
                fee_asset=report.fee_asset or split_symbol(self.request.symbol)[1],
                liquidity=report.liquidity,
                at=report.at,
            )
        )
