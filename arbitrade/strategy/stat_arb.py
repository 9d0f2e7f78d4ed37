"""Statistical arbitrage: trade the mean reversion of the log-price spread of configured pairs.

The :class:`StatArb` actor receives book tops of its legs, our fills, the executor's cycle
results, the risk gate's refusals and control changes (forward them to it with
:func:`forward_inputs`). For each pair a :class:`PairModel` estimates the hedge ratio
(rolling OLS or Kalman), the spread and its z-score, decides entries and exits, and sizes
exact legs. Intents go out on ``TOPIC_OPPORTUNITIES``: an :class:`~arbitrade.messages.Opportunity`
(strategy ``"stat_arb"``) to open, a :class:`ClosePosition` to close; the risk gate and the
executor handle them like any other. An optional cointegration screen runs in the sibling
:class:`StatArbScreener` actor, off this actor's hot path.

Wiring (one supervisor, screener first so the strategy finds it)::

    settings = load_stat_arb_settings()
    SupervisorSpec("stat_arb_tree", [
        ChildSpec("stat_arb_screen", factory=StatArbScreener.from_settings, args=(settings,)),
        ChildSpec("stat_arb", factory=StatArb, args=(settings,), kwargs={"mode": mode}),
    ])
    nursery.start_soon(forward_inputs, system.bus, system.registry.lookup("root/.../stat_arb"),
                       settings)
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs
import orjson
import trio

from actors import (
    Actor,
    ActorCrashed,
    ActorNotFound,
    ActorStopped,
    AskTimeout,
    Bus,
    Lossless,
    MailboxFull,
    Ref,
    Subscription,
)
from arbitrade.market.feeds import GetMarketState, MarketState
from arbitrade.messages import (
    TOPIC_AUDIT,
    TOPIC_BOOK_TOP,
    TOPIC_CONTROL,
    TOPIC_CYCLES,
    TOPIC_FILLS,
    TOPIC_INSTRUMENTS,
    TOPIC_OPPORTUNITIES,
    TOPIC_RISK_DECISIONS,
    AuditEvent,
    BookTop,
    ControlChanged,
    CycleFinished,
    Fill,
    Instrument,
    InstrumentsLoaded,
    RiskRejected,
    StrategyMode,
)
from arbitrade.strategy._stat_estimators import HedgeEstimate as HedgeEstimate
from arbitrade.strategy._stat_estimators import KalmanHedge as KalmanHedge
from arbitrade.strategy._stat_estimators import RollingOls as RollingOls
from arbitrade.strategy._stat_estimators import RollingZScore as RollingZScore
from arbitrade.strategy._stat_messages import STRATEGY as STRATEGY
from arbitrade.strategy._stat_messages import TOPIC_STAT_ARB as TOPIC_STAT_ARB
from arbitrade.strategy._stat_messages import ClosePosition as ClosePosition
from arbitrade.strategy._stat_messages import PairSnapshot as PairSnapshot
from arbitrade.strategy._stat_messages import ScreenRequest as ScreenRequest
from arbitrade.strategy._stat_messages import ScreenResult as ScreenResult
from arbitrade.strategy._stat_pair import Intent as Intent
from arbitrade.strategy._stat_pair import PairModel as PairModel
from arbitrade.strategy._stat_pair import PositionState as PositionState
from arbitrade.strategy._stat_screen import ScreenJob as ScreenJob
from arbitrade.strategy._stat_screen import ScreenStatistics as ScreenStatistics
from arbitrade.strategy._stat_screen import StatArbScreener as StatArbScreener
from arbitrade.strategy._stat_screen import half_life as half_life
from arbitrade.strategy._stat_screen import screen_pair as screen_pair
from arbitrade.strategy._stat_screen import screen_statistics as screen_statistics
from arbitrade.strategy._stat_settings import HedgeMethod as HedgeMethod
from arbitrade.strategy._stat_settings import ModeSwitchPolicy as ModeSwitchPolicy
from arbitrade.strategy._stat_settings import PairSpec as PairSpec
from arbitrade.strategy._stat_settings import StatArbSettings as StatArbSettings
from arbitrade.strategy._stat_settings import check_market as check_market
from arbitrade.strategy._stat_settings import load_stat_arb_settings as load_stat_arb_settings
from arbitrade.strategy._stat_settings import (
    structure_stat_arb_settings as structure_stat_arb_settings,
)
from arbitrade.strategy._stat_signals import Direction as Direction
from arbitrade.strategy._stat_signals import ExitReason as ExitReason
from arbitrade.strategy._stat_signals import SignalRules as SignalRules
from arbitrade.strategy._stat_sizing import LegQuote as LegQuote
from arbitrade.strategy._stat_sizing import SizingRefused as SizingRefused
from arbitrade.strategy._stat_sizing import closing_legs as closing_legs
from arbitrade.strategy._stat_sizing import entry_legs as entry_legs

ACTOR_NAME: Final = "stat_arb"
SCREENER_NAME: Final = "stat_arb_screen"
INPUT_TOPICS: Final = (
    TOPIC_INSTRUMENTS,
    TOPIC_BOOK_TOP,
    TOPIC_FILLS,
    TOPIC_CYCLES,
    TOPIC_RISK_DECISIONS,
    TOPIC_CONTROL,
)
"""Topics whose messages :class:`StatArb` needs in its mailbox."""
_ACTIVE_MODES: Final = frozenset({StrategyMode.STAT_ARB, StrategyMode.BOTH})
CATCH_UP_TIMEOUT: Final = 30.0
"""Seconds to wait for the book feed's state on start (it may itself be starting)."""


