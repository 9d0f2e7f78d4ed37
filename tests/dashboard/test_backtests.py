"""The backtests page: the form, starting and cancelling runs, progress, reports, a report page.

The run itself is faked at the ``run_in_worker`` seam (``runner.worker``); the form's values
are still checked against a real recording by ``check_backtest``.
"""

from __future__ import annotations

import html as html_text
import re
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quart import typing as quart_typing
from quart.typing import TestClientProtocol as Client
from quart_trio import QuartTrio

from actors import Bus, Lossless, Subscription
from arbitrade.backtest import BacktestFailed, BacktestSettings, list_reports, store_report
from arbitrade.backtest.sweep import PointRow
from arbitrade.backtest.sweep._store import create_sweep, record_point
from arbitrade.config import Secret, Settings
from arbitrade.dashboard import AppState, create_app
from arbitrade.dashboard._backtests import runner_of
from arbitrade.dashboard._backtests_form import form_names
from arbitrade.dashboard._backtests_runner import BacktestRunner, RunStatus
from arbitrade.graph import GraphSettings
from arbitrade.messages import TOPIC_AUDIT, AuditEvent
from tests.fuzz.strategies import ODD_STRINGS

from .backtest_samples import FakeWorker, make_report, until_ended, valid_form
from .conftest import CSRF, TOKEN, sign_in
from .sse import open_stream


@pytest.fixture
def bot_database(tmp_path: Path) -> Path:
    return tmp_path / "data" / "arbitrade.duckdb"


@pytest.fixture
def database(bot_database: Path) -> Path:
    """Where the dashboard keeps its backtests: beside the bot's file, never in it."""
    return bot_database.with_name("arbitrade-backtests.duckdb")


@pytest.fixture
async def app(bot_database: Path, bus: Bus) -> QuartTrio:
    settings = Settings(operator_token=Secret(TOKEN), app_env="test", duckdb_path=bot_database)
    app = create_app(AppState(settings=settings, bus=bus))
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = None  # stop at once, not after 5 s
    return app


@pytest.fixture
async def worker(app: QuartTrio) -> FakeWorker:
    fake = FakeWorker()
    runner_of(app).worker = fake
    return fake


@pytest.fixture
async def served(app: QuartTrio, worker: FakeWorker) -> AsyncIterator[quart_typing.TestAppProtocol]:
    """The app with its lifespan running (runs are tasks in the app's nursery)."""
    async with app.test_app() as test_app:
        yield test_app


@pytest.fixture
async def runner(app: QuartTrio) -> BacktestRunner:
    return runner_of(app)


@pytest.fixture
async def client(served: quart_typing.TestAppProtocol) -> Client:
    return served.test_client()


@pytest.fixture
async def operator(client: Client) -> Client:
    await sign_in(client)
    return client


async def get(client: Client, path: str, status: int = 200) -> str:
    response = await client.get(path)
    assert response.status_code == status, path
    return await response.get_data(as_text=True)


async def start(client: Client, form: dict[str, str], **headers: str) -> tuple[int, str]:
    response = await client.post(
        "/backtests/run", form={"csrf_token": CSRF, **form}, headers=headers
    )
    return response.status_code, await response.get_data(as_text=True)


def field_error(html: str, name: str) -> str:
    match = re.search(
        rf'<span class="field-error" role="alert" id="error-{re.escape(name)}">([^<]*)<', html
    )
    assert match, f"no message beside {name}"
    return html_text.unescape(match.group(1))


