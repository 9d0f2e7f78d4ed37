"""Backtesting: the recorder, replay through the same actors, the simulated venue, reports.

Layering, bottom up: ``metrics`` (figures from an equity curve) and ``_frames`` (the recording's
columns); ``_recorder`` (frames to Parquet off the Trio loop) and ``_recording`` (reading them
back in replay order); ``_settings`` and ``_inputs`` (what a run is, checked against its
recording); the replay transport, the simulated venue and the tree; then runs and reports.
"""

from arbitrade.backtest._errors import BacktestError as BacktestError
from arbitrade.backtest._errors import BacktestFailed as BacktestFailed
from arbitrade.backtest._errors import ReportNotFound as ReportNotFound
from arbitrade.backtest._errors import ReportStoreUnavailable as ReportStoreUnavailable
from arbitrade.backtest._inputs import BacktestInputs as BacktestInputs
from arbitrade.backtest._inputs import prepare_inputs as prepare_inputs
from arbitrade.backtest._recorder import FrameRecorder as FrameRecorder
from arbitrade.backtest._recorder import RecorderStatistics as RecorderStatistics
from arbitrade.backtest._recorder import RecordingTransport as RecordingTransport
from arbitrade.backtest._recorder import open_recorder as open_recorder
from arbitrade.backtest._recording import Frames as Frames
from arbitrade.backtest._recording import RecordingSummary as RecordingSummary
from arbitrade.backtest._recording import find_recording_files as find_recording_files
from arbitrade.backtest._recording import load_frames as load_frames
from arbitrade.backtest._replay import TimedReplayTransport as TimedReplayTransport
from arbitrade.backtest._report import BacktestReport as BacktestReport
from arbitrade.backtest._run import run_backtest as run_backtest
from arbitrade.backtest._settings import BacktestSettings as BacktestSettings
from arbitrade.backtest._settings import backtest_settings_from as backtest_settings_from
from arbitrade.backtest._settings import load_backtest_settings as load_backtest_settings
from arbitrade.backtest._store import StoredReport as StoredReport
from arbitrade.backtest._store import list_reports as list_reports
from arbitrade.backtest._store import load_report as load_report
from arbitrade.backtest._store import store_report as store_report
from arbitrade.backtest._venue import BacktestVenue as BacktestVenue
from arbitrade.backtest._worker import check_backtest as check_backtest
from arbitrade.backtest._worker import run_in_worker as run_in_worker
