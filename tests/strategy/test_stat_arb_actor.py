"""The StatArb actor through actors.testing: trading a mean-reverting pair, modes, the screen."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import structlog.testing
import trio
import trio.testing

import actors
import actors.testing
from arbitrade.market.feeds import GetMarketState, MarketState
from arbitrade.messages import (
    TOPIC_AUDIT,
    TOPIC_BOOK_TOP,
    TOPIC_OPPORTUNITIES,
    AuditEvent,
    ControlChanged,
    CycleFinished,
    Fill,
    InstrumentsLoaded,
    Opportunity,
)
from arbitrade.strategy.stat_arb import (
    ClosePosition,
    GetPairSnapshots,
    PairSnapshot,
    ScreenStatistics,
    StatArb,
    StatArbScreener,
    StatArbSettings,
    forward_inputs,
)

from .stat_builders import INSTRUMENTS, cointegrated_prices, settings, top


async def run_executor(
    bus: actors.Bus, strategy: actors.Ref[Any], seen: list[Any], *, task_status: Any
) -> None:
    """A stand-in executor: fills every intent completely, then reports the cycle finished."""
    with bus.subscribe(TOPIC_OPPORTUNITIES) as intents:
        task_status.started()
        async for intent in intents:
            seen.append(intent)
            opportunity = intent.opportunity if isinstance(intent, ClosePosition) else intent
            now = trio.current_time()
            for index, leg in enumerate(opportunity.legs):
                await strategy.send(
                    Fill(
                        f"{opportunity.id}-{index}",
                        f"{opportunity.id}-{index}",
                        opportunity.id,
                        leg.symbol,
                        leg.side,
                        leg.price,
                        leg.qty,
                        Decimal(0),
                        "USD",
                        "t",
                        now,
                    )
                )
            await strategy.send(
                CycleFinished(opportunity.id, "completed", "USD", Decimal(0), Decimal(0), now)
            )


async def feed(strategy: actors.Ref[Any], count: int, start: int = 0) -> None:
    """Send `count` observations of the cointegrated pair, one virtual second apart."""
    eth, btc = cointegrated_prices(start + count)
    for t in range(start, start + count):
        now = trio.current_time()
        await strategy.send(top("BTC/USD", btc[t], at=now))
        await strategy.send(top("ETH/USD", eth[t], at=now))
        await trio.sleep(1.0)


def strategy_spec(config: StatArbSettings) -> actors.ChildSpec:
    return actors.ChildSpec(
        "stat_arb",
        factory=StatArb,
        args=(config,),
        kwargs={"instruments": INSTRUMENTS, "id_prefix": "t"},
    )


async def test_stat_arb_when_pair_mean_reverts_opens_and_closes_positions(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Fed a mean-reverting pair, the strategy enters, exits and ends with intents paired."""
    config = settings(window=40, zscore_window=20, entry_z=1.5, exit_z=0.3)
    seen: list[Any] = []
    async with actors.testing.open_harness() as harness, trio.open_nursery() as nursery:
        strategy = await harness.start(strategy_spec(config))
        await nursery.start(run_executor, harness.bus, strategy, seen)
        await feed(strategy, 400)
        nursery.cancel_scope.cancel()
    opens = [i for i in seen if isinstance(i, Opportunity)]
    closes = [i for i in seen if isinstance(i, ClosePosition)]
    assert len(opens) >= 2
    assert len(closes) >= len(opens) - 1
    assert {c.reason for c in closes} <= {"exit", "stop", "max_holding"}
    assert all(o.id.startswith("sa-t-") and o.strategy == "stat_arb" for o in opens)


