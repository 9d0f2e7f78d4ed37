"""Book health at the risk gate: legs whose books the feed does not call live are refused.

The check alone (pure), the gate's core (unknown, then stale, then live again; closes), what
a starting gate makes of the book feed's answers, and the actor through ``actors.testing``:
states published on the bus reach it, rejections are audited, a starting gate catches up.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import structlog.testing
import trio
import trio.testing

import actors.testing
from actors import Actor, ChildSpec, Lossless, SupervisorSpec
from arbitrade.components import load_components
from arbitrade.engines import engine_tree
from arbitrade.execution import ScriptedVenue, silent
from arbitrade.market.feeds import FeedLag, GetFeedLag, GetMarketState, MarketState
from arbitrade.market.wiring import BOOK_FEED
from arbitrade.messages import (
    TOPIC_AUDIT,
    TOPIC_BOOK_STATE,
    TOPIC_RISK_DECISIONS,
    AuditEvent,
    BookHealth,
    BookStateChanged,
    BookTop,
    Instrument,
    InstrumentsLoaded,
    PortfolioSnapshot,
    RiskAccepted,
    RiskRejected,
)
from arbitrade.risk import (
    BookStates,
    GetRiskView,
    RejectReason,
    RiskGate,
    RiskGateCore,
    RiskSettings,
    RiskView,
    caught_up_states,
    evaluate,
)
from arbitrade.risk._checks import CLOSE_CHECKS
from arbitrade.strategy._stat_messages import ClosePosition
from tests.risk.builders import RICH_BALANCES, make_opportunity

D = Decimal
WALL = 1_790_000_000.0
SETTINGS = RiskSettings()
SNAPSHOT = PortfolioSnapshot(RICH_BALANCES, D(0), D(0), "USD", 0.0, WALL)
SYMBOLS = ("BTC/USD", "ETH/BTC", "ETH/USD")
"""The default opportunity's legs, in order."""


def state(symbol: str, health: BookHealth, reason: str = "", at: float = 90.0) -> BookStateChanged:
    return BookStateChanged(symbol, health, reason or health.value, at)


def view(*states: BookStateChanged, now: float = 100.0) -> RiskView:
    """A view in which the default opportunity passes every check but the books'."""
    return RiskView(
        now=now,
        available=dict(RICH_BALANCES),
        book_states={change.symbol: change for change in states},
    )


def funded_core() -> RiskGateCore:
    core = RiskGateCore(SETTINGS)
    core.on_portfolio(SNAPSHOT)
    return core


def instrument(symbol: str) -> Instrument:
    base, quote = symbol.split("/")
    return Instrument(
        symbol=symbol,
        base=base,
        quote=quote,
        price_precision=2,
        qty_precision=8,
        price_increment=D("0.01"),
        qty_increment=D("0.00000001"),
        qty_min=D("0.0001"),
        cost_min=D("0.5"),
        status="online",
    )


def top(symbol: str) -> BookTop:
    return BookTop(symbol, ((100, 1),), ((101, 1),), 2, 8, 50.0, 0)


UNIVERSE = InstrumentsLoaded(tuple(instrument(symbol) for symbol in SYMBOLS), 1.0)


