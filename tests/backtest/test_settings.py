"""Every rule of a backtest's configuration gives one error naming its field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from arbitrade.backtest import (
    BacktestSettings,
    backtest_settings_from,
    find_recording_files,
    load_backtest_settings,
    prepare_inputs,
)
from arbitrade.config import ConfigError

from .helpers import BookFrames, instrument_frame, pair, write_recording

FEES = Path(__file__).resolve().parents[2] / "config" / "fees.toml"


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    """Ten seconds of BTC/USD and ETH/USD: 2024-05-01T10:00:00Z to 10:00:09Z."""
    btc, eth = BookFrames("BTC/USD"), BookFrames("ETH/USD")
    frames = [
        instrument_frame([pair("BTC/USD"), pair("ETH/USD")]),
        btc.frame([("60000.00", "1.0")], [("60001.00", "1.0")], snapshot=True),
        eth.frame([("3000.00", "5.0")], [("3000.50", "5.0")], snapshot=True),
    ]
    frames += [btc.frame([("60000.00", f"1.{i}")], []) for i in range(1, 8)]
    return write_recording(tmp_path / "rec", frames)


def settings(recording: Path, **values: Any) -> BacktestSettings:
    base: dict[str, Any] = {"events": [str(recording)], "fees_path": str(FEES)}
    base.update(values)
    return backtest_settings_from(base)


def problem(recording: Path, **values: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        prepare_inputs(settings(recording, **values), hash_files=False)
    return caught.value


class TestStaticRules:
    def test_validate_when_balance_negative_names_the_asset(self, recording: Path) -> None:
        """A negative starting balance is refused, naming the asset."""
        error = problem(recording, balances={"USD": "10000", "BTC": "-1"})
        assert error.setting == "backtest.balances.BTC"
        assert "zero or more" in error.problem

    def test_validate_when_capital_zero_names_capital(self, recording: Path) -> None:
        """Capital must be positive."""
        assert problem(recording, capital="0").setting == "backtest.capital"

    def test_validate_when_capital_exceeds_home_balance_names_capital(
        self, recording: Path
    ) -> None:
        """Capital above the home balance is refused with both numbers."""
        error = problem(recording, capital="20000", balances={"USD": "10000"})
        assert error.setting == "backtest.capital"
        assert "20000" in error.problem
        assert "10000" in error.problem

    def test_validate_when_fee_profile_unknown_lists_the_known_ones(self, recording: Path) -> None:
        """An unknown fee profile is refused, listing the profiles of the fees file."""
        error = problem(recording, fee_profile="vip")
        assert error.setting == "backtest.fee_profile"
        assert "spot_volume" in error.problem

    @pytest.mark.parametrize(
        "field", ["order_latency_ms", "response_latency_ms", "latency_jitter_ms"]
    )
    def test_validate_when_latency_negative_names_the_latency(
        self, recording: Path, field: str
    ) -> None:
        """A negative latency is refused, naming which."""
        error = problem(recording, **{field: -1})
        assert error.setting == f"backtest.{field}"
        assert "negative" in error.problem

    def test_validate_when_key_unknown_names_the_key(self, recording: Path) -> None:
        """A misspelt option is refused rather than ignored."""
        assert problem(recording, capitol="5").setting == "backtest.capitol"

    def test_validate_when_risk_limit_invalid_names_the_nested_field(self, recording: Path) -> None:
        """Risk limits are checked by the risk settings' own rules, named under backtest.risk."""
        error = problem(recording, risk={"min_profit_bps": "-3"})
        assert error.setting == "backtest.risk.min_profit_bps"