class TestPage:
    async def test_page_when_opened_has_a_field_for_every_backtest_setting(
        self, client: Client
    ) -> None:
        """Each setting of BacktestSettings, and each strategy parameter, is a form field."""
        html = await get(client, "/backtests")
        names = set(re.findall(r'<(?:input|select) id="[^"]+" name="([^"]+)"', html))
        for field in attrs.fields(BacktestSettings):
            if field.name in ("parameters", "risk"):
                assert any(name.startswith(f"{field.name}.") for name in names), field.name
            else:
                assert field.name in names, field.name
        for field in attrs.fields(GraphSettings):
            if field.name != "home_currencies":  # the backtest's home decides it
                assert f"parameters.{field.name}" in names, field.name

    async def test_page_when_opened_names_its_own_database_beside_the_bots(
        self, client: Client, database: Path
    ) -> None:
        """The page says where reports go: a file of their own beside the bot's DuckDB file."""
        html = await get(client, "/backtests")
        assert f'data-testid="backtests-database">{database}<' in html
        assert "one process write a file at a time" in html

    async def test_page_when_signed_out_asks_to_sign_in_and_disables_run(
        self, client: Client
    ) -> None:
        """Without an operator session the Run button is disabled and the page says why."""
        html = await get(client, "/backtests")
        assert 'data-testid="backtest-sign-in"' in html
        assert re.search(r'data-testid="run-backtest" disabled', html)

    async def test_nav_when_any_page_opened_links_the_backtests_page(self, client: Client) -> None:
        """The top bar links the backtests page."""
        assert 'href="/backtests"' in await get(client, "/")