class TestBooksLiveCheck:
    def test_books_live_when_every_leg_live_passes(self) -> None:
        """Live books on every leg pass."""
        states = [state(symbol, BookHealth.LIVE) for symbol in SYMBOLS]
        assert evaluate(make_opportunity(), view(*states), SETTINGS) is None

    def test_books_live_when_no_state_seen_passes(self) -> None:
        """A book the feed never announced is allowed (unit tests and scripted venues)."""
        assert evaluate(make_opportunity(), view(), SETTINGS) is None

    @pytest.mark.parametrize(
        ("health", "cause"),
        [
            pytest.param(BookHealth.STALE, "feed lagging", id="stale"),
            pytest.param(BookHealth.RESYNCING, "checksum mismatch", id="resyncing"),
        ],
    )
    def test_books_live_when_a_leg_not_live_rejects_naming_leg_symbol_and_state(
        self, health: BookHealth, cause: str
    ) -> None:
        """The first leg whose book is not live is named with its symbol, health and cause."""
        states = (state("BTC/USD", BookHealth.LIVE), state("ETH/BTC", health, cause, at=97.5))
        rejection = evaluate(make_opportunity(), view(*states), SETTINGS)
        assert rejection is not None
        assert rejection.reason is RejectReason.BOOK_NOT_LIVE
        assert dict(rejection.numbers) == {
            "leg": "1",
            "symbol": "ETH/BTC",
            "health": health.value,
            "cause": cause,
            "since_s": "2.5",
        }

    def test_books_live_when_book_also_old_reports_not_live_first(self) -> None:
        """The feed's word on a book is more fundamental than its age: it is checked first."""
        opportunity = make_opportunity(book_ages=(9.0, 9.0, 9.0))
        rejection = evaluate(opportunity, view(state("ETH/USD", BookHealth.STALE)), SETTINGS)
        assert rejection is not None
        assert rejection.reason is RejectReason.BOOK_NOT_LIVE

    def test_books_live_when_kill_switch_engaged_reports_kill_switch_first(self) -> None:
        """The kill switch still wins over every other reason."""
        risk_view = RiskView(
            now=100.0, kill_switch=True, book_states={"BTC/USD": state("BTC/USD", BookHealth.STALE)}
        )
        rejection = evaluate(make_opportunity(), risk_view, SETTINGS)
        assert rejection is not None
        assert rejection.reason is RejectReason.KILL_SWITCH

    def test_books_live_when_closing_on_stale_book_rejects(self) -> None:
        """Closes are not exempt: a close priced on a stale book is refused too (ADR 15)."""
        rejection = evaluate(
            make_opportunity(), view(state("BTC/USD", BookHealth.STALE)), SETTINGS, CLOSE_CHECKS
        )
        assert rejection is not None
        assert rejection.reason is RejectReason.BOOK_NOT_LIVE


class TestCore:
    def test_decide_when_unknown_then_stale_then_live_rejects_only_while_stale(self) -> None:
        """Unknown passes, stale is refused, live again passes: the latest state decides."""
        core = funded_core()
        first = core.decide(make_opportunity(id="a"), now=100.0, wall=WALL)
        core.on_book_state(state("ETH/USD", BookHealth.STALE, "feed lagging", at=100.5))
        second = core.decide(make_opportunity(id="b", detected_at=101.0), now=101.0, wall=WALL)
        core.on_book_state(state("ETH/USD", BookHealth.LIVE, "caught up", at=101.5))
        third = core.decide(make_opportunity(id="c", detected_at=102.0), now=102.0, wall=WALL)
        assert first.accepted
        assert third.accepted
        assert isinstance(second.verdict, RiskRejected)
        assert second.verdict.reason == "book_not_live"

    def test_decide_when_book_not_live_audits_leg_symbol_and_state(self) -> None:
        """The rejection's audit row carries the reason, the leg, its symbol and state."""
        core = funded_core()
        core.on_book_state(state("ETH/BTC", BookHealth.RESYNCING, "checksum mismatch", at=99.0))
        decision = core.decide(make_opportunity(), now=100.0, wall=WALL)
        assert decision.audit.kind == "risk.rejected"
        detail = json.loads(decision.audit.detail)
        assert (detail["reason"], detail["leg"], detail["symbol"], detail["health"]) == (
            "book_not_live",
            "1",
            "ETH/BTC",
            "resyncing",
        )
        assert detail["cause"] == "checksum mismatch"

    def test_decide_when_closing_on_resyncing_book_rejects_then_passes_once_live(self) -> None:
        """A close waits for a live book; once the book is live the close goes through."""
        core = funded_core()
        core.on_book_state(state("BTC/USD", BookHealth.RESYNCING))
        refused = core.decide(make_opportunity(id="close-1"), 100.0, WALL, closing=True)
        core.on_book_state(state("BTC/USD", BookHealth.LIVE, at=100.2))
        retried = core.decide(make_opportunity(id="close-2"), 100.5, WALL, closing=True)
        assert isinstance(refused.verdict, RiskRejected)
        assert refused.verdict.reason == "book_not_live"
        assert retried.accepted

    def test_view_when_deciding_holds_only_the_legs_books(self) -> None:
        """A decision's view carries the states of its own legs' books, not every book."""
        core = funded_core()
        core.on_book_state(state("XRP/USD", BookHealth.STALE))
        core.on_book_state(state("BTC/USD", BookHealth.LIVE))
        decided = core.view(100.0, WALL, make_opportunity())
        assert set(decided.book_states) == {"BTC/USD"}
        assert set(core.view(100.0, WALL).book_states) == {"XRP/USD", "BTC/USD"}


