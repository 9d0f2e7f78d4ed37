"""Order latency models, and the ``recorded`` one against round trips worked out by hand."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import trio
import trio.testing

from arbitrade.backtest import backtest_settings_from
from arbitrade.backtest._latency import (
    empirical_quantile,
    interpolated_latency,
    load_round_trips,
    make_latency_model,
)
from arbitrade.config import ConfigError
from arbitrade.messages import OrderState, OrderUpdate, Side
from arbitrade.persistence import mapping_for, migrate

FEES = Path(__file__).resolve().parents[2] / "config" / "fees.toml"


def update(cl_ord_id: str, state: OrderState, at: float, reason: str = "") -> OrderUpdate:
    return OrderUpdate(
        cl_ord_id=cl_ord_id,
        cycle_id="c1",
        symbol="BTC/USD",
        side=Side.BUY,
        order_type="limit",
        limit_price=Decimal("60000"),
        qty=Decimal("0.01"),
        filled_qty=Decimal(0),
        state=state,
        reason=reason,
        at=at,
    )


PENDING, OPEN, FILLED = OrderState.PENDING, OrderState.OPEN, OrderState.FILLED
ORDERS = [
    # o1: sent at 100.000, acknowledged 20 ms later, then filled (the fill is not a round trip)
    update("o1", PENDING, 100.000),
    update("o1", OPEN, 100.020),
    update("o1", FILLED, 100.500),
    # o2: 40 ms to a rejection: a round trip all the same
    update("o2", PENDING, 200.000),
    update("o2", OrderState.REJECTED, 200.040, "EOrder:Insufficient funds"),
    # o3: 10 ms to a fill (no acknowledgement row of its own)
    update("o3", PENDING, 300.000),
    update("o3", FILLED, 300.010),
    # o4: never sent (kill switch): no round trip
    update("o4", PENDING, 400.000),
    update("o4", OrderState.EXPIRED, 400.000, "kill_switch"),
    # o5: its deadline passed before it was sent: no round trip
    update("o5", PENDING, 500.000),
    update("o5", OrderState.EXPIRED, 502.000, "deadline_passed_before_sent"),
    # o6: sent, never answered (the run stopped): no round trip
    update("o6", PENDING, 600.000),
]
"""Round trips by hand: o3 10 ms, o1 20 ms, o2 40 ms."""


def write_orders(path: Path, updates: list[OrderUpdate]) -> Path:
    """A DuckDB file with the bot's schema and these ``orders`` rows."""
    mapping = mapping_for(OrderUpdate)
    assert mapping is not None
    with duckdb.connect(str(path)) as connection:
        migrate(connection)
        placeholders = ", ".join("?" * len(mapping.table.column_names))
        for row in map(mapping.to_row, updates):
            connection.execute(f"INSERT INTO orders VALUES ({placeholders})", list(row))
    return path


@pytest.fixture
def orders_db(tmp_path: Path) -> Path:
    return write_orders(tmp_path / "run.duckdb", ORDERS)


class TestInterpolation:
    def test_quantile_when_between_samples_interpolates_linearly(self) -> None:
        """[10, 20, 40]: 0 -> 10, 0.25 -> 15, 0.5 -> 20, 0.75 -> 30, 1 -> 40."""
        samples = [10.0, 20.0, 40.0]
        got = [empirical_quantile(samples, f) for f in (0.0, 0.25, 0.5, 0.75, 1.0)]
        assert got == [10.0, 15.0, 20.0, 30.0, 40.0]

    def test_quantile_when_one_sample_always_gives_it(self) -> None:
        """A single round trip is every draw."""
        assert empirical_quantile([7.0], 0.3) == 7.0

    def test_quantile_when_no_samples_raises(self) -> None:
        """Nothing to interpolate is an error, not a zero latency."""
        with pytest.raises(ValueError, match="no samples"):
            empirical_quantile([], 0.5)

    def test_draws_when_seeded_follow_the_uniform_numbers_of_the_seed(self) -> None:
        """Each draw is the quantile at the next random() of the seeded generator."""
        reference = random.Random(3)
        fractions = [reference.random() for _ in range(5)]
        model = interpolated_latency([0.040, 0.010, 0.020], random.Random(3))
        expected = [empirical_quantile([0.010, 0.020, 0.040], f) for f in fractions]
        assert [model() for _ in range(5)] == expected

    def test_draws_when_many_stay_within_the_recorded_range(self) -> None:
        """Interpolation never invents a latency below the fastest or above the slowest."""
        model = interpolated_latency([0.010, 0.020, 0.040], random.Random(0))
        draws = [model() for _ in range(2000)]
        assert min(draws) >= 0.010
        assert max(draws) <= 0.040
        assert len(set(draws)) > 1000  # between the samples, not only on them

    def test_samples_when_negative_are_refused(self) -> None:
        """A negative round trip is a broken source, refused."""
        with pytest.raises(ValueError, match="zero or more"):
            interpolated_latency([0.01, -0.01], random.Random(0))


