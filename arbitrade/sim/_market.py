"""The seeded market model: correlated random walks, mean-reverting pairs, churning books,
trades and mispricings.

Everything is driven by ``random.Random(seed)`` (and a generator of its own, seeded from
``seed``, for the mean-reverting spreads) and a tick counter, never by wall time, so the same
seed and the same inputs give the same market. :meth:`MarketModel.step` advances one tick; the
server calls it on a timer, tests call it directly without any network.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable

import attrs

from arbitrade.sim._book import Book, Side
from arbitrade.sim._errors import UnknownSymbol
from arbitrade.sim._mean_reverting import (
    DEFAULT_MEAN_REVERTING,
    MeanRevertingPair,
    SpreadLinks,
    to_mean_reverting_pairs,
)
from arbitrade.sim._stats import PairStats
from arbitrade.sim._universe import AssetKind, Pair, Universe

# Per tier of a pair: probability of a book update per tick, half-spread in basis points,
# USD notional of a typical level, probability of a random taker trade per updated tick.
_UPDATE_PROBABILITY = {1: 0.6, 2: 0.3, 3: 0.15, 4: 0.08}
_HALF_SPREAD_BPS = {1: 0.5, 2: 2.0, 3: 5.0, 4: 10.0}
_LEVEL_USD = {1: 30_000.0, 2: 8_000.0, 3: 2_500.0, 4: 800.0}
_TRADE_PROBABILITY = {1: 0.3, 2: 0.2, 3: 0.15, 4: 0.1}
# Per-tick volatility of log prices by asset kind (crypto scaled by tier below).
_FIAT_SIGMA = 0.000_02
_STABLE_SIGMA = 0.000_01
_CRYPTO_SIGMA = {1: 0.000_10, 2: 0.000_15, 3: 0.000_20, 4: 0.000_25}
_MARKET_CORRELATION = 0.7
_MAX_TRADES_PER_SIDE = 1


@attrs.frozen
class MarketSettings:
    """Knobs of the market model (all have working defaults)."""

    levels_per_side: int = 200
    """Levels that span ``book_span_percent`` on each side of ordinary pairs: it sets the
    average gap between levels (span / levels), the shape of the book."""
    kept_levels_per_side: int = 50
    """Levels an ordinary pair's book actually holds on each side, the nearest ones (at most
    ``levels_per_side``). 50 fills the bot's depth-10 and any depth-25 subscription with room
    to spare and costs about a quarter of the memory of 200 (~1,000 pairs: ~13 MB instead of
    ~52 MB). A depth-100 subscription on an ordinary pair needs it raised to at least 100 in
    ``SimConfig.market``: with fewer, the client's book is short of the depth it asked for."""
    deep_levels_per_side: int = 1000
    """Levels kept on each side of tier-1 pairs (so depth 500/1000 subscriptions fill)."""
    book_span_percent: float = 3.0
    """How far from the mid the deepest ordinary level sits, in percent."""
    mispricing_rate: float = 0.02
    """Probability per tick that a random mispricing opens (0 disables them)."""
    mispricing_min_bps: float = 150.0
    """Smallest random mispricing, in basis points of the pair's fair price."""
    mispricing_max_bps: float = 300.0
    """Largest random mispricing; 150-300 bps beats three taker fees of 40 bps."""
    mispricing_min_ticks: int = 10
    mispricing_max_ticks: int = 50
    """Lifetime range of a random mispricing, in ticks."""
    tick_seconds: float = 0.1
    """Simulated seconds per tick (timestamps, candles); the server ticks at this pace."""
    start_time: float = 1_700_000_000.0
    """Unix time of tick 0; the server sets it to its start time."""
    mean_reverting: tuple[MeanRevertingPair, ...] = attrs.field(
        default=DEFAULT_MEAN_REVERTING, converter=to_mean_reverting_pairs
    )
    """Pairs whose log-price spread mean-reverts (:class:`MeanRevertingPair`, or plain
    ``(y, x, beta, half_life_ticks, sigma)`` tuples); ``()`` leaves every asset a random walk.
    Links whose symbols the universe does not hold are ignored. Default: ETH/USD follows
    BTC/USD (beta 1.2, 50-tick half-life, 2 % spread), the pair ``config/stat_arb.toml``
    trades by default."""


