"""Matching each fault to its own trace: by kind, subject and time window, never by count.

A fault is seen only through the entry its kind must leave (a feed's or the live venue's
audit kind, a crash of the target, a feed crashed by the drop), inside the window from its
injection to a few seconds after its recovery. Faults that left nothing to notice (a private
stall with nothing due on it) are listed apart.
"""

from __future__ import annotations

from actors import ChildCrashed
from arbitrade.messages import AuditEvent
from arbitrade.soak import FaultKind, FaultRecord, Verdict
from arbitrade.soak._checks import check_visibility
from arbitrade.soak._inject import assign_traces, audit_source, trace_seen


def audit(kind: str, subject: str, at: float) -> AuditEvent:
    return AuditEvent(kind, "root/market/feed.book", subject, "{}", at, 0.0)


def record(kind: FaultKind, target: str = "", *, at: float = 100.0) -> FaultRecord:
    fault = FaultRecord(kind, at, at + 2.0, target)
    fault.recovered_at = at + 3.0
    fault.no_audit_source = audit_source(fault) or ""
    return fault


class TestTraceSeen:
    def test_trace_when_audit_of_its_own_kind_in_window_is_seen(self) -> None:
        """A garbage-frame fault is seen through a ``feed.bad_frame`` after its injection."""
        fault = record(FaultKind.GARBAGE_FRAMES)
        assert trace_seen(fault, [], [audit("feed.bad_frame", "book", 100.5)], 5.0)

    def test_trace_when_frame_reached_the_private_connection_is_seen(self) -> None:
        """A truncated frame that hit the venue's private connection instead of a feed is
        seen through ``venue.bad_frame`` (the venue audits and resyncs)."""
        fault = record(FaultKind.TRUNCATED_FRAMES)
        assert trace_seen(fault, [], [audit("venue.bad_frame", "private", 100.5)], 5.0)

    def test_trace_when_only_another_kind_of_audit_is_unseen(self) -> None:
        """Any audit event is not enough: a risk decision does not show a garbage frame."""
        fault = record(FaultKind.GARBAGE_FRAMES)
        assert not trace_seen(fault, [], [audit("risk.rejected", "tri-1", 100.5)], 5.0)

    def test_trace_when_audit_before_injection_or_after_window_is_unseen(self) -> None:
        """An entry of the right kind outside the window belongs to another fault."""
        fault = record(FaultKind.ACK_DELAY)
        early, late = audit("feed.slow_ack", "ping", 99.0), audit("feed.slow_ack", "ping", 109.0)
        assert not trace_seen(fault, [], [early, late], 5.0)

    def test_trace_when_status_audit_names_another_state_is_unseen(self) -> None:
        """Maintenance is shown by a status audit naming maintenance, not cancel_only."""
        fault = record(FaultKind.MAINTENANCE, "maintenance")
        assert not trace_seen(fault, [], [audit("feed.exchange_status", "cancel_only", 101)], 5)
        assert trace_seen(fault, [], [audit("feed.exchange_status", "maintenance", 101)], 5)

    def test_trace_when_stall_audit_names_the_stalled_channel_is_seen(self) -> None:
        """A stall is matched on its channel."""
        fault = record(FaultKind.STALLED_CHANNEL, "ticker")
        assert not trace_seen(fault, [], [audit("feed.stalled", "book", 101.0)], 5.0)
        assert trace_seen(fault, [], [audit("feed.stalled", "ticker", 101.0)], 5.0)

    def test_trace_when_drop_crashed_a_feed_is_seen(self) -> None:
        """A dropped connection is shown by a feed crashing with ``connection dropped``."""
        fault = record(FaultKind.DROP_CONNECTIONS, "all connections")
        crash = ChildCrashed(
            "root/market/feed.book",
            "feed.book",
            100.2,
            error_message="book feed: connection dropped",
        )
        other = ChildCrashed("root/market/pair_graph", "pair_graph", 100.2, error_message="boom")
        assert not trace_seen(fault, [other], [], 5.0)
        assert trace_seen(fault, [crash], [], 5.0)

    def test_trace_when_rest_error_audited_by_venue_with_its_string_is_seen(self) -> None:
        """A rate-limit fault is seen through the venue's ``venue.rest_error`` naming it."""
        fault = record(FaultKind.RATE_LIMIT_ERRORS)
        assert not fault.no_audit_source
        nonce = audit("venue.rest_error", "EAPI:Invalid nonce", 100.5)
        assert not trace_seen(fault, [], [nonce], 5.0)
        limit = audit("venue.rest_error", "EAPI:Rate limit exceeded", 100.5)
        assert trace_seen(fault, [], [limit], 5.0)

    def test_trace_when_private_stall_audited_by_venue_is_seen(self) -> None:
        """A heartbeat stall is seen through the venue's ``venue.private_stalled``."""
        fault = record(FaultKind.STALLED_CHANNEL, "heartbeat")
        assert trace_seen(fault, [], [audit("venue.private_stalled", "heartbeat", 101.0)], 5.0)

    def test_trace_when_drop_audited_as_venue_down_is_seen(self) -> None:
        """A dropped connection is also shown by the venue auditing its connection down."""
        fault = record(FaultKind.DROP_CONNECTIONS, "all connections")
        assert trace_seen(fault, [], [audit("venue.connection", "down", 100.1)], 5.0)
        assert not trace_seen(fault, [], [audit("venue.connection", "up", 100.1)], 5.0)

    def test_source_when_executions_stall_had_no_order_is_absent(self) -> None:
        """An executions stall with no order sent in it left nothing due: not measurable."""
        fault = FaultRecord(FaultKind.STALLED_CHANNEL, 100.0, 105.0, "executions")
        assert audit_source(fault, [])
        assert audit_source(fault, [104.0])  # too late to be noticed before the stall ended
        assert audit_source(fault, [101.0]) is None

    def test_source_when_heartbeat_stall_saw_orders_is_absent(self) -> None:
        """Heartbeats come only when nothing else does: orders flowing kept it from quiet."""
        fault = FaultRecord(FaultKind.STALLED_CHANNEL, 100.0, 105.0, "heartbeat")
        assert audit_source(fault, [102.0])
        assert audit_source(fault, [90.0]) is None


