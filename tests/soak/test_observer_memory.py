"""The soak's observer lives in the bot's process: what it keeps must not grow its RSS."""

from __future__ import annotations

from arbitrade.messages import AuditEvent
from arbitrade.soak._observe import RECENT_SECONDS, Observer


def _audit(kind: str, at: float) -> AuditEvent:
    return AuditEvent(kind, "root/x", "s", "{}", at, 0.0)


def test_on_audit_when_risk_decides_counts_without_keeping() -> None:
    """Risk decisions (one per opportunity) are counted, not kept; fault traces are kept."""
    observer = Observer(clock=lambda: 0.0)
    for at in range(1000):
        observer.on_audit(_audit("risk.rejected", float(at)))
    observer.on_audit(_audit("feed.bad_frame", 5.0))
    observer.on_audit(_audit("risk.accepted", 6.0))
    assert [e.kind for e in observer.audit] == ["feed.bad_frame"]
    assert observer.audit_counts == {"risk.rejected": 1000, "feed.bad_frame": 1, "risk.accepted": 1}


def test_on_opportunity_when_older_than_recent_window_is_forgotten() -> None:
    """Only the recent opportunities stay (the checks read the last minute)."""
    now = [0.0]
    observer = Observer(clock=lambda: now[0])
    for second in range(0, 3000, 10):
        now[0] = float(second)
        observer.on_opportunity(None)  # type: ignore[arg-type]
    assert min(observer.opportunity_times) >= now[0] - RECENT_SECONDS
    assert len(observer.opportunity_times) == RECENT_SECONDS / 10 + 1