@attrs.frozen
class Trade:
    """A trade printed on the market (by the model or by a key's order)."""

    symbol: str
    side: str
    """Taker side: "buy" or "sell"."""
    price: int
    lots: int
    ord_type: str
    trade_id: int
    tick: int


@attrs.frozen
class Mispricing:
    """A temporary offset of one pair's price from the cross-rate of its assets."""

    symbol: str
    deviation_bps: float
    """Positive: the pair trades above fair (sell it); negative: below (buy it)."""
    start_tick: int
    end_tick: int


@attrs.frozen
class OwnFill:
    """Resting orders at a level that the market traded through (filled as maker)."""

    symbol: str
    side: Side
    price: int
    lots: int


@attrs.define
class StepResult:
    """What one tick changed."""

    tick: int
    changed: list[str] = attrs.field(factory=list)
    trades: list[Trade] = attrs.field(factory=list)
    opened: list[Mispricing] = attrs.field(factory=list)
    own_fills: list[OwnFill] = attrs.field(factory=list)


@attrs.define
class _PairState:
    pair: Pair
    book: Book
    stats: PairStats
    tick_size: float
    lot_size: float
    half_spread_ticks: float
    gap_ticks: float
    max_levels: int
    level_lots: float
    max_lots: int
    offset: float = 0.0
    changed_tick: int = 0


