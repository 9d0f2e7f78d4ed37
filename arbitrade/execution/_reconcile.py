"""Reconciliation: how the executor settles its orders in flight after it lost sight of them.

Reconciliation (after every reconnect, and after the executor's own restart): what the
executor believed of each order in flight is noted when the venue disconnects; on reconnect the
venue first replays its snapshot (Kraken's ``executions`` snapshot: open orders and the latest
fills), then every order in flight is queried and resolved: filled (fills not yet seen are
added, never twice: by trade id, then by ``cum_qty``), cancelled or expired, still open (kept
tracked), or unknown to the venue. An order the venue never received is treated as not placed
and is not re-sent blindly: it ends EXPIRED with :data:`NOT_RECEIVED_REASON` and the cycle's
normal logic (finish as rejected, or unwind what the other legs traded) decides. Only an order
whose submit failed in this process (it never left) is sent again, with the same ``cl_ord_id``
and its original deadline; past the deadline it expires locally. Every order whose belief the
exchange corrected gets one ``execution.reconciled`` audit event (believed state and filled
quantity, what the exchange said, the resolution, the fills added).

State outside the actor: the cycles and orders live in an :class:`ExecutorMemory` the wiring
creates once, so a restarted executor (see ``_actor``) resumes them with
:meth:`~arbitrade.execution.ExecutorCore.recover`.

Decision (in ADR form until docs/adr has it):

    Context: across a disconnect an order can fill, be cancelled, or never have arrived, and
    the bot cannot tell which from its own side. Resending an order Kraken has no record of
    risks a double if the first copy is still in flight (Kraken checks ``cl_ord_id`` only
    among open orders), and the cycle's prices are stale by then anyway.
    Decision: ask, never assume: the snapshot and a query settle every order; "no record"
    means not placed, and the cycle's own logic (finish or unwind) takes it from there. The
    executor's state is kept outside the actor so a crash of the actor is a reconnect too.
    Consequences: a leg lost in transit turns a cycle into a broken one that unwinds, rather
    than a late copy of the leg; an order whose ack and stream were both lost and that closed
    since is found by its ``cl_ord_id`` in REST ``ClosedOrders`` (cancelled or filled, its
    fills through the snapshot's last 50 fills). A crash of the whole process loses the
    memory; the next process resolves the orders the ``orders`` table left unfinished
    (``_restart``), but not their cycles.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs

from arbitrade.execution._order import TrackedOrder
from arbitrade.execution._retention import RecentIds, Retention
from arbitrade.execution._venue import ExecutionReport
from arbitrade.messages import OrderState

if TYPE_CHECKING:
    from arbitrade.execution._executor import Cycle

NOT_RECEIVED_REASON: Final = "not_received_by_venue"
"""Why an order sent but unknown to the venue at reconciliation ends EXPIRED (not placed)."""
RECONCILED_KIND: Final = "execution.reconciled"
"""Audit kind of one correction found by reconciliation (the soak counts these)."""
RECOVERED_KIND: Final = "execution.recovered"
"""Audit kind of a restarted executor resuming the cycles kept in its memory."""
RECONNECT_TRIGGER: Final = "reconnect"
RESTART_TRIGGER: Final = "executor_restart"
FINISHED_CYCLES_KEPT: Final = 256
"""Finished cycles (and their orders) an :class:`ExecutorMemory` keeps by default."""
RETIRED_CYCLE_IDS_KEPT: Final = 65_536
"""Ids of forgotten cycles still refused as duplicates (about 100 bytes each)."""

_STILL_OPEN = frozenset({OrderState.PENDING, OrderState.OPEN, OrderState.PARTIALLY_FILLED})


@attrs.frozen
class Belief:
    """What the executor believed of an order when it lost sight of it."""

    state: OrderState
    filled_qty: Decimal
    fills: int
    """How many fills were known then (the ones after are what reconciliation added)."""
    trigger: str
    """Why it is being reconciled: :data:`RECONNECT_TRIGGER` or :data:`RESTART_TRIGGER`."""


@attrs.define
class ExecutorMemory:
    """The executor's cycles and orders, kept outside the actor so a restart resumes them.

    The wiring creates one and hands the same object to every incarnation of the executor.
    It lives in the process: a crash of the whole process loses it (the orders table and the
    exchange's own records are then the only trace).

    Bounded: cycles in flight are always kept; of the finished ones only the last
    ``finished_cycles_kept`` stay, with their orders (and any belief about them). An older
    finished cycle is forgotten when a newer one finishes: a report about one of its orders
    arriving after that is logged as ``executor.unknown_report`` and ignored (every order of a
    finished cycle is terminal, so only a late duplicate could come). Its id stays in
    ``retired`` (the last :data:`RETIRED_CYCLE_IDS_KEPT`), so the same opportunity is still
    refused as a duplicate; opportunity ids carry the detector's sequence number, so only a
    replay of a recent message could repeat one.
    """

    cycles: dict[str, Cycle] = attrs.field(factory=dict)
    orders: dict[str, TrackedOrder] = attrs.field(factory=dict)
    beliefs: dict[str, Belief] = attrs.field(factory=dict)
    halted: bool = False
    """The kill switch as the executor last followed it (a restart must not release it)."""
    incarnations: int = 0
    """How many executor cores have used this memory (1 after the first start)."""
    finished_cycles_kept: int = attrs.field(default=FINISHED_CYCLES_KEPT, kw_only=True)
    """Finished cycles kept (at least 1); older ones are forgotten with their orders."""
    finished: Retention[str] = attrs.field(init=False)
    """Ids of the finished cycles kept, oldest first."""
    retired: RecentIds[None] = attrs.field(
        init=False, factory=lambda: RecentIds(RETIRED_CYCLE_IDS_KEPT)
    )
    """Ids of the cycles forgotten last (a duplicate opportunity is still refused)."""

    @finished.default
    def _finished_default(self) -> Retention[str]:
        return Retention(self.finished_cycles_kept)

    def known_cycle(self, cycle_id: str) -> bool:
        """True if the cycle is kept, or was forgotten recently (a duplicate)."""
        return cycle_id in self.cycles or cycle_id in self.retired

    def finish(self, cycle: Cycle) -> None:
        """Note that ``cycle`` finished; forget the oldest finished ones beyond the bound."""
        for old_id in self.finished.finish(cycle.id):
            old = self.cycles.pop(old_id, None)
            self.retired.add(old_id, None)
            if old is None:
                continue
            for order in old.orders():
                self.orders.pop(order.cl_ord_id, None)
                self.beliefs.pop(order.cl_ord_id, None)


def correction_detail(
    order: TrackedOrder, belief: Belief, report: ExecutionReport | None
) -> dict[str, object] | None:
    """The audit detail of what reconciliation changed, or None if the belief held.

    Called after the exchange's answer (``report``; None: no record) was applied to
    ``order``. The resolution is ``not_received`` without a record, ``open`` while the order
    still lives, else its terminal state (``filled``, ``cancelled``, ``expired``,
    ``rejected``); ``fills_added`` lists the exec ids learnt since the belief was noted.
    """
    unchanged = (order.state, order.filled_qty) == (belief.state, belief.filled_qty)
    if report is not None and unchanged:
        return None
    if report is None:
        resolution = "not_received"
    elif order.state in _STILL_OPEN:
        resolution = "open"
    else:
        resolution = order.state.value
    return {
        "cl_ord_id": order.cl_ord_id,
        "cycle_id": order.cycle_id,
        "trigger": belief.trigger,
        "believed_state": belief.state.value,
        "believed_filled_qty": belief.filled_qty,
        "exchange_status": report.order_status.value if report is not None else "unknown",
        "exchange_cum_qty": report.cum_qty if report is not None else None,
        "resolution": resolution,
        "state": order.state.value,
        "filled_qty": order.filled_qty,
        "fills_added": [fill.exec_id for fill in order.fills[belief.fills :]],
    }