class TestCatchUp:
    def test_catch_up_when_book_already_announced_keeps_the_announcement(self) -> None:
        """The bus's word is at least as new as the feed's answer: only unknown books fill."""
        books = BookStates()
        books.apply(state("BTC/USD", BookHealth.LIVE, "caught up"))
        filled = books.catch_up([state(s, BookHealth.STALE) for s in SYMBOLS])
        assert filled == 2
        assert books.of(SYMBOLS)["BTC/USD"].health is BookHealth.LIVE
        assert set(books.not_live()) == {"ETH/BTC", "ETH/USD"}

    def test_caught_up_states_when_feed_lagging_makes_the_universe_stale(self) -> None:
        """A lagging feed holds every book stale until it announces them live again."""
        market = MarketState(UNIVERSE, ())
        states = caught_up_states(market, FeedLag(lag=4.0, lagging=True), at=7.0)
        assert [(s.symbol, s.health, s.at) for s in states] == [
            (symbol, BookHealth.STALE, 7.0) for symbol in SYMBOLS
        ]

    def test_caught_up_states_when_feed_current_makes_its_tops_live_only(self) -> None:
        """A current feed's live books are live; books without a top stay unknown."""
        market = MarketState(UNIVERSE, (top("BTC/USD"),))
        for lag in (FeedLag(), None):
            states = caught_up_states(market, lag, at=7.0)
            assert [(s.symbol, s.health) for s in states] == [("BTC/USD", BookHealth.LIVE)]


class Gate:
    """A RiskGate under the harness with a probe executor and taps on its outputs."""

    def __init__(self, harness: actors.testing.Harness) -> None:
        self.harness = harness
        self.executor = harness.probe("root/executor")
        self.decisions = harness.bus.subscribe(TOPIC_RISK_DECISIONS, Lossless(1000))
        self.audit = harness.bus.subscribe(TOPIC_AUDIT, Lossless(1000))

    async def start(self, **kwargs: Any) -> None:
        spec = ChildSpec(
            "risk_gate",
            factory=RiskGate,
            args=(SETTINGS,),
            kwargs={"wall_clock": lambda: WALL, **kwargs},
        )
        self.ref = await self.harness.start(spec)
        await self.ref.send(SNAPSHOT)

    async def decide(self, message: Any) -> RiskAccepted | RiskRejected:
        """Send ``message`` (an opportunity or a close) and return the gate's verdict."""
        await self.ref.send(message)
        with trio.fail_after(1):
            verdict: RiskAccepted | RiskRejected = await self.decisions.receive()
            return verdict

    async def audit_row(self, subject: str) -> AuditEvent:
        with trio.fail_after(1):
            while True:
                event: AuditEvent = await self.audit.receive()
                if event.subject == subject:
                    return event

    async def wait_for_books(self, count: int) -> RiskView:
        """The gate's view once it knows ``count`` books (its catch-up is a linked task)."""
        with trio.fail_after(30):
            while True:
                risk_view: RiskView = await self.ref.ask(GetRiskView())
                if len(risk_view.book_states) >= count:
                    return risk_view
                await trio.sleep(0.01)


