"""`arbitrade record --out DIR`: symbols, channels and duration as options, one-line errors."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from arbitrade.backtest import backtest_settings_from, prepare_inputs
from arbitrade.cli import main

FEES = Path(__file__).resolve().parents[2] / "config" / "fees.toml"


@pytest.fixture
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Sim mode from defaults: no settings file, no .env, no KRAKEN_/APP_/MODE variables."""
    for name in list(os.environ):
        if name.startswith(("KRAKEN_", "APP_", "MODE")):
            monkeypatch.delenv(name)
    return ["--config", str(tmp_path / "none.toml"), "--env-file", str(tmp_path / "none.env")]


def rows(folder: Path) -> pa.Table:
    """Every recorded row, with its channel folder as a column."""
    tables = []
    for path in sorted(folder.rglob("*.parquet")):
        table = pq.read_table(path)
        channel = path.parent.name.removeprefix("channel=")
        tables.append(table.append_column("channel", pa.array([channel] * len(table))))
    return pa.concat_tables(tables)


def printed_frames(out: str) -> int:
    """N of the command's ``recorded N frames to DIR`` line."""
    words = out.strip().splitlines()[-1].split()
    assert words[0] == "recorded"
    return int(words[1])


class TestSimulated:
    def test_record_when_simulated_keeps_the_chosen_symbols_and_channels(
        self, tmp_path: Path, no_config: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--symbols and --channels decide what is recorded (plus the instrument snapshot,
        status and the subscription answers); nothing of other pairs or channels."""
        out = tmp_path / "rec"
        code = main(
            ["record", *no_config, "--out", str(out), "--simulated", "--duration", "20",
             "--symbols", "BTC/USD,ETH/USD", "--channels", "book,ticker"]
        )  # fmt: skip
        assert code == 0
        table = rows(out)
        channels = set(table["channel"].to_pylist())
        assert {"book", "ticker", "instrument"} <= channels
        assert not channels & {"trade", "ohlc"}
        assert {c for c in channels if c.startswith("method-")} == {"method-subscribe"}
        symbols = {s for s in table["symbol"].to_pylist() if s}
        assert symbols == {"BTC/USD", "ETH/USD"}
        assert printed_frames(capsys.readouterr().out) == len(table)

    def test_record_when_simulated_stops_after_the_duration(
        self, tmp_path: Path, no_config: list[str]
    ) -> None:
        """20 simulated seconds: every frame is received within 20 s of the first."""
        out = tmp_path / "rec"
        argv = ["record", *no_config, "--out", str(out), "--simulated", "--duration", "20",
                "--symbols", "BTC/USD"]  # fmt: skip
        assert main(argv) == 0
        wall = rows(out)["received_wall_ns"].to_pylist()
        span = (max(wall) - min(wall)) / 1e9
        assert 15 <= span <= 20

    def test_record_when_simulated_gives_backtest_input(
        self, tmp_path: Path, no_config: list[str]
    ) -> None:
        """What the command writes loads as a backtest's events, with the chosen pairs."""
        out = tmp_path / "rec"
        argv = ["record", *no_config, "--out", str(out), "--simulated", "--duration", "10",
                "--symbols", "BTC/USD,ETH/USD,ETH/BTC"]  # fmt: skip
        assert main(argv) == 0
        settings = backtest_settings_from(
            {"events": [str(out)], "fees_path": str(FEES),
             "balances": {"USD": "10000", "BTC": "0.1"}}
        )  # fmt: skip
        inputs = prepare_inputs(settings, hash_files=False)
        assert inputs.summary.symbols == ("BTC/USD", "ETH/BTC", "ETH/USD")


@pytest.mark.slow
def test_record_when_sim_mode_records_an_embedded_simulator_over_a_socket(
    tmp_path: Path, no_config: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --simulated or --url, sim mode serves a simulator on loopback and records
    the real socket for --duration real seconds: every frame on connection ws-1, book frames
    of the chosen pair only."""
    out = tmp_path / "rec"
    argv = ["record", *no_config, "--out", str(out), "--duration", "1.5",
            "--symbols", "ETH/USD", "--channels", "book"]  # fmt: skip
    assert main(argv) == 0
    table = rows(out)
    channels = Counter(table["channel"].to_pylist())
    assert channels["book"] >= 1
    assert channels["instrument"] >= 1
    assert set(table["connection_id"].to_pylist()) == {"ws-1"}
    books = table.filter(pc.equal(table["channel"], "book"))
    assert set(books["symbol"].to_pylist()) == {"ETH/USD"}
    wall = table["received_wall_ns"].to_pylist()
    assert (max(wall) - min(wall)) / 1e9 <= 1.5
    assert printed_frames(capsys.readouterr().out) == len(table)


class TestBadOptions:
    @pytest.mark.parametrize(
        ("options", "flag"),
        [
            (["--duration", "0"], "--duration"),
            (["--duration", "nan"], "--duration"),
            (["--symbols", " , "], "--symbols"),
            (["--channels", "book,orders"], "--channels"),
            (["--channels", ""], "--channels"),
            (["--depth", "7"], "--depth"),
        ],
    )
    def test_record_when_option_bad_exits_non_zero_with_one_line(
        self,
        tmp_path: Path,
        no_config: list[str],
        capsys: pytest.CaptureFixture[str],
        options: list[str],
        flag: str,
    ) -> None:
        """A bad option is one line naming the flag, exit 1, and no folder written."""
        out = tmp_path / "rec"
        assert main(["record", *no_config, "--out", str(out), "--simulated", *options]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert err.startswith(f"configuration error: {flag}:")
        assert not out.exists()