class TestRoundTrips:
    def test_load_when_orders_table_given_takes_first_answer_after_send(
        self, orders_db: Path
    ) -> None:
        """o3 10 ms, o1 20 ms, o2 40 ms; never-sent and unanswered orders are left out."""
        assert load_round_trips(orders_db) == pytest.approx((0.010, 0.020, 0.040))

    def test_load_when_parquet_export_given_reads_the_same(
        self, orders_db: Path, tmp_path: Path
    ) -> None:
        """COPY orders TO 'x.parquet' is a source too."""
        export = tmp_path / "orders.parquet"
        with duckdb.connect(str(orders_db)) as connection:
            connection.execute(f"COPY orders TO '{export}' (FORMAT parquet)")
        assert load_round_trips(export) == pytest.approx((0.010, 0.020, 0.040))

    def test_load_when_answer_at_same_instant_counts_zero(self, tmp_path: Path) -> None:
        """An answer stamped with the send's own time (a paper venue) is a 0 s round trip,
        even though 'filled' sorts before 'pending'."""
        path = write_orders(
            tmp_path / "paper.duckdb", [update("p", PENDING, 5.0), update("p", FILLED, 5.0)]
        )
        assert load_round_trips(path) == (0.0,)

    def test_load_when_file_missing_names_latency_source(self, tmp_path: Path) -> None:
        """A missing file is one error naming backtest.latency_source and the path."""
        with pytest.raises(ConfigError) as caught:
            load_round_trips(tmp_path / "nope.duckdb")
        assert caught.value.setting == "backtest.latency_source"
        assert "nope.duckdb does not exist" in caught.value.problem

    def test_load_when_no_round_trip_names_latency_source(self, tmp_path: Path) -> None:
        """Orders that never went out give no round trip: refused, naming the field."""
        path = write_orders(tmp_path / "quiet.duckdb", ORDERS[-5:])
        with pytest.raises(ConfigError) as caught:
            load_round_trips(path)
        assert caught.value.setting == "backtest.latency_source"
        assert "no order round trips" in caught.value.problem

    def test_load_when_file_is_not_a_database_names_latency_source(self, tmp_path: Path) -> None:
        """A file that is neither DuckDB nor has an orders table is one clear error."""
        path = tmp_path / "notes.txt"
        path.write_text("not a database")
        with pytest.raises(ConfigError) as caught:
            load_round_trips(path)
        assert caught.value.setting == "backtest.latency_source"
        assert "cannot read orders rows" in caught.value.problem


class TestRecordedModel:
    def test_model_when_recorded_draws_half_an_interpolated_round_trip(
        self, orders_db: Path
    ) -> None:
        """Order latency is half the round trip (the way out of a symmetric path)."""
        reference = random.Random(9)
        fractions = [reference.random() for _ in range(4)]
        model = make_latency_model("recorded", 999.0, 999.0, 9, source=orders_db)
        expected = [empirical_quantile([0.010, 0.020, 0.040], f) / 2 for f in fractions]
        assert [model() for _ in range(4)] == pytest.approx(expected)

    def test_model_when_same_seed_gives_same_draws(self, orders_db: Path) -> None:
        """Deterministic: one seed, one sequence; another seed, another."""
        first = make_latency_model("recorded", 0, 0, 1, source=orders_db)
        again = make_latency_model("recorded", 0, 0, 1, source=orders_db)
        other = make_latency_model("recorded", 0, 0, 2, source=orders_db)
        draws = [first() for _ in range(10)]
        assert draws == [again() for _ in range(10)]
        assert draws != [other() for _ in range(10)]


