"""Every page and fragment renders what the read model holds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from quart.typing import TestClientProtocol as Client

from actors import ChildCrashed, MailboxStatistics, NodeInfo
from arbitrade.dashboard import AppState, create_app
from arbitrade.dashboard._charts import equity_svg
from arbitrade.dashboard._model import EquityPoint
from arbitrade.messages import BookHealth, OrderState

from . import samples
from .conftest import settings


async def text(client: Client, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, path
    return await response.get_data(as_text=True)


@pytest.fixture
async def filled(state: AppState) -> AppState:
    """A state whose model has seen one of everything."""
    state.model.apply_all(
        [
            samples.feed("book"),
            samples.feed("ticker", "disconnected", "connection reset"),
            samples.book_top("BTC/USD"),
            samples.book_state("BTC/USD", BookHealth.RESYNCING, checksum_ok=False),
            samples.opportunity(7),
            samples.portfolio(at_wall=samples.WALL),
            samples.portfolio(pnl_today="-2.5", at_wall=samples.WALL + 5),
            samples.order("opp-7-1", OrderState.FILLED),
            samples.fill(),
            samples.audit("risk.rejected", "opp-7", "min_profit"),
            ChildCrashed(
                "root/feeds/book", "book", 3.0, error_type="OSError", error_message="boom"
            ),
        ]
    )
    return state


class TestOverview:
    async def test_overview_when_model_filled_shows_mode_feeds_balances_pnl_and_chart(
        self, filled: AppState, client: Client
    ) -> None:
        """The overview shows mode, feed health, balances, PnL, the equity chart and counts."""
        html = await text(client, "/")
        assert 'class="pill mode-sim"' in html
        assert "connection reset" in html  # the down feed's reason
        assert "-2.50" in html  # realised PnL today
        assert "+20.25" in html  # realised PnL total
        assert "<svg" in html
        assert "polyline" in html
        assert 'data-testid="count-opportunities">1<' in html
        assert 'sse-connect="/stream/opportunities"' in html
        assert 'data-id="opp-7"' in html

    async def test_overview_fragment_when_polled_renders_only_the_status_panel(
        self, filled: AppState, client: Client
    ) -> None:
        """The fragment is the self-polling status section without the page around it."""
        html = await text(client, "/fragments/overview")
        assert html.lstrip().startswith('<section id="overview-status"')
        assert "<html" not in html

    async def test_overview_when_no_token_configured_still_renders(self) -> None:
        """An empty model and no bus render a page that says what is missing."""
        client = create_app(AppState(settings=settings(token=""))).test_client()
        html = await text(client, "/")
        assert "No portfolio snapshot yet." in html
        assert "No feed has reported yet." in html


class TestOpportunities:
    async def test_opportunities_when_seen_lists_legs_size_profit_age_and_latency(
        self, filled: AppState, client: Client
    ) -> None:
        """Each row shows the cycle's legs, size, profit, oldest book age and latency."""
        html = await text(client, "/opportunities")
        assert "buy BTC/USD" in html
        assert "sell ETH/USD" in html
        assert "192 USD" in html
        assert "0.24" in html
        assert "12.50" in html
        assert "250.0 ms" in html  # oldest book age
        assert "1.50 ms" in html  # detection latency
        assert 'sse-swap="opportunity"' in html


class TestBooks:
    async def test_books_when_pair_chosen_shows_levels_and_checksum_result(
        self, filled: AppState, client: Client
    ) -> None:
        """The book page shows the pair's top levels and its last checksum result."""
        html = await text(client, "/books?symbol=BTC/USD")
        assert "64,000" in html
        assert "64,001" in html
        assert "checksum mismatch" in html
        assert 'sse-connect="/stream/books?symbol=BTC/USD"' in html

    async def test_book_fragment_when_symbol_unknown_says_no_levels(
        self, filled: AppState, client: Client
    ) -> None:
        """An unknown pair is not an error: the fragment says there is nothing yet."""
        html = await text(client, "/fragments/book?symbol=DOGE/USD")
        assert "No levels for DOGE/USD yet." in html

    async def test_books_when_no_symbol_given_shows_the_first_pair(
        self, filled: AppState, client: Client
    ) -> None:
        """Without a choice, the first known pair is shown."""
        html = await text(client, "/books")
        assert "<h2>BTC/USD</h2>" in html


