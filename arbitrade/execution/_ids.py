"""Deterministic client order ids: the same order always gets the same ``cl_ord_id``.

An id is a UUID (Kraken accepts UUIDs as ``cl_ord_id``) derived from the cycle id, the
order's role and its index, so a resubmission after a disconnect, or a replay of the same
opportunity in a backtest, names the very same order, and the venue can refuse to place it
twice. A cycle id is the id of the opportunity it trades.
"""

from __future__ import annotations

import hashlib
from typing import Final

NAMESPACE: Final = b"arbitrade.cl_ord_id.v1/"


def client_order_id(cycle_id: str, role: str, index: int) -> str:
    """The ``cl_ord_id`` of order ``index`` of ``role`` ('leg' or 'unwind<n>') in a cycle.

    A 128-bit BLAKE2b digest of the three, laid out as a version-5-shaped UUID string
    (BLAKE2b because it is several times cheaper than ``uuid.uuid5``'s SHA-1 on the hot path).
    """
    digest = hashlib.blake2b(
        NAMESPACE + f"{cycle_id}/{role}/{index}".encode(), digest_size=16
    ).hexdigest()
    variant = "89ab"[int(digest[16], 16) & 3]
    return f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:]}"
