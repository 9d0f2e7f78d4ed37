"""Supervisor semantics: strategies, restart types, intensity, backoff, start and stop order."""

from __future__ import annotations

from typing import Any

import pytest
import structlog.testing
import trio
import trio.testing

import actors

from .conftest import Boom, Ping, Pong, Recorder, kinds, recorder_spec


def tree(
    *children: actors.ChildSpec | actors.SupervisorSpec, **options: Any
) -> actors.SupervisorSpec:
    return actors.SupervisorSpec("root", children=children, **options)


async def crash(system: actors.System, path: str) -> None:
    """Make the actor at ``path`` raise and wait until its crash is in the restart log."""
    ref = system.registry.lookup(path)
    seen = system.restart_log.total
    await ref.send(Boom())
    while not any(
        isinstance(e, actors.ChildCrashed) and e.path == path
        for e in system.restart_log.events()[seen:]
    ):
        await system.restart_log.wait_for_more(system.restart_log.total)


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


class TestStartAndStop:
    async def test_start_when_tree_starts_children_start_in_order_and_stop_in_reverse(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Children start in spec order and stop in reverse order on exit."""
        journal: list[tuple[str, str]] = []
        spec = tree(*(recorder_spec(journal, n) for n in "abc"))
        async with actors.open_system(spec):
            assert journal == [("start", "a"), ("start", "b"), ("start", "c")]
        assert journal[3:] == [("stop", "c"), ("stop", "b"), ("stop", "a")]

    async def test_start_when_a_child_fails_raises_child_start_failed_and_stops_started_ones(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A failing start stops already-started siblings in reverse and raises one error."""
        journal: list[tuple[str, str]] = []
        spec = tree(
            recorder_spec(journal, "a"),
            recorder_spec(journal, "b"),
            recorder_spec(journal, "c", fail_start=True),
            recorder_spec(journal, "d"),
        )
        with pytest.raises(actors.ChildStartFailed) as caught:
            async with actors.open_system(spec):
                pytest.fail("the body must not run")
        assert caught.value.path == "root/c"
        assert isinstance(caught.value.__cause__, ValueError)
        assert journal == [("start", "a"), ("start", "b"), ("stop", "b"), ("stop", "a")]

    async def test_start_when_nested_child_fails_names_the_innermost_child(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A start failure deep in the tree names the child that failed."""
        journal: list[tuple[str, str]] = []
        inner = actors.SupervisorSpec("inner", [recorder_spec(journal, "x", fail_start=True)])
        with pytest.raises(actors.ChildStartFailed) as caught:
            async with actors.open_system(tree(recorder_spec(journal, "a"), inner)):
                pass
        assert caught.value.path == "root/inner/x"
        assert journal == [("start", "a"), ("stop", "a")]

    async def test_stop_when_child_exceeds_shutdown_timeout_is_cancelled_and_logged_forced(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A child whose stop takes longer than its timeout is cancelled; the log says forced."""
        journal: list[tuple[str, str]] = []
        spec = tree(recorder_spec(journal, "slow", stop_delay=60.0, shutdown_timeout=2.0))
        async with actors.open_system(spec) as system:
            started = trio.current_time()
        assert trio.current_time() - started == pytest.approx(2.0)
        assert ("stopped", "slow") not in journal
        stopped = [e for e in system.restart_log.events() if isinstance(e, actors.ChildStopped)]
        assert stopped[-1].forced

    async def test_stop_when_child_is_busy_finishes_current_message_first(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A graceful stop lets the message being handled finish within the timeout."""
        finished: list[int] = []

        class Slow(actors.Actor[int]):
            async def receive(self, message: int) -> object:
                await trio.sleep(1.0)
                finished.append(message)
                return None

        spec = tree(actors.ChildSpec("slow", factory=Slow, shutdown_timeout=5.0))
        async with actors.open_system(spec) as system:
            await system.registry.lookup("root/slow").send(7)
            await trio.sleep(0.5)
        assert finished == [7]

    async def test_cancel_when_tree_is_cancelled_stops_children_in_reverse(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Cancelling the system's scope (as Ctrl-C does) stops the tree cleanly in reverse."""
        journal: list[tuple[str, str]] = []
        spec = tree(*(recorder_spec(journal, n) for n in "ab"))
        with trio.move_on_after(1.0):
            async with trio.open_nursery() as nursery:
                await nursery.start(actors.run_system, spec)
        assert journal == [("start", "a"), ("start", "b"), ("stop", "b"), ("stop", "a")]

    async def test_stop_when_pending_asks_remain_they_fail_with_actor_stopped(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Asks still queued when an actor stops for good fail at once with ActorStopped."""
        gate = trio.Event()

        class Blocked(actors.Actor[Any]):
            async def receive(self, message: Any) -> object:
                await gate.wait()
                return message

        results: list[object] = []

        async def ask(ref: actors.Ref[Any], n: int) -> None:
            try:
                results.append(await ref.ask(n, timeout=None))
            except actors.ActorStopped as error:
                results.append(type(error))

        spec = tree(actors.ChildSpec("blocked", factory=Blocked, shutdown_timeout=1.0))
        async with trio.open_nursery() as nursery, actors.open_system(spec) as system:
            ref = system.registry.lookup("root/blocked")
            for n in range(3):
                nursery.start_soon(ask, ref, n)
            await settle()
        assert results == [actors.ActorStopped] * 3
        with pytest.raises(actors.ActorStopped):
            await ref.send(1)


class TestStrategies:
    async def test_one_for_one_when_child_crashes_only_it_restarts(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Under one_for_one a crash restarts only the crashed child; siblings keep running."""
        journal: list[tuple[str, str]] = []
        spec = tree(*(recorder_spec(journal, n) for n in "abc"))
        async with actors.open_system(spec) as system:
            await crash(system, "root/b")
            await settle()
            assert journal[3:] == [("stop", "b"), ("start", "b")]
            assert await system.registry.lookup("root/b").ask(Ping(1)) == Pong(1)

    async def test_one_for_all_when_child_crashes_all_restart_in_order(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Under one_for_all the others stop in reverse, then all start in order."""
        journal: list[tuple[str, str]] = []
        spec = tree(
            *(recorder_spec(journal, n) for n in "abc"), strategy=actors.Strategy.ONE_FOR_ALL
        )
        async with actors.open_system(spec) as system:
            await crash(system, "root/b")
            await settle()
            assert journal[3:] == [
                ("stop", "b"),
                ("stop", "c"),
                ("stop", "a"),
                ("start", "a"),
                ("start", "b"),
                ("start", "c"),
            ]

    async def test_rest_for_one_when_child_crashes_it_and_later_ones_restart(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Under rest_for_one the crashed child and those after it restart; earlier ones stay."""
        journal: list[tuple[str, str]] = []
        spec = tree(
            *(recorder_spec(journal, n) for n in "abc"), strategy=actors.Strategy.REST_FOR_ONE
        )
        async with actors.open_system(spec) as system:
            await crash(system, "root/b")
            await settle()
            assert journal[3:] == [("stop", "b"), ("stop", "c"), ("start", "b"), ("start", "c")]


class TestRestartTypes:
    async def test_permanent_when_it_exits_normally_is_restarted(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A permanent child is restarted even after a normal exit."""

        class Quitter(actors.Actor[Any]):
            async def receive(self, message: Any) -> object:
                self.context.stop()
                return None

        spec = tree(actors.ChildSpec("q", factory=Quitter, restart=actors.Restart.PERMANENT))
        async with actors.open_system(spec) as system:
            await system.registry.lookup("root/q").send("quit")
            await settle()
        assert "ChildRestarted" in [name for name, _ in kinds(system.restart_log.events())]

    async def test_transient_when_it_exits_normally_is_not_restarted(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A transient child that exits normally stays stopped and its ref says so."""

        class Quitter(actors.Actor[Any]):
            async def receive(self, message: Any) -> object:
                self.context.stop()
                return None

        spec = tree(actors.ChildSpec("q", factory=Quitter, restart=actors.Restart.TRANSIENT))
        async with actors.open_system(spec) as system:
            ref = system.registry.lookup("root/q")
            await ref.send("quit")
            await settle()
            with pytest.raises(actors.ActorStopped):
                await ref.send("again")
        names = [name for name, _ in kinds(system.restart_log.events())]
        assert "ChildRestarted" not in names
        assert names.count("ChildStopped") == 1

    async def test_transient_when_it_crashes_is_restarted(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A transient child that crashes is restarted."""
        journal: list[tuple[str, str]] = []
        spec = tree(recorder_spec(journal, "t", restart=actors.Restart.TRANSIENT))
        async with actors.open_system(spec) as system:
            await crash(system, "root/t")
            await settle()
            assert journal == [("start", "t"), ("stop", "t"), ("start", "t")]

    async def test_temporary_when_it_crashes_is_not_restarted(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A temporary child's crash is logged and it stays stopped."""
        journal: list[tuple[str, str]] = []
        spec = tree(recorder_spec(journal, "t", restart=actors.Restart.TEMPORARY))
        async with actors.open_system(spec) as system:
            await crash(system, "root/t")
            await settle()
            assert journal == [("start", "t"), ("stop", "t")]
            assert [n for n, _ in kinds(system.restart_log.events())] == [
                "ChildStarted",
                "ChildCrashed",
                "ChildStopped",
            ]


class TestIntensity:
    async def test_intensity_when_exceeded_raises_one_supervisor_gave_up(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """More than max_restarts within the window: children stop, SupervisorGaveUp raises."""
        journal: list[tuple[str, str]] = []
        spec = tree(
            recorder_spec(journal, "a"),
            recorder_spec(journal, "b"),
            intensity=actors.Intensity(max_restarts=2, within=10.0),
        )

        async def crash_b_three_times() -> None:
            async with actors.open_system(spec) as system:
                for _ in range(3):
                    await crash(system, "root/b")
                    await settle()
                await trio.sleep_forever()

        with (
            structlog.testing.capture_logs() as logs,
            pytest.raises(actors.SupervisorGaveUp) as caught,
        ):
            await crash_b_three_times()
        assert isinstance(caught.value.__cause__, RuntimeError)
        assert caught.value.path == "root"
        assert journal[-3:] == [("start", "b"), ("stop", "b"), ("stop", "a")]
        levels = {entry["event"]: entry["log_level"] for entry in logs}
        assert levels["actor.crashed"] == "warning"
        assert levels["supervisor.escalated"] == "error"

    async def test_intensity_when_restarts_are_spread_out_never_gives_up(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Restarts older than the window no longer count."""
        journal: list[tuple[str, str]] = []
        spec = tree(
            recorder_spec(journal, "a"), intensity=actors.Intensity(max_restarts=1, within=1.0)
        )
        async with actors.open_system(spec) as system:
            for _ in range(5):
                await crash(system, "root/a")
                await trio.sleep(1.5)
            assert await system.registry.lookup("root/a").ask(Ping(3)) == Pong(3)

    async def test_intensity_when_nested_supervisor_gives_up_parent_restarts_it(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A nested supervisor's escalation is a crash of that child for its parent."""
        journal: list[tuple[str, str]] = []
        inner = actors.SupervisorSpec(
            "inner", [recorder_spec(journal, "x")], intensity=actors.Intensity(0, 5.0)
        )
        async with actors.open_system(tree(inner)) as system:
            await crash(system, "root/inner/x")
            await settle()
            names = kinds(system.restart_log.events())
            assert ("SupervisorEscalated", "root/inner") in names
            assert ("ChildRestarted", "root/inner") in names
            assert await system.registry.lookup("root/inner/x").ask(Ping(1)) == Pong(1)


class TestBackoff:
    async def test_backoff_when_child_keeps_crashing_waits_exponentially(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Restart delays double from ``initial`` up to ``maximum`` (no jitter here)."""
        journal: list[tuple[str, str]] = []
        backoff = actors.Backoff(initial=0.5, maximum=2.0, jitter=0.0)
        spec = tree(
            recorder_spec(journal, "net", backoff=backoff),
            intensity=actors.Intensity(max_restarts=10, within=60.0),
        )
        async with actors.open_system(spec) as system:
            for _ in range(4):
                await crash(system, "root/net")
                await settle()
                await trio.sleep(5.0)
        delays = [
            round(e.backoff, 6)
            for e in system.restart_log.events()
            if isinstance(e, actors.ChildRestarted)
        ]
        assert delays == [0.5, 1.0, 2.0, 2.0]
        crashed = [e.at for e in system.restart_log.events() if isinstance(e, actors.ChildCrashed)]
        restarted = [
            e.at for e in system.restart_log.events() if isinstance(e, actors.ChildRestarted)
        ]
        assert [round(r - c, 6) for c, r in zip(crashed, restarted, strict=True)] == delays

    async def test_backoff_when_jitter_is_set_stays_within_bounds(self) -> None:
        """Jitter scales the delay by a factor within [1 - jitter, 1 + jitter]."""
        import random

        backoff = actors.Backoff(initial=1.0, maximum=8.0, jitter=0.25)
        rng = random.Random(7)
        for attempt in range(6):
            base = min(8.0, 2.0**attempt)
            assert 0.75 * base <= backoff.delay(attempt, rng) <= 1.25 * base

    async def test_backoff_when_waiting_messages_queue_for_the_next_incarnation(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A ref stays valid while its actor waits to restart; messages wait in the mailbox."""
        spec = tree(
            actors.ChildSpec(
                "e", factory=Recorder, args=([], "e"), backoff=actors.Backoff(1.0, jitter=0)
            )
        )
        async with actors.open_system(spec) as system:
            ref = system.registry.lookup("root/e")
            await crash(system, "root/e")
            asked = trio.current_time()
            assert await ref.ask(Ping(9)) == Pong(9)
            assert trio.current_time() - asked == pytest.approx(1.0)


class TestRestartLog:
    async def test_restart_log_when_child_crashes_is_published_on_the_bus(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Every restart-log event is published on RESTART_LOG_TOPIC, crash fields included."""
        journal: list[tuple[str, str]] = []
        async with actors.open_system(tree(recorder_spec(journal, "a"))) as system:
            with system.bus.subscribe(actors.RESTART_LOG_TOPIC) as events:
                await crash(system, "root/a")
                await settle()
                crashed = events.receive_nowait()
                restarted = events.receive_nowait()
        assert isinstance(crashed, actors.ChildCrashed)
        assert (crashed.error_type, crashed.error_message, crashed.name) == (
            "RuntimeError",
            "boom",
            "a",
        )
        assert crashed.location.endswith("in receive")
        assert isinstance(restarted, actors.ChildRestarted)
        assert restarted.restart_count == 1

    async def test_registry_when_snapshot_taken_lists_tree_with_status(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The registry snapshot shows every node, its kind, status and restarts."""
        journal: list[tuple[str, str]] = []
        inner = actors.SupervisorSpec("inner", [recorder_spec(journal, "x")])
        async with actors.open_system(tree(recorder_spec(journal, "a"), inner)) as system:
            await crash(system, "root/a")
            await settle()
            nodes = {node.path: node for node in system.registry.snapshot()}
        assert set(nodes) == {"root", "root/a", "root/inner", "root/inner/x"}
        assert nodes["root/a"].restarts == 1
        assert nodes["root/a"].status == "running"
        assert nodes["root/inner"].kind == "supervisor"
        assert nodes["root/a"].mailbox is not None


class TestCancellationDuringStart:
    async def test_cancel_when_a_child_is_still_starting_stops_started_ones_and_returns(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Cancelling while a child's on_start runs cancels it and stops those started before."""
        journal: list[tuple[str, str]] = []

        class SlowStart(actors.Actor[Any]):
            async def on_start(self) -> None:
                journal.append(("starting", "slow"))
                await trio.sleep(100.0)

        spec = tree(recorder_spec(journal, "a"), actors.ChildSpec("slow", factory=SlowStart))
        with trio.move_on_after(1.0):
            async with actors.open_system(spec):
                pytest.fail("the tree never finished starting")
        assert journal == [("start", "a"), ("starting", "slow"), ("stop", "a")]
        assert trio.current_time() == pytest.approx(1.0)


class TestEntryPoints:
    async def test_run_system_when_started_in_a_nursery_gives_the_system_and_stops_on_request(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """``nursery.start(run_system, tree)`` returns the System; ``stop()`` ends it in order."""
        journal: list[tuple[str, str]] = []
        async with trio.open_nursery() as nursery:
            system = await nursery.start(actors.run_system, tree(recorder_spec(journal, "a")))
            assert isinstance(system, actors.System)
            assert await system.registry.lookup("root/a").ask(Ping(1)) == Pong(1)
            system.stop()
        assert journal == [("start", "a"), ("stop", "a")]

    async def test_open_system_when_body_raises_stops_tree_and_raises_the_plain_error(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An error in the body comes out as itself (no exception group), after the stop."""
        journal: list[tuple[str, str]] = []
        with pytest.raises(KeyError):
            async with actors.open_system(tree(recorder_spec(journal, "a"))):
                raise KeyError("body")
        assert journal == [("start", "a"), ("stop", "a")]

    async def test_context_when_actor_logs_binds_its_path(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """``context.log`` is a structlog logger bound to the actor's path."""

        class Talker(actors.Actor[Any]):
            async def receive(self, message: Any) -> object:
                self.context.log.info("talker.heard", message=message)
                return None

        with structlog.testing.capture_logs() as logs:
            async with actors.open_system(tree(actors.ChildSpec("t", factory=Talker))) as system:
                await system.registry.lookup("root/t").ask("hi")
        heard = [entry for entry in logs if entry["event"] == "talker.heard"]
        assert heard == [
            {"event": "talker.heard", "message": "hi", "actor": "root/t", "log_level": "info"}
        ]