class TestRecordingRules:
    def test_validate_when_path_missing_names_events(self, tmp_path: Path) -> None:
        """A path that does not exist is refused, naming it."""
        error = problem(tmp_path / "nowhere")
        assert error.setting == "backtest.events"
        assert "does not exist" in error.problem

    def test_validate_when_folder_holds_no_frames_names_events(self, tmp_path: Path) -> None:
        """A folder without recorded frames is refused."""
        (tmp_path / "empty").mkdir()
        error = problem(tmp_path / "empty")
        assert error.setting == "backtest.events"
        assert "no recorded frames" in error.problem

    @pytest.mark.parametrize("root", ["/", "/.", "//", "/tmp/..", "/**/*.parquet", "/**"])
    def test_validate_when_path_is_filesystem_root_refuses_before_listing(
        self, root: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A root (or a ** glob from one) is refused without listing a single folder."""

        def no_listing(*args: object, **kwargs: object) -> None:
            raise AssertionError("listed the filesystem")

        monkeypatch.setattr(Path, "glob", no_listing)
        monkeypatch.setattr(Path, "rglob", no_listing)
        monkeypatch.setattr("glob.glob", no_listing)
        with pytest.raises(ConfigError) as caught:
            find_recording_files([root])
        assert caught.value.setting == "backtest.events"
        assert "filesystem" in caught.value.problem

    def test_validate_when_frames_lie_outside_the_layout_names_events(
        self, tmp_path: Path, recording: Path
    ) -> None:
        """Parquet files deeper than day=/channel=/ of a recording (or of a folder of
        recordings) are not searched for: the folder holds no recording."""
        deep = tmp_path / "a" / "b" / "c"
        deep.mkdir(parents=True)
        recording.rename(deep / "rec")
        error = problem(tmp_path / "a")
        assert error.setting == "backtest.events"
        assert "day=YYYY-MM-DD/channel=NAME/" in error.problem

    def test_find_when_folder_is_a_recording_part_or_a_parent_finds_its_files(
        self, tmp_path: Path, recording: Path
    ) -> None:
        """A recording, its day= folder, a channel= folder and a folder of recordings
        (one level up) all name frames."""
        every = find_recording_files([str(recording)])
        day = next(recording.glob("day=*"))
        book = day / "channel=book"
        assert len(every) == 2  # instrument and book
        assert find_recording_files([str(tmp_path)]) == every
        assert find_recording_files([str(day)]) == every
        assert find_recording_files([str(book)]) == [f for f in every if "channel=book" in str(f)]

    def test_validate_when_glob_matches_nothing_names_events(self, tmp_path: Path) -> None:
        """A glob that matches no Parquet file is refused."""
        error = problem(Path(str(tmp_path / "*.parquet")))
        assert error.setting == "backtest.events"

    def test_validate_when_range_empty_names_end(self, recording: Path) -> None:
        """An end at or before the start is an empty range."""
        error = problem(recording, start="2024-05-01T10:00:05Z", end="2024-05-01T10:00:05Z")
        assert error.setting == "backtest.end"
        assert "empty" in error.problem

    def test_validate_when_start_before_recording_names_start(self, recording: Path) -> None:
        """A start before the first frame lies outside the recording."""
        error = problem(recording, start="2024-05-01T09:00:00Z")
        assert error.setting == "backtest.start"
        assert "outside the recording" in error.problem

    def test_validate_when_end_after_recording_names_end(self, recording: Path) -> None:
        """An end after the last frame lies outside the recording."""
        error = problem(recording, end="2024-05-02T00:00:00Z")
        assert error.setting == "backtest.end"

    def test_validate_when_start_not_a_time_names_start(self, recording: Path) -> None:
        """A start that is not ISO 8601 is refused."""
        assert problem(recording, start="yesterday").setting == "backtest.start"

    def test_validate_when_balance_asset_unknown_names_the_asset(self, recording: Path) -> None:
        """A balance in an asset the recorded pairs do not trade is refused."""
        error = problem(recording, balances={"USD": "10000", "DOGE": "5"})
        assert error.setting == "backtest.balances.DOGE"
        assert "unknown asset" in error.problem

    def test_validate_when_symbol_not_recorded_names_symbols(self, recording: Path) -> None:
        """Only recorded symbols can be replayed."""
        error = problem(recording, symbols="BTC/USD,SOL/USD")
        assert error.setting == "backtest.symbols"

    def test_validate_when_symbol_not_recorded_lists_the_recordings_symbols(
        self, recording: Path
    ) -> None:
        """The error lists every symbol the recording holds, not only those asked for."""
        error = problem(recording, symbols="BTC/USD,SOL/USD")
        assert error.problem == "'SOL/USD' was not recorded (recorded: BTC/USD, ETH/USD)"

    def test_validate_when_no_symbol_recorded_still_lists_the_recordings_symbols(
        self, recording: Path
    ) -> None:
        """Asking only for unrecorded pairs still shows what could have been asked for."""
        error = problem(recording, symbols="SOL/USD")
        assert error.setting == "backtest.symbols"
        assert "(recorded: BTC/USD, ETH/USD)" in error.problem

    def test_validate_when_everything_fits_loads_the_frames(self, recording: Path) -> None:
        """A valid configuration loads every frame, in order, with the recording's span."""
        inputs = prepare_inputs(settings(recording, symbols="BTC/USD"))
        assert len(inputs.frames) == 9  # ETH's snapshot is left out
        assert inputs.summary.assets == ("BTC", "ETH", "USD")
        assert len(inputs.digests) == len(inputs.summary.files)


class TestSources:
    def test_load_when_toml_has_backtest_table_reads_it(
        self, tmp_path: Path, recording: Path
    ) -> None:
        """A TOML file's [backtest] table gives the settings; overrides win."""
        path = tmp_path / "bt.toml"
        path.write_text(
            f'[backtest]\nevents = ["{recording}"]\nfees_path = "{FEES}"\ncapital = 500\n'
            '[backtest.balances]\nUSD = 1000\nBTC = "0.01"\n'
        )
        loaded = load_backtest_settings(path, {"seed": 3})
        assert loaded.capital == 500
        assert str(loaded.balances["BTC"]) == "0.01"
        assert loaded.seed == 3

    def test_load_when_toml_malformed_names_the_file(self, tmp_path: Path) -> None:
        """A file that is not TOML gives one error naming it."""
        path = tmp_path / "bad.toml"
        path.write_text("capital = = 3")
        with pytest.raises(ConfigError) as caught:
            load_backtest_settings(path)
        assert caught.value.setting == str(path)

    def test_structure_when_form_gives_text_parses_lists_and_balances(
        self, recording: Path
    ) -> None:
        """Form text: comma separated symbols, ASSET=amount balances, empty means default."""
        loaded = settings(
            recording, symbols="BTC/USD, ETH/USD", balances="USD=5000,BTC=0.1", seed=""
        )
        assert loaded.symbols == ("BTC/USD", "ETH/USD")
        assert str(loaded.balances["BTC"]) == "0.1"
        assert loaded.seed == 0