class TestSettings:
    def settings(self, **values: Any) -> Any:
        return backtest_settings_from({"fees_path": str(FEES), **values})

    def test_settings_when_recorded_with_round_trips_are_accepted(self, orders_db: Path) -> None:
        """latency_model = "recorded" with a file of round trips is a valid configuration."""
        settings = self.settings(latency_model="recorded", latency_source=str(orders_db))
        assert settings.latency_source == str(orders_db)

    def test_settings_when_recorded_without_source_names_latency_source(self) -> None:
        """The recorded model needs a source: refused, naming backtest.latency_source."""
        with pytest.raises(ConfigError) as caught:
            self.settings(latency_model="recorded")
        assert caught.value.setting == "backtest.latency_source"

    def test_settings_when_recorded_source_missing_names_latency_source(
        self, tmp_path: Path
    ) -> None:
        """A source that does not exist is refused, naming the field."""
        with pytest.raises(ConfigError) as caught:
            self.settings(latency_model="recorded", latency_source=str(tmp_path / "x.duckdb"))
        assert caught.value.setting == "backtest.latency_source"

    def test_settings_when_other_model_ignore_the_source(self, tmp_path: Path) -> None:
        """Only the recorded model reads latency_source."""
        settings = self.settings(latency_model="fixed", latency_source=str(tmp_path / "x"))
        assert settings.latency_model == "fixed"


class TestOnTheVenue:
    async def test_venue_when_recorded_model_and_half_response_reproduces_the_round_trip(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """One recorded round trip of 40 ms: the order travels 20 ms, the answer 20 ms (the
        response latency), so the executor sees its 40 ms again."""
        from arbitrade.backtest._venue import BacktestVenue

        from .test_venue import FEES as VENUE_FEES
        from .test_venue import order, reports_until_terminal, running, top

        source = await trio.to_thread.run_sync(
            write_orders,
            tmp_path / "one.duckdb",
            [update("x", PENDING, 1.0), update("x", OPEN, 1.04)],
        )
        latency = make_latency_model("recorded", 0, 0, 0, source=source)
        venue = BacktestVenue(fees=VENUE_FEES, order_latency=latency, response_latency=0.02)
        async with running(venue):
            venue.observe_book(top(((600000, 10**8),)))
            start = trio.current_time()
            await venue.submit(order("a", "1", "60000.0"))
            await reports_until_terminal(venue, "a")
            assert trio.current_time() - start == pytest.approx(0.04)


def test_backtest_command_when_the_run_refuses_a_setting_exits_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A setting refused only when the run builds its models (a latency source, a fee
    profile) is one line and exit code 1, as a refusal before the run is."""
    from arbitrade.backtest import _run
    from arbitrade.cli import main

    def refuse(*args: object, **kwargs: object) -> None:
        raise ConfigError("backtest.latency_source", "holds no order round trips")

    monkeypatch.setattr(_run, "run_backtest", refuse)
    sim = Path(__file__).resolve().parents[1] / "fixtures" / "recordings" / "sim-6pairs-3min"
    code = main(
        ["backtest", "--events", str(sim), "--balances", "USD=10000,BTC=0.2,ETH=3,SOL=50",
         "--no-store", "--quiet"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert err == "configuration error: backtest.latency_source: holds no order round trips\n"


class TestRecordedModelInARun:
    def test_backtest_when_one_round_trip_recorded_equals_fixed_half_of_it(
        self, tmp_path: Path
    ) -> None:
        """A source whose only round trip is 300 ms replays exactly like a fixed 150 ms model."""
        from arbitrade.backtest import prepare_inputs
        from arbitrade.backtest._run import run_backtest

        from .test_run import SIM, SIM_BALANCES

        source = write_orders(
            tmp_path / "one.duckdb", [update("r", PENDING, 10.0), update("r", OPEN, 10.3)]
        )
        common: dict[str, Any] = {
            "events": [str(SIM)],
            "end": "2024-05-01T10:00:40Z",
            "balances": SIM_BALANCES,
            "fees_path": str(FEES),
            "seed": 5,
        }
        recorded = run_backtest(
            prepare_inputs(
                backtest_settings_from(
                    {**common, "latency_model": "recorded", "latency_source": str(source)}
                )
            )
        )
        fixed = run_backtest(
            prepare_inputs(
                backtest_settings_from(
                    {**common, "latency_model": "fixed", "order_latency_ms": "150"}
                )
            )
        )
        assert recorded.figures["cycles_attempted"] > 0
        assert recorded.body["decisions_sha256"] == fixed.body["decisions_sha256"]