@attrs.frozen
class GetPairSnapshots:
    """Ask :class:`StatArb` for every pair's :class:`PairSnapshot` (the reply, a tuple)."""


class StatArb(Actor[Any]):
    """The statistical-arbitrage strategy actor (see the module docstring).

    Args:
        settings: validated settings; run :func:`check_market` against the venue first.
        instruments: by symbol; when omitted, pairs are built from the first
            ``InstrumentsLoaded``. A pair with a missing symbol is skipped with
            ``stat_arb.pair_unavailable`` and built when a later universe has it.
        mode: the strategy mode at start; stat-arb enters only in ``stat_arb`` and ``both``.
        screener: name (sibling) or path of the screener actor, used when the screen is on.
        id_prefix: makes opportunity ids ``sa-<prefix>-<n>``; random per incarnation by
            default, so a restarted actor never reuses an id the risk gate has seen.
        book_feed: name or path of the book feed to catch up from on start (None: do not).
            The feed publishes instruments only on (re)connect, and this actor's inputs are
            forwarded after the tree has started (:func:`forward_inputs`), so without the
            catch-up a fast feed's universe could be missed and no pair would ever be built.
            A feed that cannot be asked (missing, stopped, timed out) is logged as
            ``stat_arb.catch_up_failed``; the pairs are then built from the next universe.

    A crash loses the pairs' statistics and positions' state (a restart warms up again and
    starts flat); open positions then show in the portfolio, not here.
    """

    def __init__(
        self,
        settings: StatArbSettings,
        *,
        instruments: Mapping[str, Instrument] | None = None,
        mode: StrategyMode = StrategyMode.BOTH,
        screener: str = SCREENER_NAME,
        id_prefix: str | None = None,
        book_feed: str | None = None,
    ) -> None:
        self.settings = settings
        self.book_feed = book_feed
        self.mode = StrategyMode(mode)
        self._instruments = dict(instruments) if instruments is not None else None
        self._screener_name = screener
        self._screener: Ref[Any] | None = None
        self._id_prefix = id_prefix
        self._sequence = 0
        self.pairs: dict[str, PairModel] = {}
        self._by_symbol: dict[str, list[PairModel]] = {}
        self._by_intent: dict[str, PairModel] = {}

    async def on_start(self) -> None:
        if self._id_prefix is None:
            self._id_prefix = secrets.token_hex(4)
        if self._instruments is not None:
            self._build_pairs(self._instruments)
        elif self.book_feed is not None:
            # A linked task: on the first start the feed may start after us and answer then.
            self.context.start_soon(self._ask_feed, self.book_feed)

    async def _ask_feed(self, feed: str) -> None:
        try:
            state = await self.context.lookup(feed).ask(GetMarketState(), timeout=CATCH_UP_TIMEOUT)
        except (ActorNotFound, AskTimeout, ActorStopped, ActorCrashed) as error:
            self.context.log.warning("stat_arb.catch_up_failed", feed=feed, error=str(error))
            return
        if isinstance(state, MarketState):
            await self.context.ref.send(state)

    def _new_id(self) -> str:
        self._sequence += 1
        return f"sa-{self._id_prefix}-{self._sequence}"

    @property
    def active(self) -> bool:
        """True when the strategy mode lets stat-arb open positions."""
        return self.mode in _ACTIVE_MODES

    def _build_pairs(self, instruments: Mapping[str, Instrument]) -> None:
        for spec in self.settings.pairs:
            if spec.name in self.pairs:
                continue
            missing = [symbol for symbol in spec.symbols if symbol not in instruments]
            if missing:
                self.context.log.warning(
                    "stat_arb.pair_unavailable", pair=spec.name, missing=missing
                )
                continue
            model = PairModel(spec, self.settings, instruments, self._new_id)
            model.active = self.active
            self.pairs[spec.name] = model
            for symbol in spec.symbols:
                self._by_symbol.setdefault(symbol, []).append(model)

    async def receive(self, message: Any) -> object:
        now = trio.current_time()
        match message:
            case BookTop():
                await self._on_book(message, now)
            case Fill():
                model = self._by_intent.get(message.cycle_id)
                if model is not None:
                    model.on_fill(message, now)
            case CycleFinished():
                model = self._by_intent.get(message.cycle_id)
                if model is not None:
                    await self._emit(model, model.on_cycle_finished(message, now))
            case RiskRejected():
                model = self._by_intent.get(message.opportunity_id)
                if model is not None:
                    model.on_rejected(message.opportunity_id, now)
            case ControlChanged(setting="strategy_mode"):
                await self._switch_mode(message, now)
            case ScreenResult():
                model = self.pairs.get(message.pair)
                if model is not None:
                    model.on_screen_result(message)
            case InstrumentsLoaded():
                self._build_pairs({i.symbol: i for i in message.instruments})
            case MarketState():
                await self._catch_up(message, now)
            case GetPairSnapshots():
                return tuple(model.snapshot(now) for model in self.pairs.values())
        return None

    async def _catch_up(self, state: MarketState, now: float) -> None:
        """Build pairs from the feed's universe (if none came yet) and take its live tops."""
        if state.instruments is not None:
            self._build_pairs({i.symbol: i for i in state.instruments.instruments})
        for top in state.tops:
            await self._on_book(top, now)

    async def _on_book(self, top: BookTop, now: float) -> None:
        for model in self._by_symbol.get(top.symbol, ()):
            observed = model.observations
            await self._emit(model, model.on_book(top, now))
            if model.observations != observed:
                await self._after_observation(model, now)

    async def _emit(self, model: PairModel, intents: Iterable[Intent]) -> None:
        bus = self.context.bus
        for intent in intents:
            opportunity = intent.opportunity if isinstance(intent, ClosePosition) else intent
            self._by_intent[opportunity.id] = model
            await bus.publish(TOPIC_OPPORTUNITIES, intent)

    async def _after_observation(self, model: PairModel, now: float) -> None:
        await self.context.bus.publish(TOPIC_STAT_ARB, model.snapshot(now))
        request = model.screen_request(now)
        if request is None:
            return
        screener = self._find_screener()
        if screener is None:
            return
        try:
            screener.send_nowait(ScreenJob(request, self.context.path))
        except (MailboxFull, trio.BrokenResourceError):
            self.context.log.info("stat_arb.screen_skipped", pair=model.name)

    def _find_screener(self) -> Ref[Any] | None:
        if self._screener is None:
            try:
                self._screener = self.context.lookup(self._screener_name)
            except ActorNotFound:
                self.context.log.warning("stat_arb.screener_missing", name=self._screener_name)
        return self._screener

    async def _switch_mode(self, change: ControlChanged, now: float) -> None:
        try:
            mode = StrategyMode(change.value)
        except ValueError:
            self.context.log.warning("stat_arb.unknown_mode", value=change.value)
            return
        was_active, previous = self.active, self.mode
        self.mode = StrategyMode(mode)
        if was_active == self.active:
            return
        policy = self.settings.mode_switch_policy
        held = [m.name for m in self.pairs.values() if m.state is not PositionState.FLAT]
        for model in self.pairs.values():
            await self._emit(model, model.set_active(self.active, now))
        detail = {
            "who": change.who,
            "from": previous.value,
            "to": mode.value,
            "active": self.active,
            "policy": policy.value,
            "positions": held,
            "action": "none" if self.active or not held else policy.value,
        }
        self.context.log.info("stat_arb.mode_switched", **detail)
        await self.context.bus.publish(
            TOPIC_AUDIT,
            AuditEvent(
                kind="stat_arb.mode_switch",
                actor=ACTOR_NAME,
                subject="strategy_mode",
                detail=orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode(),
                at=now,
                at_wall=change.at_wall,
            ),
        )