class TestStart:
    async def test_run_when_signed_out_answers_401_and_starts_nothing(
        self, client: Client, worker: FakeWorker
    ) -> None:
        """Starting a backtest is a control: no operator session, no run."""
        status, html = await start(client, valid_form())
        assert status == 401
        assert "Sign in with the operator token" in html
        assert worker.calls == []

    async def test_run_when_csrf_token_wrong_answers_403_and_starts_nothing(
        self, operator: Client, worker: FakeWorker
    ) -> None:
        """A signed-in session still needs the form's CSRF token."""
        status, _ = await start(operator, {**valid_form(), "csrf_token": "forged"})
        assert status == 403
        assert worker.calls == []

    async def test_run_when_bearer_token_wrong_answers_401_json(
        self, client: Client, worker: FakeWorker
    ) -> None:
        """A script with a wrong bearer token is refused in JSON."""
        response = await client.post(
            "/backtests/run", form=valid_form(), headers={"Authorization": "Bearer nope"}
        )
        assert response.status_code == 401
        assert (await response.get_json())["ok"] is False
        assert worker.calls == []

    async def test_run_when_no_operator_token_configured_answers_403(
        self, bot_database: Path
    ) -> None:
        """With controls disabled nobody can start a backtest."""
        app = create_app(AppState(settings=Settings(duckdb_path=bot_database)))
        app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = None
        fake = FakeWorker()
        runner_of(app).worker = fake
        async with app.test_app() as served:
            client = served.test_client()
            await sign_in(client)
            status, html = await start(client, valid_form())
        assert status == 403
        assert "Controls are disabled" in html
        assert fake.calls == []

    @pytest.mark.parametrize(
        ("changes", "field", "message"),
        [
            ({"events": ""}, "events", "no recording given"),
            ({"events": "/no/such/recording"}, "events", "does not exist"),
            ({"capital": "20000"}, "capital", "exceeds the starting USD balance"),
            ({"capital": "lots"}, "capital", "expected a number"),
            ({"balances": "USD=-5"}, "balances", "must be zero or more"),
            ({"balances": "USD=10000, DOGE=5"}, "balances", "unknown asset 'DOGE'"),
            ({"fee_profile": "cheap"}, "fee_profile", "unknown fee profile 'cheap'"),
            ({"order_latency_ms": "-1"}, "order_latency_ms", "cannot be negative"),
            ({"start": "soon"}, "start", "expected an ISO 8601 time"),
            ({"end": "2030-01-01T00:00:00Z"}, "end", "outside the recording"),
            ({"symbols": "ETH/USD"}, "symbols", "'ETH/USD' was not recorded"),
            ({"seed": "x"}, "seed", "expected a whole number"),
            (
                {"parameters.max_cycle_length": "9"},
                "parameters.max_cycle_length",
                "expected 3 or 4",
            ),
            ({"risk.max_open_cycles": "0"}, "risk.max_open_cycles", "must be more than zero"),
        ],
    )
    async def test_run_when_a_value_is_bad_answers_422_beside_its_field_and_starts_nothing(
        self,
        operator: Client,
        worker: FakeWorker,
        changes: dict[str, str],
        field: str,
        message: str,
    ) -> None:
        """A bad value gets its message beside the field; no worker is started."""
        status, html = await start(operator, valid_form(**changes))
        assert status == 422
        assert message in field_error(html, field)
        assert worker.calls == []

    async def test_run_when_a_value_is_bad_shows_the_submitted_values_again(
        self, operator: Client
    ) -> None:
        """The refused form keeps what the operator typed."""
        _, html = await start(operator, valid_form(capital="20000", seed="41"))
        assert 'name="capital" value="20000"' in html
        assert 'name="seed" value="41"' in html
        assert 'aria-invalid="true" aria-describedby="error-capital"' in html

    async def test_run_when_a_nested_value_is_bad_opens_its_group(self, operator: Client) -> None:
        """A bad risk limit opens the collapsed risk group so its message is seen."""
        _, html = await start(operator, valid_form(**{"risk.max_open_cycles": "0"}))
        assert re.search(r"<details open><summary>Risk limits", html)

    async def test_run_when_valid_starts_one_worker_with_the_form_values(
        self, operator: Client, worker: FakeWorker, database: Path
    ) -> None:
        """A valid form starts the worker on the dashboard's own database and redirects."""
        status, _ = await start(
            operator, valid_form(**{"parameters.stable_assets": "USD, EUR", "seed": "5"})
        )
        assert status == 303
        await trio.testing.wait_all_tasks_blocked()
        assert len(worker.calls) == 1
        values, used = worker.calls[0]
        assert used == database
        assert values["seed"] == "5"
        assert values["parameters"] == {"stable_assets": ["USD", "EUR"]}
        assert "risk" not in values  # empty nested fields keep their defaults
        assert "csrf_token" not in values
        html = await get(operator, "/backtests")
        assert "Backtest 1 started" in html
        assert 'data-status="running"' in html

    async def test_run_when_one_is_running_answers_409_and_starts_nothing(
        self, operator: Client, worker: FakeWorker
    ) -> None:
        """At most one backtest runs at a time."""
        await start(operator, valid_form())
        await trio.testing.wait_all_tasks_blocked()
        status, html = await start(operator, valid_form(seed="2"))
        assert status == 409
        assert "already running" in html
        assert len(worker.calls) == 1

    async def test_run_with_bearer_token_answers_202_json(
        self, client: Client, worker: FakeWorker
    ) -> None:
        """Scripts start backtests with the bearer token and get JSON back."""
        response = await client.post(
            "/backtests/run", form=valid_form(), headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.status_code == 202
        body = await response.get_json()
        assert body["ok"] is True
        assert body["run"] == 1
        assert "kraken-btc-usd" in body["summary"]

    async def test_run_with_bearer_token_when_bad_answers_422_json_naming_the_field(
        self, client: Client
    ) -> None:
        """A script's bad value comes back as JSON naming the field."""
        response = await client.post(
            "/backtests/run",
            form=valid_form(capital="0"),
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert response.status_code == 422
        body = await response.get_json()
        assert body["field"] == "capital"
        assert "more than zero" in body["error"]

    async def test_run_when_started_records_who_in_the_audit_log(
        self, operator: Client, bus: Bus
    ) -> None:
        """Starting a backtest is audited with the operator's name."""
        audits: Subscription = bus.subscribe(TOPIC_AUDIT, Lossless(10))
        await start(operator, valid_form())
        event = audits.receive_nowait()
        assert isinstance(event, AuditEvent)
        assert event.kind == "backtest.started"
        assert event.actor == "operator:alice"


class TestCancel:
    async def test_cancel_when_running_cancels_the_worker_and_says_so(
        self, operator: Client, worker: FakeWorker, runner: BacktestRunner
    ) -> None:
        """Cancel ends the run's task (the real worker's process is terminated with it)."""
        await start(operator, valid_form())
        await trio.testing.wait_all_tasks_blocked()
        response = await operator.post("/backtests/cancel", form={"csrf_token": CSRF})
        assert response.status_code == 303
        await until_ended(runner)
        assert worker.cancelled
        snapshot = runner.snapshot()
        assert snapshot is not None
        assert snapshot.status is RunStatus.CANCELLED
        html = await get(operator, "/backtests")
        assert "Backtest 1 cancelled." in html
        assert 'data-status="cancelled"' in html

    async def test_cancel_when_signed_out_answers_401_and_the_run_goes_on(
        self,
        operator: Client,
        worker: FakeWorker,
        runner: BacktestRunner,
        served: quart_typing.TestAppProtocol,
    ) -> None:
        """Cancelling is a control too."""
        await start(operator, valid_form())
        await trio.testing.wait_all_tasks_blocked()
        stranger = served.test_client()
        response = await stranger.post("/backtests/cancel", form={"csrf_token": CSRF})
        assert response.status_code == 401
        assert runner.busy
        assert not worker.cancelled

    async def test_cancel_when_nothing_runs_says_so(self, operator: Client) -> None:
        """Cancel without a run changes nothing and says there was none."""
        response = await operator.post("/backtests/cancel", form={"csrf_token": CSRF})
        assert response.status_code == 303
        assert "No backtest is running." in await get(operator, "/backtests")


class TestProgress:
    async def test_progress_when_worker_steps_shows_done_of_total_rate_and_eta(
        self, operator: Client, worker: FakeWorker, mock_clock: trio.testing.MockClock
    ) -> None:
        """Events replayed of total, the rate between steps and the time left at that rate."""
        worker.steps = [(1024, 4096), (2048, 4096)]
        worker.between = trio.Event()
        await start(operator, valid_form())
        await trio.testing.wait_all_tasks_blocked()
        html = await get(operator, "/fragments/backtests/progress")
        assert "1,024 of 4,096 (25%)" in html
        mock_clock.jump(2.0)
        worker.between.set()
        await trio.testing.wait_all_tasks_blocked()
        html = await get(operator, "/fragments/backtests/progress")
        assert "2,048 of 4,096 (50%)" in html
        assert "512 events/s" in html  # 1024 more events in 2 seconds
        assert 'data-testid="backtest-eta">4s<' in html  # 2048 left at 512/s
        assert 'data-testid="cancel-backtest"' in html

    async def test_progress_when_finished_links_the_report_and_lists_it(
        self, operator: Client, worker: FakeWorker, runner: BacktestRunner
    ) -> None:
        """A finished run links its report, and recent reports now list it."""
        worker.report = make_report("finished")
        await start(operator, valid_form())
        await trio.testing.wait_all_tasks_blocked()
        worker.release.set()
        await until_ended(runner)
        progress = await get(operator, "/fragments/backtests/progress")
        assert f'href="/backtests/{worker.report.report_id}"' in progress
        assert 'data-status="finished"' in progress
        reports = await get(operator, "/fragments/backtests/reports")
        assert f'data-report="{worker.report.report_id}"' in reports

    async def test_progress_when_worker_fails_shows_its_error(
        self, operator: Client, worker: FakeWorker, runner: BacktestRunner
    ) -> None:
        """A worker that ends without a report leaves its error on the page."""
        worker.error = BacktestFailed("the worker died (exit code -9)")
        await start(operator, valid_form())
        await trio.testing.wait_all_tasks_blocked()
        worker.release.set()
        await until_ended(runner)
        html = await get(operator, "/fragments/backtests/progress")
        assert 'data-status="failed"' in html
        assert "the worker died (exit code -9)" in html

    async def test_stream_when_run_goes_sends_progress_then_reports(
        self, app: QuartTrio, worker: FakeWorker, runner: BacktestRunner
    ) -> None:
        """The SSE stream pushes the run panel on each step and a ``reports`` event at the end."""
        worker.steps = [(1024, 2048), (2048, 2048)]
        worker.between = trio.Event()
        async with trio.open_nursery() as nursery, open_stream(app, "/stream/backtests") as stream:
            first = await stream.read_event("progress")
            assert "No backtest has run" in first
            runner.start(nursery, {}, who="alice", summary="test", form={})
            assert 'data-done="1024"' in await stream.read_event("progress")
            worker.between.set()
            assert 'data-done="2048"' in await stream.read_event("progress")
            worker.release.set()
            assert "event: reports" in await stream.read_event("reports")
        assert stream.status == 200


class TestReports:
    async def test_reports_when_none_stored_says_so(self, client: Client) -> None:
        """A fresh dashboard has no backtests database yet, and says there are no reports."""
        html = await get(client, "/fragments/backtests/reports")
        assert 'data-testid="backtest-no-reports"' in html

    async def test_reports_when_stored_lists_them_newest_first(
        self, client: Client, database: Path
    ) -> None:
        """Recent reports are listed newest first, each linking its page."""
        older, newer = make_report("older"), make_report("newer", net_pnl="-3")
        store_report(database, older, created_at_wall=1_700_000_000.0)
        store_report(database, newer, created_at_wall=1_700_000_100.0)
        html = await get(client, "/fragments/backtests/reports")
        order = re.findall(r'data-report="([^"]+)"', html)
        assert order == [newer.report_id, older.report_id]
        assert f'href="/backtests/{newer.report_id}"' in html
        assert "2023-11-14 22:15:00" in html  # stored time, UTC

    async def test_reports_while_running_keep_the_last_listing_until_the_run_ends(
        self, operator: Client, worker: FakeWorker, runner: BacktestRunner, database: Path
    ) -> None:
        """The worker owns the database while it runs: the list is not read again until then."""
        await start(operator, valid_form())
        await trio.testing.wait_all_tasks_blocked()
        store_report(database, make_report("stored-by-another"))  # as a sweep might
        html = await get(operator, "/fragments/backtests/reports")
        assert "stored-by-another" not in html
        assert 'data-testid="backtest-listing-note"' in html
        worker.release.set()
        await until_ended(runner)
        html = await get(operator, "/fragments/backtests/reports")
        assert len(re.findall(r'data-report="', html)) == 2
        assert len(list_reports(database)) == 2

    async def test_reports_when_sweeps_stored_lists_them_with_their_best_points(
        self, client: Client, database: Path
    ) -> None:
        """Sweeps in the backtests database are listed with their best points."""
        report = make_report("sweep-best")
        store_report(database, report)
        create_sweep(
            database,
            sweep_id="sw-000000000001",
            method="grid",
            objective="net_pnl",
            total=2,
            spec_json="{}",
        )
        record_point(
            database,
            PointRow(
                sweep_id="sw-000000000001",
                point_id="p1",
                params={"min_profit_bps": 5},
                status="done",
                report_id=report.report_id,
                objective_value=12.5,
                error=None,
                run_seconds=1.0,
                prepare_seconds=0.1,
                point_seconds=1.2,
                worker="w1",
                finished_at_wall=1_700_000_000.0,
            ),
        )
        html = await get(client, "/fragments/backtests/reports")
        assert "sw-000000000001" in html
        assert "min_profit_bps=5" in html
        assert f'href="/backtests/{report.report_id}">12.5<' in html


class TestReportPage:
    async def test_report_when_opened_shows_figures_configuration_and_equity_svg(
        self, client: Client, database: Path
    ) -> None:
        """A report opens to its figures, its configuration and an SVG equity chart."""
        report = make_report("page")
        store_report(database, report)
        html = await get(client, f"/backtests/{report.report_id}")
        assert f'data-testid="report-id">{report.report_id}<' in html
        assert 'data-testid="figure-net_pnl">12.5<' in html
        assert "Profit factor" in html
        assert "4.2" in html
        assert "completed 3" in html  # cycles by outcome
        configuration = html[html.index('id="report-configuration"') :]
        assert "kraken-btc-usd" in configuration
        assert '<td class="mono">seed</td><td class="mono config-value">3<' in configuration
        assert '<svg class="equity' in html
        assert "<polyline" in html

    async def test_report_when_opened_by_id_prefix_finds_it(
        self, client: Client, database: Path
    ) -> None:
        """The first characters of an id are enough, as on the command line."""
        report = make_report("prefix")
        store_report(database, report)
        html = await get(client, f"/backtests/{report.report_id[:8]}")
        assert report.report_id in html

    async def test_report_while_running_opens_from_cache_or_answers_503(
        self, operator: Client, worker: FakeWorker, database: Path
    ) -> None:
        """While the worker owns the database, only reports already read can be opened."""
        seen, unseen = make_report("seen"), make_report("unseen")
        store_report(database, seen)
        store_report(database, unseen)
        await get(operator, f"/backtests/{seen.report_id}")
        await start(operator, valid_form())
        await trio.testing.wait_all_tasks_blocked()
        assert seen.report_id in await get(operator, f"/backtests/{seen.report_id}")
        html = await get(operator, f"/backtests/{unseen.report_id}", status=503)
        assert "this report opens when it ends" in html

    async def test_report_when_unknown_answers_404(self, client: Client) -> None:
        """An id no report has is a 404 that says so."""
        html = await get(client, "/backtests/bt-0000000000000000", status=404)
        assert "no backtest report 'bt-0000000000000000'" in html_text.unescape(html)

    async def test_page_from_a_report_fills_the_form_with_its_settings(
        self, client: Client, database: Path
    ) -> None:
        """'Run again' opens the form filled with the report's settings."""
        report = make_report(
            "again",
            settings=BacktestSettings(
                events=("rec/a", "rec/b"), seed=9, parameters={"min_profit_bps": "4"}
            ),
        )
        store_report(database, report)
        html = await get(client, f"/backtests?from={report.report_id}")
        assert 'name="events" value="rec/a, rec/b"' in html
        assert 'name="seed" value="9"' in html
        assert 'name="parameters.min_profit_bps" value="4"' in html


FUZZ_VALUES = st.one_of(
    st.text(max_size=30),
    ODD_STRINGS,
    st.sampled_from(
        ["/", "*", "**/*.parquet", "USD=", "=5", "USD=1,USD=2", "2024-13-01", "x" * 5000]
    ),
)


class TestUntrustedInput:
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        changes=st.dictionaries(
            st.sampled_from([*sorted(form_names()), "csrf_token", "unknown"]),
            FUZZ_VALUES,
            max_size=3,
        )
    )
    async def test_run_when_form_is_anything_answers_below_500_and_keeps_serving(
        self, changes: dict[str, str]
    ) -> None:
        """Whatever a signed-in operator sends, the answer is 303, 409 or 4xx, never 5xx."""
        app = create_app(AppState(settings=Settings(operator_token=Secret(TOKEN))))
        app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = None
        fake = FakeWorker()
        runner_of(app).worker = fake
        async with app.test_app() as served:
            client = served.test_client()
            await sign_in(client)
            status, html = await start(client, {**valid_form(), **changes})
            assert status < 500, html
            assert (status == 303) == bool(fake.calls)
            assert (await client.get("/backtests")).status_code == 200