def now_opportunity(**changes: Any) -> Any:
    return make_opportunity(**{"detected_at": trio.current_time(), **changes})


def feed_reply(market: MarketState, lag: FeedLag) -> Any:
    def reply(message: object) -> object:
        if isinstance(message, GetMarketState):
            return market
        if isinstance(message, GetFeedLag):
            return lag
        return None

    return reply


class HeldFeed(Actor[Any]):
    """A book feed whose answers wait until the test releases them."""

    def __init__(self, market: MarketState, lag: FeedLag, release: trio.Event) -> None:
        self.market, self.lag, self.release = market, lag, release

    async def receive(self, message: Any) -> object:
        await self.release.wait()
        if isinstance(message, GetMarketState):
            return self.market
        if isinstance(message, GetFeedLag):
            return self.lag
        return None


class TestGateActor:
    async def test_opportunity_when_leg_announced_stale_rejects_and_audits(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A STALE state on the bus for one leg: the next opportunity is refused, audited."""
        async with actors.testing.open_harness() as harness:
            gate = Gate(harness)
            await gate.start()
            stale = BookStateChanged("ETH/USD", BookHealth.STALE, "feed lagging", 0.0)
            await harness.bus.publish(TOPIC_BOOK_STATE, stale)
            verdict = await gate.decide(now_opportunity(id="probe"))
            assert isinstance(verdict, RiskRejected)
            assert (verdict.reason, json.loads(verdict.detail)["symbol"]) == (
                "book_not_live",
                "ETH/USD",
            )
            detail = json.loads((await gate.audit_row("probe")).detail)
            assert (detail["reason"], detail["leg"], detail["health"]) == (
                "book_not_live",
                "2",
                "stale",
            )

    async def test_opportunity_when_leg_live_again_goes_to_executor(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """After the feed announces the book LIVE again, opportunities pass."""
        async with actors.testing.open_harness() as harness:
            gate = Gate(harness)
            await gate.start()
            for health in (BookHealth.STALE, BookHealth.LIVE):
                change = BookStateChanged("ETH/USD", health, health.value, trio.current_time())
                await harness.bus.publish(TOPIC_BOOK_STATE, change)
            verdict = await gate.decide(now_opportunity(id="after"))
            assert isinstance(verdict, RiskAccepted)
            await gate.executor.expect(RiskAccepted)

    async def test_close_when_leg_resyncing_rejects_then_passes_once_live(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A stat-arb close is not exempt: it waits for the book to be live (ADR 15)."""
        async with actors.testing.open_harness() as harness:
            gate = Gate(harness)
            await gate.start()
            resync = BookStateChanged("BTC/USD", BookHealth.RESYNCING, "checksum mismatch", 0.0)
            await harness.bus.publish(TOPIC_BOOK_STATE, resync)
            opportunity = now_opportunity(id="close-1", strategy="stat_arb")
            close = ClosePosition(opportunity, "BTC/USD~ETH/USD", "p-1", "exit")
            refused = await gate.decide(close)
            live = BookStateChanged("BTC/USD", BookHealth.LIVE, "snapshot", trio.current_time())
            await harness.bus.publish(TOPIC_BOOK_STATE, live)
            retried = await gate.decide(
                ClosePosition(
                    now_opportunity(id="close-2", strategy="stat_arb"), "p", "p-1", "exit"
                )
            )
            assert isinstance(refused, RiskRejected)
            assert refused.reason == "book_not_live"
            assert isinstance(retried, RiskAccepted)

    async def test_start_when_feed_lagging_catches_up_and_rejects(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A gate started while the feed lags learns it from the feed and refuses its books."""
        async with actors.testing.open_harness() as harness:
            market = MarketState(UNIVERSE, ())
            harness.probe("root/feed.book", reply=feed_reply(market, FeedLag(lagging=True)))
            gate = Gate(harness)
            with structlog.testing.capture_logs() as logs:
                await gate.start(book_feed="feed.book")
                await gate.wait_for_books(len(SYMBOLS))
            verdict = await gate.decide(now_opportunity())
            assert isinstance(verdict, RiskRejected)
            assert verdict.reason == "book_not_live"
            caught = [entry for entry in logs if entry["event"] == "risk_gate.books_caught_up"]
            assert caught[0]["filled"] == len(SYMBOLS)

    async def test_restart_when_feed_lagging_catches_up_again(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A restarted gate forgets book states and asks the feed again: still refused."""
        async with actors.testing.open_harness() as harness:
            market = MarketState(UNIVERSE, ())
            feed = harness.probe("root/feed.book", reply=feed_reply(market, FeedLag(lagging=True)))
            gate = Gate(harness)
            await gate.start(book_feed="feed.book")
            await gate.wait_for_books(len(SYMBOLS))
            await harness.crash(gate.ref)
            await gate.ref.send(SNAPSHOT)
            await gate.wait_for_books(len(SYMBOLS))
            verdict = await gate.decide(now_opportunity())
            assert isinstance(verdict, RiskRejected)
            assert verdict.reason == "book_not_live"
            asked = [m for m in feed.received if isinstance(m, GetMarketState)]
            assert len(asked) == 2

    async def test_start_when_bus_spoke_first_keeps_the_bus_state(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """States published after the gate subscribed win over the feed's (older) answer."""
        async with actors.testing.open_harness() as harness:
            release = trio.Event()
            lagging = FeedLag(lagging=True)
            spec = ChildSpec(
                "feed.book", factory=HeldFeed, args=(MarketState(UNIVERSE, ()), lagging, release)
            )
            await harness.start(spec, supervisor="market")
            gate = Gate(harness)
            with structlog.testing.capture_logs() as logs:
                await gate.start(book_feed="market/feed.book")
                for symbol in SYMBOLS:
                    change = BookStateChanged(symbol, BookHealth.LIVE, "caught up", 0.0)
                    await harness.bus.publish(TOPIC_BOOK_STATE, change)
                release.set()  # the feed answers "lagging" only now: older than the bus
                await trio.testing.wait_all_tasks_blocked()  # the catch-up is taken
            verdict = await gate.decide(now_opportunity())
            caught = [entry for entry in logs if entry["event"] == "risk_gate.books_caught_up"]
            assert (caught[0]["answered"], caught[0]["filled"]) == (len(SYMBOLS), 0)
            assert isinstance(verdict, RiskAccepted)

    async def test_start_when_feed_cannot_be_asked_logs_and_lets_books_pass(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """No feed at that path: risk_gate.catch_up_failed, and unknown books still pass."""
        async with actors.testing.open_harness() as harness:
            gate = Gate(harness)
            with structlog.testing.capture_logs() as logs:
                await gate.start(book_feed="no.such.feed")
                verdict = await gate.decide(now_opportunity())
            assert isinstance(verdict, RiskAccepted)
            assert any(entry["event"] == "risk_gate.catch_up_failed" for entry in logs)


class TestWiring:
    def test_engine_tree_when_built_points_the_gate_at_the_book_feed(self) -> None:
        """Every mode's tree gives the gate the book feed's path, and that path is in the tree."""
        tree = engine_tree(load_components(), ScriptedVenue(silent()), market_url="ws://unused")
        specs = {f"root/{spec.name}": spec for spec in tree.children}
        trading, market = specs["root/trading"], specs["root/market"]
        assert isinstance(trading, SupervisorSpec)
        assert isinstance(market, SupervisorSpec)
        gate = next(child for child in trading.children if child.name == "risk_gate")
        assert isinstance(gate, ChildSpec)
        assert gate.kwargs["book_feed"] == f"root/market/{BOOK_FEED}"
        assert BOOK_FEED in {child.name for child in market.children}
