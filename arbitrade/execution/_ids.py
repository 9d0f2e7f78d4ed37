"""Deterministic client order ids: the same order always gets the same ``cl_ord_id``.

An id is a UUID (Kraken accepts UUIDs as ``cl_ord_id``) derived from the cycle id, the
order's role and its index, so a resubmission after a disconnect, or a replay of the same
opportunity in a backtest, names the very same order, and the venue can refuse to place it
twice. A cycle id is the id of the opportunity it trades.
"""

from __future__ import annotations

import uuid
from typing import Final

NAMESPACE: Final = uuid.UUID("5b0f3c7e-6a8d-4f2b-9c1e-7d2a4e6b8f10")


def client_order_id(cycle_id: str, role: str, index: int) -> str:
    """The ``cl_ord_id`` of order ``index`` of ``role`` ('leg' or 'unwind<n>') in a cycle."""
    return str(uuid.uuid5(NAMESPACE, f"{cycle_id}/{role}/{index}"))
