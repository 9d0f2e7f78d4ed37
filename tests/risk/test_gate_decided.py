"""The gate's memory of decided opportunity ids: bounded by time, and never a second cycle.

Found by the 30-minute soak's memory check (issue 13): remembered by count only (100,000),
the ids of ~70k opportunities an hour grew the gate by ~15 MB over its first 90 minutes.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from arbitrade.messages import (
    Opportunity,
    RiskAccepted,
    RiskRejected,
)
from arbitrade.risk import RiskGateCore, RiskSettings
from arbitrade.risk._gate import DECIDED_HORIZON_SECONDS
from tests.risk.builders import finished, funded_gate, make_opportunity

WALL = 1_790_000_000.0


def test_replay_when_within_horizon_is_a_duplicate() -> None:
    """An id decided a minute ago and finished since is still refused as a duplicate."""
    gate = funded_gate()
    assert isinstance(gate.decide(make_opportunity(), now=100.0, wall=WALL).verdict, RiskAccepted)
    gate.on_cycle_finished(finished("opp-1"), now=101.0, wall=WALL)
    decision = gate.decide(make_opportunity(), now=160.0, wall=WALL)
    assert isinstance(decision.verdict, RiskRejected)
    assert decision.verdict.reason == "duplicate"


def test_replay_when_past_horizon_is_refused_as_stale() -> None:
    """Forgotten after the horizon, a replayed id is still refused: its books are too old."""
    gate = funded_gate()
    assert isinstance(gate.decide(make_opportunity(), now=100.0, wall=WALL).verdict, RiskAccepted)
    gate.on_cycle_finished(finished("opp-1"), now=101.0, wall=WALL)
    later = 100.0 + DECIDED_HORIZON_SECONDS + 1.0
    gate.decide(make_opportunity(id="opp-2", detected_at=later), now=later, wall=WALL)
    assert gate.decided_ids_kept == 1  # opp-1 forgotten
    decision = gate.decide(make_opportunity(), now=later, wall=WALL)
    assert isinstance(decision.verdict, RiskRejected)
    assert decision.verdict.reason == "stale_book"


def test_replay_when_cycle_still_open_is_a_duplicate_past_horizon() -> None:
    """A cycle still trading keeps its id refused, however long ago it was decided."""
    gate = funded_gate()
    assert isinstance(gate.decide(make_opportunity(), now=100.0, wall=WALL).verdict, RiskAccepted)
    later = 100.0 + 2 * DECIDED_HORIZON_SECONDS
    gate.decide(make_opportunity(id="opp-2", detected_at=later), now=later, wall=WALL)
    decision = gate.decide(make_opportunity(detected_at=later), now=later, wall=WALL)
    assert isinstance(decision.verdict, RiskRejected)
    assert decision.verdict.reason == "duplicate"


def test_ids_kept_when_one_a_second_are_the_horizon_s_worth() -> None:
    """A steady stream keeps only the last horizon's ids: flat memory, not 100,000."""
    gate = RiskGateCore(RiskSettings())  # unfunded: every decision a rejection, still noted
    seconds = int(DECIDED_HORIZON_SECONDS)
    for n in range(3 * seconds):
        at = 1_000.0 + n
        gate.decide(make_opportunity(id=f"opp-{n}", detected_at=at), now=at, wall=WALL)
    assert gate.decided_ids_kept == seconds + 1  # [now - horizon, now], both ends kept


def test_horizon_when_book_age_limit_is_long_follows_it() -> None:
    """A book-age limit beyond half the horizon stretches the memory to twice that limit."""
    gate = RiskGateCore(RiskSettings(max_book_age_seconds=DECIDED_HORIZON_SECONDS))
    for n in range(2 * int(DECIDED_HORIZON_SECONDS) + 50):
        at = 1_000.0 + n
        gate.decide(make_opportunity(id=f"opp-{n}", detected_at=at), now=at, wall=WALL)
    assert gate.decided_ids_kept == 2 * int(DECIDED_HORIZON_SECONDS) + 1


steps = st.lists(
    st.tuples(
        st.integers(0, 4),  # which opportunity (a repeat is a replay of the same message)
        st.floats(0.0, 2 * DECIDED_HORIZON_SECONDS),  # time since the last step
        st.floats(0.0, 3.0),  # a new opportunity was detected this long before now
        st.booleans(),  # finish that id's cycle first
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_id_when_replayed_at_any_time_is_accepted_at_most_once(
    plan: list[tuple[int, float, float, bool]],
) -> None:
    """Whatever the replays and the gaps between them, no opportunity becomes a second cycle.
    A replay is the same immutable message: same id, same detection time."""
    gate = funded_gate(max_open_cycles=10)
    messages: dict[int, Opportunity] = {}
    accepted: list[str] = []
    now = 100.0
    for which, gap, lag, finish in plan:
        now += gap
        opportunity = messages.setdefault(
            which, make_opportunity(id=f"opp-{which}", detected_at=now - lag)
        )
        if finish:
            gate.on_cycle_finished(finished(opportunity.id), now=now, wall=WALL)
        if isinstance(gate.decide(opportunity, now=now, wall=WALL).verdict, RiskAccepted):
            accepted.append(opportunity.id)
    assert len(accepted) == len(set(accepted))
