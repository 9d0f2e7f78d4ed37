"""The universe's shape and the seeded market model, without any network."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from arbitrade.sim import (
    MarketModel,
    MarketSettings,
    Side,
    Simulator,
    book_checksum,
    build_universe,
)
from arbitrade.sim._server import _tick
from tests.sim.conftest import SMALL_SYMBOLS, small_config


def _fingerprint(model: MarketModel, ticks: int) -> list[tuple[int, ...]]:
    prints = []
    for result in model.run(ticks):
        checksums = tuple(book_checksum(model.book(s)) for s in SMALL_SYMBOLS)
        trades = tuple(t.price * 31 + t.lots for t in result.trades)
        prints.append(checksums + trades)
    return prints


class TestUniverse:
    def test_universe_when_built_is_shaped_like_kraken(self) -> None:
        """Hundreds of pairs over the usual quotes, Kraken names, and some non-online pairs."""
        universe = build_universe()
        assert len(universe.pairs) >= 300
        assert 80 <= len(universe.assets) <= 130
        quotes = {pair.quote.name for pair in universe.pairs}
        assert {"USD", "EUR", "GBP", "USDT", "USDC", "BTC", "ETH"} <= quotes
        btc = universe.pair("BTC/USD")
        assert (btc.rest_name, btc.altname, btc.wsname) == ("XXBTZUSD", "XBTUSD", "XBT/USD")
        assert universe.pair("XXBTZUSD") is btc
        assert universe.pair("XBT/USD") is btc
        assert universe.pair("DOGE/USD").rest_name == "XXDGZUSD"
        assert universe.pair("ETH/BTC").rest_name == "XETHXXBT"
        statuses = {pair.status for pair in universe.pairs}
        assert {"online", "cancel_only", "post_only", "limit_only", "reduce_only"} <= statuses

    def test_universe_when_extra_assets_requested_approaches_a_thousand_pairs(self) -> None:
        """Synthetic assets scale the universe for benchmarks."""
        assert len(build_universe(extra_assets=220).pairs) >= 950


class TestDeterminism:
    def test_model_when_run_twice_with_same_seed_gives_same_market(self) -> None:
        """Same seed: identical books and trades, tick after tick."""
        universe = build_universe(only=SMALL_SYMBOLS)
        settings = MarketSettings(mispricing_rate=0.05)
        first = _fingerprint(MarketModel(universe, seed=42, settings=settings), 60)
        second = _fingerprint(MarketModel(universe, seed=42, settings=settings), 60)
        assert first == second

    def test_model_when_seed_differs_gives_another_market(self) -> None:
        """Another seed: another market."""
        universe = build_universe(only=SMALL_SYMBOLS)
        assert _fingerprint(MarketModel(universe, seed=1), 20) != _fingerprint(
            MarketModel(universe, seed=2), 20
        )


class TestBooks:
    def test_books_when_market_runs_stay_uncrossed_and_deep(self) -> None:
        """After every tick each book has bid < ask and many levels."""
        model = MarketModel(build_universe(only=SMALL_SYMBOLS), seed=3)
        for _ in range(100):
            model.step()
            for symbol in SMALL_SYMBOLS:
                book = model.book(symbol)
                best_bid, best_ask = book.best(Side.BID), book.best(Side.ASK)
                assert best_bid is not None
                assert best_ask is not None
                assert best_bid < best_ask, symbol
                assert book.level_count(Side.BID) >= 25  # a depth-25 subscription fills

    def test_model_when_running_prints_trades_and_changes_books(self) -> None:
        """Ticks produce trades and book changes."""
        model = MarketModel(build_universe(only=SMALL_SYMBOLS), seed=3)
        results = model.run(50)
        assert sum(len(r.trades) for r in results) > 20
        assert sum(len(r.changed) for r in results) > 50


class TestMispricing:
    def test_injected_mispricing_when_applied_moves_pair_off_its_cross_rate(self) -> None:
        """An injected +200 bps mispricing lifts the pair's mid by about that much at once."""
        model = MarketModel(build_universe(only=SMALL_SYMBOLS), seed=5)
        pair = model.universe.pair("SOL/BTC")
        model.inject_mispricing("SOL/BTC", 200.0, lifetime_ticks=10)
        book = model.book("SOL/BTC")
        best_bid = book.best(Side.BID)
        assert best_bid is not None
        mid = best_bid / 10**pair.price_precision
        assert mid / model.fair_price("SOL/BTC") == pytest.approx(1.02, abs=0.002)
        assert [m.symbol for m in model.mispricings] == ["SOL/BTC"]

    def test_injected_mispricing_when_lifetime_ends_closes(self) -> None:
        """After its lifetime the pair returns to its cross-rate."""
        model = MarketModel(build_universe(only=SMALL_SYMBOLS), seed=5)
        pair = model.universe.pair("SOL/BTC")
        model.inject_mispricing("SOL/BTC", -250.0, lifetime_ticks=3)
        model.run(5)
        assert model.mispricings == ()
        best_ask = model.book("SOL/BTC").best(Side.ASK)
        assert best_ask is not None
        mid = best_ask / 10**pair.price_precision
        assert mid / model.fair_price("SOL/BTC") == pytest.approx(1.0, abs=0.003)

    def test_random_mispricings_when_rate_set_open_about_that_often(self) -> None:
        """With rate r per tick, about r * ticks mispricings open, each beating 3 taker fees."""
        settings = MarketSettings(mispricing_rate=0.1)
        model = MarketModel(build_universe(only=SMALL_SYMBOLS), seed=9, settings=settings)
        opened = [m for r in model.run(400) for m in r.opened]
        assert 20 <= len(opened) <= 70
        assert all(abs(m.deviation_bps) >= 150 for m in opened)


