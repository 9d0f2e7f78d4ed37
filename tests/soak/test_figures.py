"""The soak's plain figures: what the live venue audited, by kind and subject."""

from __future__ import annotations

from arbitrade.messages import AuditEvent
from arbitrade.soak._run import _venue_audit


def test_venue_audit_when_throttled_counts_events_and_occurrences() -> None:
    """A throttled storm shows as its events and the occurrences they stand for."""
    audit = [
        AuditEvent("venue.rest_error", "venue.live", "EAPI:Invalid nonce", '{"count": 1}', 1, 0),
        AuditEvent("venue.rest_error", "venue.live", "EAPI:Invalid nonce", '{"count": 4}', 7, 0),
        AuditEvent("risk.rejected", "risk_gate", "tri-1", "{}", 8, 0),
    ]
    assert _venue_audit(audit) == "rest_error EAPI:Invalid nonce 2 (5)"
    assert _venue_audit([]) == "none"