class TestSupervision:
    async def test_supervision_when_registry_wired_shows_tree_with_state_and_restarts(
        self, filled: AppState, client: Client
    ) -> None:
        """Every actor is listed with its state and restart count."""

        class Tree:
            def snapshot(self) -> tuple[NodeInfo, ...]:
                mailbox = MailboxStatistics("root/feeds/book", 10, 3, 1, 0, True)
                return (
                    NodeInfo("root", "supervisor", "running", 0, None),
                    NodeInfo("root/feeds/book", "actor", "restarting", 2, mailbox),
                )

        filled.registry = Tree()
        html = await text(client, "/supervision")
        assert 'title="root/feeds/book"' in html
        assert "restarting" in html
        assert '<td class="num neg">2</td>' in html

    async def test_supervision_when_registry_missing_says_so(
        self, filled: AppState, client: Client
    ) -> None:
        """No registry is stated, not shown as an empty tree."""
        html = await text(client, "/fragments/tree")
        assert "not wired" in html

    async def test_restarts_fragment_when_filtered_by_other_actor_shows_none(
        self, filled: AppState, client: Client
    ) -> None:
        """The restart log filter applies to the fragment."""
        assert "OSError" in await text(client, "/fragments/restarts?actor=root/feeds")
        html = await text(client, "/fragments/restarts?actor=root/risk")
        assert "No restart-log events for root/risk." in html


class TestOrdersAndAudit:
    async def test_orders_when_filled_shows_order_state_and_fill(
        self, filled: AppState, client: Client
    ) -> None:
        """Orders show their latest state; fills their price, quantity and fee."""
        html = await text(client, "/orders")
        assert "opp-7-1" in html
        assert "state-filled" in html
        assert "0.4992 USD" in html
        assert "opp-7-1" in await text(client, "/fragments/orders")

    async def test_audit_when_filtered_shows_matching_decisions_with_reason(
        self, filled: AppState, client: Client
    ) -> None:
        """Risk decisions appear with their reason; a kind filter hides the others."""
        html = await text(client, "/audit")
        assert "risk.rejected" in html
        assert "<td>min_profit</td>" in html
        assert "No audit events of kind control." in await text(
            client, "/fragments/audit?kind=control."
        )


class TestStatic:
    @pytest.mark.parametrize(
        "path",
        [
            "/static/vendor/htmx.min.js",
            "/static/vendor/htmx-ext-sse.min.js",
            "/static/dashboard.css",
            "/static/dashboard.js",
        ],
    )
    async def test_static_when_requested_is_served_from_the_package(
        self, client: Client, path: str
    ) -> None:
        """HTMX and the stylesheet come from the package, never a CDN."""
        response = await client.get(path)
        assert response.status_code == 200

    async def test_pages_when_rendered_reference_no_external_host(
        self, filled: AppState, client: Client
    ) -> None:
        """No page loads anything from another host."""
        for path in [
            "/",
            "/opportunities",
            "/books",
            "/supervision",
            "/orders",
            "/audit",
            "/controls",
        ]:
            html = await text(client, path)
            assert "https://" not in html, path
            assert "//cdn" not in html, path


class TestEquityChart:
    def test_equity_svg_when_fewer_than_two_points_explains_instead(self) -> None:
        """One point is not a line."""
        assert "<svg" not in equity_svg([EquityPoint(1.0, Decimal(1))])

    def test_equity_svg_when_series_flat_draws_mid_height(self) -> None:
        """A flat series does not divide by zero."""
        points = [EquityPoint(float(t), Decimal(5)) for t in range(3)]
        assert "45.0" in equity_svg(points, height=90)
