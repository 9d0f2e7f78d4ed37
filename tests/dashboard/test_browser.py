"""The dashboard in real headless Chromium, against the demo server in a subprocess.

One demo process and one browser serve the whole module. Screenshots of every page are saved
under the artifacts folder printed at the start (``ARBITRADE_TEST_ARTIFACTS`` or
``test-artifacts/dashboard``); with ARBITRADE_UPDATE_SCREENSHOTS=1 the overview is also copied
to ``docs/screenshots/``.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.dashboard.browser import CHROMIUM, CHROMIUM_ARGS, REPO, artifacts_folder, serve_demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TOKEN = "browser-test-operator-token"
PAGES = ["overview", "opportunities", "books", "supervision", "orders", "audit", "controls"]

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def artifacts(request: pytest.FixtureRequest) -> Path:
    return artifacts_folder(request, "dashboard")


@pytest.fixture(scope="module")
def demo() -> Iterator[str]:
    """The demo dashboard with its fake market, on a free loopback port."""
    with serve_demo(TOKEN) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(browser: sync_api.Browser) -> Iterator[sync_api.Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def metric(base: str, name: str) -> float:
    """The sum of every sample of ``name`` on /metrics."""
    text = httpx.get(f"{base}/metrics", timeout=5).text
    pattern = re.compile(rf"^{re.escape(name)}(?:{{[^}}]*}})? ([0-9.e+-]+)$", re.MULTILINE)
    return sum(float(value) for value in pattern.findall(text))


def test_overview_when_opportunities_arrive_shows_them_without_reload(
    demo: str, page: sync_api.Page, artifacts: Path
) -> None:
    """New opportunities appear on the open overview; the page is never reloaded."""
    page.goto(demo + "/")
    page.evaluate("window.__notReloaded = true")
    seen = set(
        page.eval_on_selector_all("#live-opportunities tr", "rows => rows.map(r => r.dataset.id)")
    )
    page.wait_for_function(
        "seen => [...document.querySelectorAll('#live-opportunities tr')]"
        ".some(row => !seen.includes(row.dataset.id))",
        arg=list(seen),
    )
    assert page.evaluate("window.__notReloaded") is True
    rows = page.locator("#live-opportunities tr").count()
    assert 1 <= rows <= 8  # trimmed to the panel's size
    # a few portfolio snapshots, so the equity chart in the README has a shape
    page.wait_for_function(
        "() => (document.querySelector('svg.equity polyline')?.getAttribute('points') || '')"
        ".split(' ').length >= 5"
    )
    page.screenshot(path=artifacts / "overview.png", full_page=True)
    if os.environ.get("ARBITRADE_UPDATE_SCREENSHOTS") == "1":  # never dirty the tree by default
        docs = REPO / "docs" / "screenshots"
        docs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(artifacts / "overview.png", docs / "overview.png")


def test_pages_when_opened_render_and_are_saved_as_screenshots(
    demo: str, page: sync_api.Page, artifacts: Path
) -> None:
    """Every page renders with live data; a screenshot of each is kept."""
    waits = {
        "opportunities": "#opportunity-rows tr",
        "books": "[data-testid=checksum]",
        "supervision": "#tree table",
        "orders": "#orders table",
        "audit": "#audit table",
        "controls": "form[action='/login']",
    }
    for name in PAGES[1:]:
        page.goto(f"{demo}/{name}")
        page.wait_for_selector(waits[name])
        assert page.title().endswith("· Arbitrade")
        page.screenshot(path=artifacts / f"{name}.png", full_page=True)
    page.goto(f"{demo}/books?symbol=ETH/USD")
    first = page.inner_text("#book")
    page.wait_for_function(  # the book updates live, without a reload
        "first => document.querySelector('#book').innerText !== first", arg=first
    )


def test_kill_switch_when_flipped_with_the_token_stops_trading(
    demo: str, page: sync_api.Page, artifacts: Path
) -> None:
    """Signing in with the token and engaging the kill switch stops new fills."""
    assert metric(demo, "arbitrade_fills_total") > 0, "the demo should be trading"
    page.goto(demo + "/controls")
    page.fill("#name", "browser-test")
    page.fill("#token", TOKEN)
    page.click("form[action='/login'] button")
    page.wait_for_selector("[data-testid=operator]")
    page.click("[data-testid=engage-kill-switch]")
    page.wait_for_selector("[data-testid=kill-switch-badge]")
    assert "Kill switch engaged" in page.inner_text(".flash")
    page.screenshot(path=artifacts / "controls-kill-switch.png", full_page=True)

    time.sleep(0.5)  # a cycle already past the gate may still finish
    fills = metric(demo, "arbitrade_fills_total")
    deadline = time.monotonic() + 15
    while metric(demo, 'arbitrade_risk_rejections_total{reason="kill_switch"}') < 3:
        assert time.monotonic() < deadline, "no opportunity was rejected by the kill switch"
        time.sleep(0.3)
    assert metric(demo, "arbitrade_fills_total") == fills

    page.goto(demo + "/")
    assert page.inner_text("[data-testid=kill-switch]") == "engaged"
    page.goto(demo + "/audit?kind=control.")
    assert "operator:browser-test" in page.inner_text("#audit")