class MarketModel:
    """Prices, books and trades of a whole universe, advanced one tick at a time."""

    def __init__(
        self, universe: Universe, *, seed: int, settings: MarketSettings | None = None
    ) -> None:
        self.universe = universe
        self.settings = settings or MarketSettings()
        self.seed = seed
        self.tick = 0
        self.skipped_seconds = 0.0
        """Wall seconds the server skipped after a stall (:meth:`skip`): stamps keep up."""
        self._random = random.Random(seed)  # noqa: S311 - a market model, not cryptography
        self._log_price = {a.name: math.log(a.usd_price) for a in universe.assets}
        self._links = SpreadLinks(
            universe, self.settings.mean_reverting, seed=seed, log_price=self._log_price
        )
        self._pairs: dict[str, _PairState] = {}
        self._mispricings: dict[str, Mispricing] = {}
        self._next_trade_id = 1
        for pair in universe.pairs:
            self._pairs[pair.symbol] = self._initial_state(pair)

    # -- reading -----------------------------------------------------------------------------
    def book(self, symbol: str) -> Book:
        """The live book of a pair (v2 symbol). Raises UnknownSymbol."""
        return self._state(symbol).book

    def stats(self, symbol: str) -> PairStats:
        return self._state(symbol).stats

    def changed_tick(self, symbol: str) -> int:
        """The last tick at which this pair's book changed."""
        return self._state(symbol).changed_tick

    def fair_price(self, symbol: str) -> float:
        """The cross-rate of the pair's assets (without any mispricing), in quote units."""
        pair = self._state(symbol).pair
        return math.exp(self._log_price[pair.base.name] - self._log_price[pair.quote.name])

    def usd_price(self, asset: str) -> float:
        return math.exp(self._log_price[asset])

    @property
    def mean_reverting(self) -> tuple[MeanRevertingPair, ...]:
        """The mean-reverting links in effect (configured and held by the universe)."""
        return self._links.active

    def spread(self, y: str, x: str) -> float:
        """The current Ornstein-Uhlenbeck spread of the link ``y`` ~ ``x`` (zero at tick 0).

        Raises:
            KeyError: no link in effect joins these symbols.
        """
        return self._links.spread(y, x)

    @property
    def mispricings(self) -> tuple[Mispricing, ...]:
        """The mispricings open now."""
        return tuple(self._mispricings.values())

    def now(self) -> float:
        """Simulated unix time of the current tick."""
        return self.time_of(self.tick)

    def time_of(self, tick: int) -> float:
        """Simulated unix time of ``tick``: ``start_time`` plus its ticks, plus any time
        skipped (a tick stamped before a skip is shifted by it too: stamps stay ordered)."""
        return self.settings.start_time + tick * self.settings.tick_seconds + self.skipped_seconds

    def skip(self, seconds: float) -> None:
        """Move the clock ``seconds`` ahead without ticking: the server stalled that long
        and will not burst the missed ticks, but its stamps must stay on the wall clock
        (Kraken stamps real time; a stamp that fell behind reads as exchange lag).

        Raises:
            ValueError: ``seconds`` is negative or not finite.
        """
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"can only skip a finite time ahead, got {seconds}")
        self.skipped_seconds += seconds

    def _state(self, symbol: str) -> _PairState:
        try:
            return self._pairs[symbol]
        except KeyError:
            raise UnknownSymbol(symbol) from None

    # -- driving -----------------------------------------------------------------------------
    def inject_mispricing(
        self, symbol: str, deviation_bps: float, lifetime_ticks: int = 20
    ) -> Mispricing:
        """Shift one pair's book by ``deviation_bps`` for ``lifetime_ticks`` ticks, from now.

        The book is repriced at once (the change shows in the next published update), so a
        cycle through this pair becomes profitable until the mispricing expires. A new
        mispricing on the same pair replaces the old one.

        Raises:
            UnknownSymbol: the symbol is not in the universe.
        """
        state = self._state(symbol)
        mispricing = Mispricing(symbol, deviation_bps, self.tick, self.tick + lifetime_ticks)
        self._mispricings[symbol] = mispricing
        state.offset = deviation_bps / 10_000
        result = StepResult(self.tick)
        self._update_pair(state, result, churn=False)
        for trade in result.trades:
            self._record(state, trade)
        return mispricing

    def next_trade_id(self) -> int:
        trade_id = self._next_trade_id
        self._next_trade_id += 1
        return trade_id

    def record_trade(self, trade: Trade) -> None:
        """Account a trade made by a key's order (statistics, candles)."""
        state = self._state(trade.symbol)
        self._record(state, trade)
        state.changed_tick = self.tick

    def mark_changed(self, symbol: str) -> None:
        self._state(symbol).changed_tick = self.tick

    def step(self) -> StepResult:
        """Advance one tick: move prices, open/close mispricings, update some books."""
        self.tick += 1
        result = StepResult(self.tick)
        self._move_prices()
        self._expire_and_open_mispricings(result)
        rng = self._random
        expiring = {m.symbol for m in result.opened}
        for symbol, state in self._pairs.items():
            forced = symbol in expiring or (state.offset != 0.0 and symbol not in self._mispricings)
            if forced:
                state.offset = 0.0 if symbol not in self._mispricings else state.offset
            if forced or rng.random() < _UPDATE_PROBABILITY[state.pair.tier]:
                self._update_pair(state, result, churn=True)
        return result

    def run(self, ticks: int) -> list[StepResult]:
        """Advance several ticks; handy for tests."""
        return [self.step() for _ in range(ticks)]

    # -- internals ---------------------------------------------------------------------------
    def _initial_state(self, pair: Pair) -> _PairState:
        tick_size = 10.0**-pair.price_precision
        lot_size = 10.0**-pair.qty_precision
        mid = pair.base.usd_price / pair.quote.usd_price / tick_size
        deep = pair.tier == 1
        settings = self.settings
        shape_levels = settings.deep_levels_per_side if deep else settings.levels_per_side
        kept = shape_levels if deep else min(shape_levels, settings.kept_levels_per_side)
        span = mid * settings.book_span_percent / 100 * (3 if deep else 1)
        level_lots = _LEVEL_USD[pair.tier] / pair.base.usd_price / lot_size
        # At most 15 significant digits of quantity: a float-parsing client reads them exactly.
        max_lots = max(1, min(int(level_lots * 50), 10**15 - 1))
        state = _PairState(
            pair=pair,
            book=Book(),
            stats=PairStats(open_price=round(mid), last_price=round(mid)),
            tick_size=tick_size,
            lot_size=lot_size,
            half_spread_ticks=max(0.5, mid * _HALF_SPREAD_BPS[pair.tier] / 10_000),
            gap_ticks=max(1.0, span / shape_levels),
            max_levels=kept,
            level_lots=max(1.0, level_lots),
            max_lots=max_lots,
        )
        bid, ask = self._targets(state)
        for side, best in ((Side.BID, bid), (Side.ASK, ask)):
            state.book.set_synthetic(side, best, self._random_lots(state))
            self._extend(state, side)
        return state

    def _random_lots(self, state: _PairState, scale: float = 1.0) -> int:
        lots = state.level_lots * scale * self._random.lognormvariate(0.0, 0.8)
        return max(1, min(state.max_lots, int(lots)))

    def _targets(self, state: _PairState) -> tuple[int, int]:
        pair = state.pair
        fair = math.exp(self._log_price[pair.base.name] - self._log_price[pair.quote.name])
        mid = fair * (1.0 + state.offset) / state.tick_size
        bid = math.floor(mid - state.half_spread_ticks)
        ask = max(math.ceil(mid + state.half_spread_ticks), bid + 1)
        return max(1, bid), max(2, ask)

    def _move_prices(self) -> None:
        rng = self._random
        market = rng.gauss(0.0, 1.0)
        idiosyncratic = math.sqrt(1 - _MARKET_CORRELATION**2)
        log_price = self._log_price
        for asset in self.universe.assets:
            if asset.name == "USD":
                continue
            if asset.kind is AssetKind.FIAT:
                log_price[asset.name] += rng.gauss(0.0, _FIAT_SIGMA)
            elif asset.kind is AssetKind.STABLE:
                # Mean-revert to the peg.
                log_price[asset.name] += -0.05 * log_price[asset.name] + rng.gauss(0, _STABLE_SIGMA)
            elif asset.kind is AssetKind.PEGGED:
                target = log_price["BTC"] if "BTC" in log_price else log_price[asset.name]
                deviation = log_price[asset.name] - target
                log_price[asset.name] = target - 0.05 * deviation + rng.gauss(0, _STABLE_SIGMA)
            else:
                sigma = _CRYPTO_SIGMA[asset.tier]
                shock = _MARKET_CORRELATION * market + idiosyncratic * rng.gauss(0.0, 1.0)
                log_price[asset.name] += sigma * shock
        # After the walks (whose draws stay the same), so a link reads this tick's prices.
        self._links.step(log_price)

    def _expire_and_open_mispricings(self, result: StepResult) -> None:
        for symbol, mispricing in list(self._mispricings.items()):
            if mispricing.end_tick <= self.tick:
                del self._mispricings[symbol]
        settings = self.settings
        rng = self._random
        if settings.mispricing_rate > 0 and rng.random() < settings.mispricing_rate:
            candidates = [
                s
                for s in self._pairs.values()
                if s.pair.status == "online"
                and s.pair.tier <= 3
                and s.pair.base.kind is AssetKind.CRYPTO
                and s.pair.symbol not in self._mispricings
            ]
            if candidates:
                state = candidates[rng.randrange(len(candidates))]
                size = rng.uniform(settings.mispricing_min_bps, settings.mispricing_max_bps)
                sign = 1.0 if rng.random() < 0.5 else -1.0
                lifetime = rng.randint(settings.mispricing_min_ticks, settings.mispricing_max_ticks)
                mispricing = Mispricing(
                    state.pair.symbol, sign * size, self.tick, self.tick + lifetime
                )
                self._mispricings[state.pair.symbol] = mispricing
                state.offset = sign * size / 10_000
                result.opened.append(mispricing)

    def _update_pair(self, state: _PairState, result: StepResult, *, churn: bool) -> None:
        book = state.book
        bid_target, ask_target = self._targets(state)
        symbol = state.pair.symbol
        # Prices moved: the market trades through levels on the wrong side of the new targets.
        for side, target in ((Side.ASK, ask_target), (Side.BID, bid_target)):
            printed = 0
            while True:
                best = book.best(side)
                if best is None or (best >= target if side is Side.ASK else best <= target):
                    break
                synthetic, own = book.clear_level(side, best)
                if own:
                    result.own_fills.append(OwnFill(symbol, side, best, own))
                if printed < _MAX_TRADES_PER_SIDE and synthetic:
                    printed += 1
                    taker = "buy" if side is Side.ASK else "sell"
                    result.trades.append(self._trade(state, taker, best, synthetic, "market"))
            best = book.best(side)
            if best is None or (best > target if side is Side.ASK else best < target):
                book.set_synthetic(side, target, self._random_lots(state, 0.5))
        if churn:
            self._churn(state, result)
        for side in (Side.BID, Side.ASK):
            self._trim_and_extend(state, side)
        state.changed_tick = self.tick
        if symbol not in result.changed:
            result.changed.append(symbol)

    def _churn(self, state: _PairState, result: StepResult) -> None:
        rng = self._random
        book = state.book
        for _ in range(rng.randint(1, 3)):
            side = Side.BID if rng.random() < 0.5 else Side.ASK
            prices = book.prices(side, 20)
            if not prices:
                continue
            index = min(len(prices) - 1, int(rng.expovariate(0.3)))
            price = prices[index]
            action = rng.random()
            if action < 0.6:
                current = book.synthetic_quantity(side, price)
                if current:
                    factor = rng.lognormvariate(0.0, 0.5)
                    book.set_synthetic(
                        side, price, max(1, min(state.max_lots, int(current * factor)))
                    )
            elif action < 0.75:
                if len(prices) > 2 and index > 0:
                    book.set_synthetic(side, price, 0)
            else:
                gap = 1 + int(rng.expovariate(1.0 / state.gap_ticks))
                new_price = price - gap if side is Side.BID else price + gap
                if new_price > 0 and book.quantity(side, new_price) == 0:
                    book.set_synthetic(side, new_price, self._random_lots(state))
        if rng.random() < _TRADE_PROBABILITY[state.pair.tier]:
            side = Side.BID if rng.random() < 0.5 else Side.ASK
            best = book.best(side)
            if best is not None:
                available = book.synthetic_quantity(side, best)
                if available:
                    lots = max(1, int(available * rng.uniform(0.05, 1.0)))
                    book.set_synthetic(side, best, available - lots)
                    taker = "sell" if side is Side.BID else "buy"
                    result.trades.append(self._trade(state, taker, best, lots, "market"))

    def _trim_and_extend(self, state: _PairState, side: Side) -> None:
        book = state.book
        while book.level_count(side) > state.max_levels:
            worst = book.worst(side)
            assert worst is not None
            synthetic = book.synthetic_quantity(side, worst)
            if synthetic == book.quantity(side, worst):
                book.set_synthetic(side, worst, 0)
            else:
                break  # never drop a level holding resting orders
        self._extend(state, side)

    def _extend(self, state: _PairState, side: Side) -> None:
        book = state.book
        rng = self._random
        while book.level_count(side) < state.max_levels:
            worst = book.worst(side)
            if worst is None:
                return
            gap = 1 + int(rng.expovariate(1.0 / state.gap_ticks))
            price = worst - gap if side is Side.BID else worst + gap
            if price <= 0:
                return
            book.set_synthetic(side, price, self._random_lots(state, 1.5))

    def _trade(self, state: _PairState, side: str, price: int, lots: int, kind: str) -> Trade:
        trade = Trade(state.pair.symbol, side, price, lots, kind, self.next_trade_id(), self.tick)
        self._record(state, trade)
        return trade

    def _record(self, state: _PairState, trade: Trade) -> None:
        state.stats.record(trade.price, trade.lots, self.now())

    def symbols(self) -> Iterable[str]:
        return self._pairs.keys()