class TestCheckVisibility:
    def test_check_when_one_fault_unseen_fails_naming_it(self) -> None:
        """An unseen fault with an audit source fails the check."""
        seen, unseen = record(FaultKind.GARBAGE_FRAMES), record(FaultKind.ACK_DELAY)
        seen.visible = True
        (check,) = check_visibility([seen, unseen])
        assert check.verdict is Verdict.FAIL
        assert "ack_delay x1 unseen" in check.detail

    def test_check_when_faults_have_no_audit_source_lists_them_apart(self) -> None:
        """Sourceless faults are a not-measurable line of their own, never a pass."""
        seen = record(FaultKind.GARBAGE_FRAMES)
        seen.visible = True
        quiet = FaultRecord(FaultKind.STALLED_CHANNEL, 100.0, 105.0, "executions")
        quiet.no_audit_source = audit_source(quiet, []) or ""
        main, apart = check_visibility([seen, quiet])
        assert (main.verdict, main.value) == (Verdict.PASS, "1 of 1")
        assert apart.verdict is Verdict.NOT_MEASURABLE
        assert "stalled_channel" in apart.detail


class TestAssignTraces:
    def test_assign_when_two_faults_share_one_entry_only_the_first_is_seen(self) -> None:
        """One audit entry never stands for two faults, however wide the windows."""
        first = record(FaultKind.GARBAGE_FRAMES, at=100.0)
        second = record(FaultKind.TRUNCATED_FRAMES, at=104.0)
        assign_traces([first, second], [], [audit("feed.bad_frame", "book", 105.0)], 30.0)
        assert (first.visible, second.visible) == (True, False)

    def test_assign_when_each_fault_has_its_entry_sees_both(self) -> None:
        """Two entries of the kind serve two faults."""
        first = record(FaultKind.GARBAGE_FRAMES, at=100.0)
        second = record(FaultKind.TRUNCATED_FRAMES, at=104.0)
        entries = [audit("feed.bad_frame", "book", 101.0), audit("feed.bad_frame", "book", 105.0)]
        assign_traces([first, second], [], entries, 30.0)
        assert (first.visible, second.visible) == (True, True)
