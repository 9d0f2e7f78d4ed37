"""The backtests page in real headless Chromium: run one, watch it, find its report, open it.

The demo dashboard runs in a subprocess whose working directory is a temporary folder, so its
backtests database (``data/arbitrade-backtests.duckdb``, beside the bot's default file) lives
there; the backtest replays ninety seconds of the simulator fixture in a real worker process.
Screenshots go to the artifacts folder the other browser tests use (printed at the start).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from arbitrade.backtest import store_report
from arbitrade.backtest.sweep import PointRow
from arbitrade.backtest.sweep._store import create_sweep, record_point
from tests.dashboard.backtest_samples import make_report
from tests.dashboard.browser import CHROMIUM, CHROMIUM_ARGS, REPO, artifacts_folder, serve_demo

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TOKEN = "browser-backtests-operator-token"
RECORDING = REPO / "tests" / "fixtures" / "recordings" / "sim-6pairs-3min"
FEES = REPO / "config" / "fees.toml"

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

RECORD_STATES = """() => {
  window.__runStates = [];
  const note = () => {
    const run = document.querySelector('[data-testid=backtest-run]');
    if (run) window.__runStates.push([run.dataset.status, +run.dataset.done, +run.dataset.total]);
  };
  new MutationObserver(note).observe(
    document.querySelector('#backtest-progress'), {childList: true, subtree: true});
  note();
}"""
"""Keeps every state the streamed run panel shows: [status, events done, events in total]."""


@pytest.fixture(scope="module")
def artifacts(request: pytest.FixtureRequest) -> Path:
    return artifacts_folder(request, "backtests")


SWEEP_ID = "sw-0000000000b1"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary folder whose backtests database already holds one finished sweep point."""
    folder = tmp_path_factory.mktemp("backtests-browser")
    database = folder / "data" / "arbitrade-backtests.duckdb"
    database.parent.mkdir()
    report = make_report("browser-sweep")
    store_report(database, report, created_at_wall=time.time() - 3600)
    create_sweep(
        database, sweep_id=SWEEP_ID, method="grid", objective="net_pnl", total=2, spec_json="{}"
    )
    record_point(
        database,
        PointRow(
            sweep_id=SWEEP_ID,
            point_id="p1",
            params={"parameters.min_profit_bps": 5},
            status="done",
            report_id=report.report_id,
            objective_value=12.5,
            error=None,
            run_seconds=1.0,
            prepare_seconds=0.1,
            point_seconds=1.2,
            worker="w1",
            finished_at_wall=time.time() - 3600,
        ),
    )
    return folder


@pytest.fixture(scope="module")
def demo(workdir: Path) -> Iterator[str]:
    """The demo dashboard on a free loopback port, working in a temporary folder."""
    with serve_demo(TOKEN, cwd=workdir, env={**os.environ, "PYTHONPATH": str(REPO)}) as base:
        yield base


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()
        browser.close()


def fill_form(page: Page, **values: str) -> None:
    for name, value in values.items():
        page.fill(f"#backtest-form [name='{name}']", value)


def test_backtest_when_run_from_the_page_streams_progress_and_opens_its_report(
    demo: str, page: Page, artifacts: Path, workdir: Path
) -> None:
    """Sign in, see the stored sweep with its best point, refuse a bad value, run, watch
    progress, find the report in the list, open it."""
    page.goto(demo + "/controls")
    page.fill("#name", "backtester")
    page.fill("#token", TOKEN)
    page.click("form[action='/login'] button")
    page.wait_for_selector("[data-testid=operator]")

    page.goto(demo + "/backtests")
    database = page.inner_text("[data-testid=backtests-database]")
    assert database.endswith("arbitrade-backtests.duckdb")
    sweeps = page.inner_text("#backtest-sweeps")
    assert SWEEP_ID in sweeps
    assert "parameters.min_profit_bps=5" in sweeps
    assert page.locator("#backtest-sweeps a").first.inner_text() == "12.5"  # its best point
    form = {
        "events": str(RECORDING),
        "end": "2024-05-01T10:01:30Z",
        "balances": "USD=10000, BTC=0.2, ETH=3, SOL=50",
        "fees_path": str(FEES),
    }
    fill_form(page, **form, capital="50000")
    page.click("[data-testid=run-backtest]")
    assert "exceeds the starting USD balance" in page.inner_text("#error-capital")
    assert page.locator("[data-testid=backtest-run]").count() == 0  # nothing started
    page.screenshot(path=artifacts / "backtests-refused.png", full_page=True)

    fill_form(page, capital="1000")
    page.click("[data-testid=run-backtest]")
    page.wait_for_selector(".flash")
    assert "Backtest 1 started" in page.inner_text(".flash")
    page.evaluate(RECORD_STATES)
    # the worker's first step comes after it started, loaded the recording and replayed 1024
    page.wait_for_function(
        "() => window.__runStates.some(([status, done]) => status !== 'running' || done > 0)",
        timeout=180_000,
    )
    page.screenshot(path=artifacts / "backtests-running.png", full_page=True)
    page.wait_for_selector("[data-testid=backtest-run][data-status=finished]", timeout=180_000)
    states = page.evaluate("window.__runStates")
    running = [state for state in states if state[0] == "running" and state[1] > 0]
    assert running, f"no progress was streamed: {states}"
    assert all(done <= total for _, done, total in running)
    assert states[-1][0] == "finished"

    report_id = page.inner_text("[data-testid=backtest-report-link]")
    row = f"#backtest-report-rows tr[data-report='{report_id}']"
    page.wait_for_selector(row)  # the list refreshed itself when the run ended
    assert (
        page.locator("#backtest-report-rows tbody tr").first.get_attribute("data-report")
        == report_id
    )
    page.screenshot(path=artifacts / "backtests-finished.png", full_page=True)

    page.click(f"{row} a")
    page.wait_for_selector("[data-testid=report-chart] svg.equity polyline")
    assert page.inner_text("[data-testid=report-id]") == report_id
    assert page.title() == f"Backtest {report_id} · Arbitrade"
    assert "Opportunities seen" in page.inner_text("#report-figures")
    configuration = page.inner_text("#report-configuration")
    assert "sim-6pairs-3min" in configuration
    assert "2024-05-01T10:01:30Z" in configuration
    page.screenshot(path=artifacts / "backtest-report.png", full_page=True)
    assert (workdir / "data" / "arbitrade-backtests.duckdb").exists()
    assert not (workdir / "data" / "arbitrade.duckdb").exists()  # the bot's file is untouched
