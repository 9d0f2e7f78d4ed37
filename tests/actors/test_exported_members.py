"""The public names of ``actors`` and ``actors.testing`` are pinned: add, never rename."""

from __future__ import annotations

import actors
import actors.testing

EXPECTED = {
    "Actor",
    "ActorCrashed",
    "ActorError",
    "ActorNotFound",
    "ActorStopped",
    "AskTimeout",
    "Backoff",
    "Bus",
    "BusStatistics",
    "ChildCrashed",
    "ChildRestarted",
    "ChildSpec",
    "ChildStartFailed",
    "ChildStarted",
    "ChildStopped",
    "Context",
    "DEBUG_ENV",
    "DEFAULT_ASK_TIMEOUT",
    "Intensity",
    "Lossless",
    "LossyLatest",
    "Mailbox",
    "MailboxFull",
    "MailboxStatistics",
    "MutableMessage",
    "NodeInfo",
    "Overflow",
    "RESTART_LOG_TOPIC",
    "Ref",
    "Registry",
    "Restart",
    "RestartLog",
    "Strategy",
    "Subscription",
    "SubscriptionStatistics",
    "SupervisorEscalated",
    "SupervisorEvent",
    "SupervisorGaveUp",
    "SupervisorSpec",
    "System",
    "ThreadActor",
    "ThreadChild",
    "open_system",
    "run_system",
}


def test_exported_members_when_imported_match_the_pinned_list() -> None:
    """Every public name of ``actors`` is in the pinned list, and every pinned name exists."""
    public = {name for name in vars(actors) if not name.startswith("_")}
    public -= {"testing"}
    assert public == EXPECTED


def test_testing_members_when_imported_match_the_pinned_list() -> None:
    """``actors.testing`` exports exactly its documented names."""
    assert set(actors.testing.__all__) == {
        "ExpectationFailed",
        "Harness",
        "InjectedCrash",
        "Probe",
        "open_harness",
    }
    for name in actors.testing.__all__:
        assert hasattr(actors.testing, name)


def test_actors_when_imported_does_not_import_arbitrade() -> None:
    """The runtime knows nothing of trading: no module of ``actors`` imports ``arbitrade``."""
    from pathlib import Path

    root = Path(actors.__file__).parent
    for source in root.rglob("*.py"):
        assert "arbitrade" not in source.read_text(), source
