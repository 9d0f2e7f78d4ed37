"""Whole backtests: the hand-worked example, determinism, real Kraken frames, the command line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from arbitrade.backtest import backtest_settings_from, prepare_inputs
from arbitrade.backtest._report import BacktestReport
from arbitrade.backtest._run import run_backtest
from arbitrade.cli import main

from .helpers import BookFrames, instrument_frame, pair, write_recording

RECORDINGS = Path(__file__).resolve().parents[1] / "fixtures" / "recordings"
SIM = RECORDINGS / "sim-6pairs-3min"
KRAKEN = RECORDINGS / "kraken-btc-usd"
SIM_BALANCES = {"USD": "10000", "BTC": "0.2", "ETH": "3", "SOL": "50"}


def run(**values: Any) -> BacktestReport:
    return run_backtest(prepare_inputs(backtest_settings_from(values)))


@pytest.fixture
def mispriced(tmp_path: Path) -> Path:
    """Three pairs, one mispricing: ETH is cheap in BTC (0.049 against 3000/60000 = 0.05)."""
    btc, eth, eth_btc = (
        BookFrames("BTC/USD", 1, 4),
        BookFrames("ETH/USD", 2, 3),
        BookFrames("ETH/BTC", 5, 3),
    )
    frames = [
        instrument_frame(
            [
                pair("BTC/USD", 1, 4),
                pair("ETH/USD", 2, 3, qty_min="0.001"),
                pair("ETH/BTC", 5, 3, qty_min="0.001", cost_min="0.0001"),
            ]
        ),
        btc.frame([("60000.0", "1.0")], [("60010.0", "1.0")], snapshot=True),
        eth.frame([("3000.00", "10")], [("3001.00", "10")], snapshot=True),
        eth_btc.frame([("0.04890", "2")], [("0.04900", "2")], snapshot=True),
    ]
    return write_recording(tmp_path / "rec", frames, step_ns=100_000_000)


def test_hand_worked_triangle_when_replayed_matches_pnl_and_fees_to_the_last_lot(
    mispriced: Path,
) -> None:
    """One mispricing, one cycle: PnL and fees exactly as worked out by hand.

    Taker fee 10 bps (custom profile), capital 1000 USD, balances 10000 USD, 0.1 BTC, 1 ETH.
    Cycle USD -> BTC -> ETH -> USD: 3000 / (60010 * 0.049) = 1.0202 before fees.

    Leg 1, buy BTC/USD at 60010.0: 1000 / (60010 * 1.001) = 0.016647 BTC, down to the lot
      (0.0001): 0.0166 BTC; cost 996.166 USD, fee 0.996166 USD, spent 997.162166 USD.
    Leg 2, buy ETH/BTC at 0.04900 with 0.0166 BTC: 0.0166 / (0.049 * 1.001) = 0.33843 ETH,
      down to the lot (0.001): 0.338 ETH; cost 0.016562 BTC, fee 0.000016562 BTC charged as
      0.00001657 BTC (fees are rounded up to 1e-8); left over 0.0166 - 0.01657857 = 0.00002143 BTC.
    Leg 3, sell ETH/USD at 3000.00: 0.338 ETH -> 1014.00 USD, fee 1.014 USD, 1012.986 USD.
    Realised PnL (the executor values the BTC left over at the 60010.0 it was bought at):
      1012.986 - 997.162166 + 0.00002143 * 60010 = 15.823834 + 1.2860143 = 17.1098483 USD.
    Fees in USD (BTC at the BTC/USD mid, 60005): 0.996166 + 0.00001657 * 60005 + 1.014
      = 0.996166 + 0.99428285 + 1.014 = 3.00444885 USD; gross PnL = 17.1098483 + 3.00444885.
    Equity at mids: before 10000 + 0.1 * 60005 + 1 * 3000.5 = 19001; after
      10015.823834 + 0.10002143 * 60005 + 3000.5 = 19018.10974115.
    """
    report = run(
        events=[str(mispriced)],
        balances={"USD": "10000", "BTC": "0.1", "ETH": "1"},
        capital="1000",
        fee_profile="custom",
        taker_fee_bps="10",
        maker_fee_bps="0",
        risk={"max_leg_notional": "2000"},
    )
    figures = report.figures
    assert (figures["opportunities"], figures["cycles_attempted"], figures["cycles_completed"]) == (
        1,
        1,
        1,
    )
    assert Decimal(figures["net_pnl"]) == Decimal("17.1098483")
    assert Decimal(figures["fees"]) == Decimal("3.00444885")
    assert Decimal(figures["gross_pnl"]) == Decimal("20.11429715")
    assert Decimal(figures["start_equity"]) == Decimal("19001")
    assert Decimal(figures["end_equity"]) == Decimal("19018.10974115")
    assert (figures["fill_ratio"], figures["slippage_bps"]) == (1.0, 0.0)


def test_replay_when_run_twice_takes_identical_decisions_and_report() -> None:
    """Same inputs, same seed: the same decisions in the same order and the same report bytes."""
    values: dict[str, Any] = {
        "events": [str(SIM)],
        "end": "2024-05-01T10:01:00Z",
        "balances": SIM_BALANCES,
        "latency_model": "lognormal",
        "order_latency_ms": "20",
        "latency_jitter_ms": "10",
        "response_latency_ms": "5",
        "seed": 11,
    }
    first, second = run(**values), run(**values)
    assert first.figures["cycles_attempted"] > 0
    assert first.body["decisions_sha256"] == second.body["decisions_sha256"]
    assert first.as_json() == second.as_json()


def test_range_when_start_given_trades_only_from_then() -> None:
    """Frames before the start warm the books up; nothing before it is counted."""
    whole = run(events=[str(SIM)], end="2024-05-01T10:00:50Z", balances=SIM_BALANCES)
    later = run(
        events=[str(SIM)],
        start="2024-05-01T10:00:30Z",
        end="2024-05-01T10:00:50Z",
        balances=SIM_BALANCES,
    )
    assert later.figures["opportunities"] < whole.figures["opportunities"]
    assert later.body["equity_curve"][0][0] >= 1714557630.0


def test_kraken_recording_when_replayed_verifies_every_checksum() -> None:
    """Kraken's real BTC/USD frames replay through the book feed with all 510 checksums valid.

    The feed's client also counts what the replay answered its requests (subscription
    acknowledgements, pongs): the report says how many requests it answered.
    """
    report = run(events=[str(KRAKEN)], balances={"USD": "10000", "BTC": "0.2"})
    replay = report.body["replay"]
    feed = dict(replay["feed"])
    assert feed.pop("frames") >= replay["frames"] + replay["requests_answered"]
    assert feed == {
        "book_messages": 510,
        "tops_published": 510,
        "mismatches": 0,
        "decode_errors": 0,
        "books": 1,
        "relayed": 0,
    }
    assert report.figures["opportunities"] == 0  # one pair: no cycle


class TestCommandLine:
    def test_backtest_when_configuration_bad_exits_non_zero_with_one_line(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bad option is one line on stderr and exit code 1, before anything runs."""
        code = main(["backtest", "--events", str(SIM), "--balances", "USD=100", "--capital", "500"])
        err = capsys.readouterr().err
        assert code == 1
        assert err.count("\n") == 1
        assert err.startswith("configuration error: backtest.capital:")

    def test_backtest_when_run_stores_a_report_that_list_and_show_find(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """run --json prints the report; list --json and show ID --json give it back."""
        db = str(tmp_path / "reports.duckdb")
        common = [
            "--events",
            str(SIM),
            "--end",
            "2024-05-01T10:00:30Z",
            "--balances",
            "USD=10000,BTC=0.2,ETH=3,SOL=50",
        ]
        assert main(["backtest", *common, "--db", db, "--json"]) == 0
        printed = orjson.loads(capsys.readouterr().out)
        assert main(["backtest", "list", "--db", db, "--json"]) == 0
        listed = orjson.loads(capsys.readouterr().out)
        assert [row["report_id"] for row in listed] == [printed["report_id"]]
        assert main(["backtest", "show", printed["report_id"][:8], "--db", db, "--json"]) == 0
        assert orjson.loads(capsys.readouterr().out) == printed

    def test_show_when_id_unknown_exits_non_zero(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An unknown report id is one line and exit code 1."""
        assert main(["backtest", "show", "bt-nope", "--db", str(tmp_path / "none.duckdb")]) == 1
        assert "no backtest report" in capsys.readouterr().err