class TestBookSize:
    def test_model_when_default_keeps_fifty_levels_on_ordinary_pairs_deep_on_majors(self) -> None:
        """Ordinary pairs hold the 50 nearest levels (memory); tier-1 pairs keep deep books."""
        model = MarketModel(build_universe(only=SMALL_SYMBOLS), seed=3)
        model.run(20)
        for side in (Side.BID, Side.ASK):
            assert model.book("DOGE/USD").level_count(side) == 50
            assert model.book("BTC/USD").level_count(side) == 1000

    def test_model_when_fewer_levels_kept_keeps_the_same_gap_between_levels(self) -> None:
        """Keeping fewer levels trims the far end: the near levels are spaced as before."""
        universe = build_universe(only=SMALL_SYMBOLS)

        def mean_gap(kept: int) -> float:
            prices = (
                MarketModel(universe, seed=3, settings=MarketSettings(kept_levels_per_side=kept))
                .book("DOGE/USD")
                .prices(Side.ASK)
            )
            return (prices[-1] - prices[0]) / (len(prices) - 1)

        assert mean_gap(50) == pytest.approx(mean_gap(200), rel=0.3)


class TestClock:
    async def test_tick_loop_when_machine_stalls_skips_ahead_and_keeps_stamps_on_time(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """After a 5 s stall the server does not burst the missed ticks, and the model's
        stamps move on with the wall clock instead of falling 5 s behind for good."""
        sim = Simulator(small_config(ticking=False), clock=lambda: 1_700_000_000.0)
        start = sim.model.now()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_tick, sim)
            await trio.sleep(1.0)
            ticks_before = sim.model.tick
            autojump_clock.jump(5.0)  # the process was not scheduled for 5 s
            await trio.sleep(1.0)
            nursery.cancel_scope.cancel()
        elapsed = trio.current_time()
        assert sim.model.tick - ticks_before < 1.5 / 0.02  # no burst of 250 missed ticks
        assert sim.model.now() - start == pytest.approx(elapsed, abs=0.1)

    def test_skip_when_negative_raises(self) -> None:
        """Time only moves ahead."""
        model = MarketModel(build_universe(only=SMALL_SYMBOLS), seed=1)
        with pytest.raises(ValueError, match="ahead"):
            model.skip(-1.0)