def _wanted(message: Any, symbols: frozenset[str]) -> bool:
    return not isinstance(message, BookTop) or message.symbol in symbols


async def forward_inputs(
    bus: Bus,
    ref: Ref[Any],
    settings: StatArbSettings,
    *,
    capacity: int = 1000,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Forward :data:`INPUT_TOPICS` from ``bus`` into ``ref``'s mailbox until cancelled.

    Book tops of symbols no pair reads are dropped here. Subscriptions are lossless and
    ``send`` waits for room, so a busy strategy slows its inputs rather than losing a fill.
    Reports started once every subscription exists (nothing published after is missed).
    If the actor is stopped for good, forwarding ends quietly.
    """
    symbols = frozenset(symbol for pair in settings.pairs for symbol in pair.symbols)
    subscriptions = [bus.subscribe(topic, Lossless(capacity)) for topic in INPUT_TOPICS]

    async def pump(subscription: Subscription, cancel: trio.CancelScope) -> None:
        with subscription:
            try:
                async for message in subscription:
                    if _wanted(message, symbols):
                        await ref.send(message)
            except ActorStopped:
                cancel.cancel()

    async with trio.open_nursery() as nursery:
        for subscription in subscriptions:
            nursery.start_soon(pump, subscription, nursery.cancel_scope)
        task_status.started()