async def test_stat_arb_when_mode_switched_off_under_close_closes_and_audits(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """close policy: a switch to triangular closes open positions and writes an audit row."""
    config = settings(
        window=40, zscore_window=20, entry_z=1.5, exit_z=0.0, stop_z=8, on_mode_switch="close"
    )
    seen: list[Any] = []
    async with actors.testing.open_harness() as harness, trio.open_nursery() as nursery:
        audit = harness.bus.subscribe(TOPIC_AUDIT)
        strategy = await harness.start(strategy_spec(config))
        await nursery.start(run_executor, harness.bus, strategy, seen)
        for chunk in range(20):
            await feed(strategy, 20, start=chunk * 20)
            snapshots = await strategy.ask(GetPairSnapshots())
            if snapshots[0].state == "open":
                break
        assert snapshots[0].state == "open"
        await strategy.send(ControlChanged("strategy_mode", "triangular", "both", "ops", 0.0, 0.0))
        [snapshot] = await strategy.ask(GetPairSnapshots())
        event = audit.receive_nowait()
        nursery.cancel_scope.cancel()
    assert isinstance(seen[-1], ClosePosition)
    assert seen[-1].reason == "mode_switch"
    assert isinstance(event, AuditEvent)
    assert event.kind == "stat_arb.mode_switch"
    assert '"who":"ops"' in event.detail
    assert '"action":"close"' in event.detail
    assert snapshot.state in {"closing", "flat"}


async def test_stat_arb_when_mode_off_under_manage_opens_nothing_new(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """manage policy, mode off from the start: no entry over a whole mean-reverting run."""
    config = settings(window=40, zscore_window=20, entry_z=1.5, exit_z=0.3)
    seen: list[Any] = []
    async with actors.testing.open_harness() as harness, trio.open_nursery() as nursery:
        spec = actors.ChildSpec(
            "stat_arb",
            factory=StatArb,
            args=(config,),
            kwargs={"instruments": INSTRUMENTS, "mode": "triangular"},
        )
        strategy = await harness.start(spec)
        await nursery.start(run_executor, harness.bus, strategy, seen)
        await feed(strategy, 200)
        nursery.cancel_scope.cancel()
    assert seen == []


async def test_stat_arb_when_screen_on_gets_result_from_screener(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The screener sibling screens the window in a thread; its result reaches the pair."""
    config = settings(window=60, zscore_window=20, screen_enabled=True, screen_interval_seconds=5)
    async with actors.testing.open_harness() as harness:
        tree = actors.SupervisorSpec(
            "root",
            [
                actors.ChildSpec(
                    "stat_arb_screen",
                    factory=StatArbScreener.from_settings,
                    args=(config, lambda request: ScreenStatistics(0.01, 10.0, 10.0)),
                ),
                strategy_spec(config),
            ],
        )
        await harness.start_tree(tree)
        strategy = harness.registry.lookup("root/stat_arb")
        await feed(strategy, 70)
        # The screen runs in a real thread; with a zero autojump threshold the virtual clock
        # would race through the polls below (and the harness's shutdown) before it returns.
        autojump_clock.autojump_threshold = 0.05
        snapshot: PairSnapshot | None = None
        for _ in range(100):
            [snapshot] = await strategy.ask(GetPairSnapshots())
            if snapshot.screen_passed is not None:
                break
            await trio.sleep(0.1)
    assert snapshot is not None
    assert snapshot.screen_passed is True


async def test_forward_inputs_when_published_reaches_strategy(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Book tops of the pair's legs go from the bus to the actor; other symbols do not."""
    config = settings()
    async with actors.testing.open_harness() as harness, trio.open_nursery() as nursery:
        probe = harness.probe("root/stat_arb")
        await nursery.start(forward_inputs, harness.bus, probe.ref, config)
        await harness.bus.publish(TOPIC_BOOK_TOP, top("XRP/USD", 0.5))
        await harness.bus.publish(TOPIC_BOOK_TOP, top("ETH/USD", 3000.0))
        received = await probe.expect(object, within=1.0)
        nursery.cancel_scope.cancel()
    assert received.symbol == "ETH/USD"


class _FeedStandIn(actors.Actor[Any]):
    """Answers GetMarketState with the stat-arb instruments and one top per leg."""

    async def receive(self, message: Any) -> object:
        if isinstance(message, GetMarketState):
            universe = InstrumentsLoaded(tuple(INSTRUMENTS.values()), 0.0)
            return MarketState(universe, (top("ETH/USD", 3000.0), top("BTC/USD", 60000.0)))
        return None


async def test_stat_arb_when_started_after_the_feed_catches_up_from_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Without instruments, the strategy asks the book feed for its universe and tops and
    builds its pairs from them (the universe is published only on connect)."""
    spec = actors.ChildSpec(
        "stat_arb", factory=StatArb, args=(settings(),), kwargs={"book_feed": "feed.book"}
    )
    async with actors.testing.open_harness() as harness:
        await harness.start(actors.ChildSpec("feed.book", factory=_FeedStandIn))
        strategy = await harness.start(spec)
        await trio.testing.wait_all_tasks_blocked()
        [snapshot] = await strategy.ask(GetPairSnapshots())
    assert snapshot.pair == "ETH/USD~BTC/USD"
    assert snapshot.observations == 1


async def test_stat_arb_when_the_feed_is_missing_logs_and_waits_for_a_universe(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A book feed that cannot be asked is logged; pairs come with the next universe."""
    spec = actors.ChildSpec(
        "stat_arb", factory=StatArb, args=(settings(),), kwargs={"book_feed": "feed.book"}
    )
    with structlog.testing.capture_logs() as logs:
        async with actors.testing.open_harness() as harness:
            strategy = await harness.start(spec)
            await trio.testing.wait_all_tasks_blocked()
            assert await strategy.ask(GetPairSnapshots()) == ()
            await strategy.send(InstrumentsLoaded(tuple(INSTRUMENTS.values()), 0.0))
            assert len(await strategy.ask(GetPairSnapshots())) == 1
    assert any(log["event"] == "stat_arb.catch_up_failed" for log in logs)
