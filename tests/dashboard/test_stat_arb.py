"""The stat-arb view: the read model keeps each pair's latest snapshot and z-score history, and
the page and fragment show them with a z-score chart."""

from __future__ import annotations

import math
import re
from decimal import Decimal

import trio
import trio.testing
from quart.typing import TestClientProtocol as Client

from actors import Bus
from arbitrade.dashboard import AppState, Capacity, DashboardModel, create_app, feed_model
from arbitrade.dashboard._charts import ZThresholds, zscore_svg
from arbitrade.dashboard._fake_stat_arb import run_fake_stat_arb
from arbitrade.dashboard._model import ZScorePoint
from arbitrade.strategy.stat_arb import TOPIC_STAT_ARB, StatArbSettings

from . import samples
from .conftest import settings

THRESHOLDS = StatArbSettings(exit_z=0.5, entry_z=2.0, stop_z=4.0)


async def text(client: Client, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, path
    return await response.get_data(as_text=True)


def client_for(model: DashboardModel, *, with_settings: bool = True) -> Client:
    state = AppState(
        settings=settings(),
        model=model,
        stat_arb_settings=THRESHOLDS if with_settings else None,
    )
    return create_app(state).test_client()


def history(model: DashboardModel, zs: list[float | None], pair: str = "ETH/USD~BTC/USD") -> None:
    for index, z in enumerate(zs):
        model.apply(samples.pair_snapshot(z, pair=pair, at=20.0 + index))


class TestModel:
    def test_snapshot_when_applied_is_the_pairs_latest(self) -> None:
        """Each pair keeps only its newest snapshot; pairs are listed by name."""
        model = DashboardModel()
        model.apply(samples.pair_snapshot(1.0, pair="SOL/USD~BTC/USD"))
        model.apply(samples.pair_snapshot(1.0))
        model.apply(samples.pair_snapshot(2.5, state="open", direction="short"))
        assert [s.pair for s in model.stat_arb_pairs()] == ["ETH/USD~BTC/USD", "SOL/USD~BTC/USD"]
        assert model.stat_arb["ETH/USD~BTC/USD"].z == 2.5

    def test_zscores_when_many_snapshots_keep_the_newest_capacity_oldest_first(self) -> None:
        """The history is bounded by Capacity.zscore_points and reads oldest first."""
        model = DashboardModel(capacity=Capacity(zscore_points=3))
        history(model, [0.1, 0.2, 0.3, 0.4, 0.5])
        assert [p.z for p in model.zscores("ETH/USD~BTC/USD")] == [0.3, 0.4, 0.5]

    def test_zscores_when_snapshot_has_no_finite_z_are_not_recorded(self) -> None:
        """A warming-up pair (z None) or a degenerate z (nan) shows but adds no chart point."""
        model = DashboardModel()
        history(model, [None, math.nan, 1.0])
        assert [p.z for p in model.zscores("ETH/USD~BTC/USD")] == [1.0]
        assert model.zscores("UNKNOWN") == ()

    async def test_feeder_when_snapshot_published_folds_it_lossy_latest(self) -> None:
        """The feeder subscribes to the stat-arb topic like every other view."""
        bus, model = Bus(), DashboardModel()
        async with trio.open_nursery() as nursery:
            await nursery.start(feed_model, bus, model)
            await bus.publish(TOPIC_STAT_ARB, samples.pair_snapshot(-1.5))
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
        assert model.stat_arb["ETH/USD~BTC/USD"].z == -1.5


class TestChart:
    def test_chart_when_fewer_than_two_points_says_so(self) -> None:
        """One observation is no line: the chart is a note."""
        assert "after two observations" in zscore_svg([ZScorePoint(1.0, 0.5)])

    def test_chart_when_thresholds_given_draws_both_sides_of_each(self) -> None:
        """Exit, entry and stop lines are drawn above and below the zero line."""
        svg = zscore_svg([ZScorePoint(1.0, 0.5), ZScorePoint(2.0, -1.0)], ZThresholds(0.5, 2, 4))
        for kind in ("exit", "entry", "stop"):
            assert svg.count(f'class="threshold {kind}"') == 2, kind
        assert svg.count('class="zero"') == 1
        assert "z-score from +0.50 to -1.00 over 2 observations" in svg

    def test_chart_when_z_is_positive_draws_it_above_the_zero_line(self) -> None:
        """SVG y grows downwards: a positive z sits above the middle, a negative one below."""
        svg = zscore_svg([ZScorePoint(0.0, 1.0), ZScorePoint(1.0, -1.0)], width=100, height=50)
        points = re.search(r'polyline class="line" points="([^"]+)"', svg)
        assert points is not None
        (_, y_first), (_, y_last) = (map(float, p.split(",")) for p in points[1].split())
        assert y_first < 25 < y_last


class TestPage:
    async def test_page_when_pairs_reported_shows_ratio_z_state_position_and_chart(self) -> None:
        """Each pair shows its hedge ratio, z-score, state, held legs and an SVG chart."""
        model = DashboardModel()
        history(model, [0.5, 1.4])
        model.apply(
            samples.pair_snapshot(
                2.31,
                at=30.0,
                state="open",
                direction="short",
                holdings=(("ETH/USD", Decimal("-0.03")), ("BTC/USD", Decimal("0.0018"))),
            )
        )
        html = await text(client_for(model), "/stat-arb")
        assert 'data-pair="ETH/USD~BTC/USD"' in html
        assert 'data-testid="stat-ratio">1.2000<' in html
        assert 'class="num mono z-entry" data-testid="stat-z">+2.31<' in html
        assert 'data-testid="stat-state">open<' in html
        assert "short" in html
        assert "-0.03 ETH/USD" in html
        assert "+0.0018 BTC/USD" in html
        assert '<svg class="zscore"' in html
        assert html.count('class="threshold entry"') == 2
        assert "entry at |z| ≥ 2.0" in html

    async def test_page_when_pair_is_flat_says_flat(self) -> None:
        """Zero holdings read as flat, not as two zero legs."""
        model = DashboardModel()
        model.apply(samples.pair_snapshot(0.2))
        html = await text(client_for(model), "/stat-arb")
        assert '<span class="muted">flat</span>' in html
        assert 'class="num mono z-inside"' in html

    async def test_page_when_settings_not_wired_draws_no_threshold_lines(self) -> None:
        """Without the strategy's settings the chart has only the zero line."""
        model = DashboardModel()
        history(model, [0.5, 1.4, 2.2])
        html = await text(client_for(model, with_settings=False), "/stat-arb")
        assert '<svg class="zscore"' in html
        assert "threshold" not in html
        assert 'class="num mono z-none"' in html

    async def test_page_when_nothing_reported_says_so(self, client: Client) -> None:
        """An empty model explains that pairs appear after their first observation."""
        html = await text(client, "/stat-arb")
        assert "No stat-arb pair has reported yet" in html

    async def test_fragment_when_polled_renders_only_the_pairs(self) -> None:
        """The fragment is the self-polling pairs block without the page around it."""
        model = DashboardModel()
        history(model, [0.5, 1.4])
        html = await text(client_for(model), "/fragments/stat-arb")
        assert html.lstrip().startswith('<div id="stat-arb" hx-get="/fragments/stat-arb"')
        assert "<html" not in html
        assert 'data-pair="ETH/USD~BTC/USD"' in html

    async def test_nav_when_any_page_renders_links_the_stat_arb_page(self, client: Client) -> None:
        """Every page's navigation has the stat-arb link, marked current on its own page."""
        assert '<a href="/stat-arb">Stat-arb</a>' in await text(client, "/")
        own = await text(client, "/stat-arb")
        assert '<a href="/stat-arb" class="active" aria-current="page">Stat-arb</a>' in own


class TestDemo:
    async def test_fake_stat_arb_when_run_a_while_enters_and_exits_at_the_thresholds(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The demo's pair publishes every second, opens beyond entry_z and closes inside exit_z."""
        bus, model = Bus(), DashboardModel()
        seen: list[tuple[float, str]] = []
        async with trio.open_nursery() as nursery:
            await nursery.start(feed_model, bus, model)
            await nursery.start(run_fake_stat_arb, bus, THRESHOLDS)
            for _ in range(300):
                await trio.sleep(1.0)
                snapshot = model.stat_arb["ETH/USD~BTC/USD"]
                assert snapshot.z is not None
                seen.append((snapshot.z, snapshot.state))
            nursery.cancel_scope.cancel()
        assert len(model.zscores("ETH/USD~BTC/USD")) == 300
        assert {"flat", "open"} <= {state for _, state in seen}
        opened = [
            z
            for (z, state), (_, before) in zip(seen[1:], seen, strict=False)
            if state == "open" and before == "flat"
        ]
        assert opened
        assert all(abs(z) >= THRESHOLDS.entry_z for z in opened)
