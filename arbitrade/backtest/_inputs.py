"""Checking a backtest's settings against its recording, and loading what it replays.

:func:`prepare_inputs` finds and reads the recorded frames, checks the rules that need them
(frames exist, the time range lies inside the recording, symbols and assets were recorded)
and hashes each input file for the report. One :class:`~arbitrade.config.ConfigError` per
call, naming the first violated rule's field.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from arbitrade.backtest._recording import (
    Frames,
    RecordingSummary,
    file_digest,
    find_recording_files,
    load_frames,
    recorded_symbols,
    summarise,
)
from arbitrade.backtest._settings import BacktestSettings
from arbitrade.config import ConfigError


@attrs.frozen(eq=False)
class BacktestInputs:
    """Validated settings with the frames they replay."""

    settings: BacktestSettings
    frames: Frames
    summary: RecordingSummary
    digests: tuple[tuple[str, str], ...]
    """(file name relative to its recording folder's parent, sha256) of every input file."""


def _fmt(moment: datetime | None) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else "-"


def prepare_inputs(settings: BacktestSettings, *, hash_files: bool = True) -> BacktestInputs:
    """Load the recording named by ``settings.events`` and check the settings against it.

    Rules, in order: the paths exist and hold frames (of the chosen symbols); the range lies
    inside the recording; each symbol was recorded; each balance's asset and the home
    currency are assets of the recorded pairs.

    Raises:
        ConfigError: the first violated rule, naming ``backtest.<field>``.
    """
    files = find_recording_files(settings.events)
    frames = load_frames(files, symbols=settings.symbols)
    if not len(frames):
        what = f" for {', '.join(settings.symbols)}" if settings.symbols else ""
        raise ConfigError("backtest.events", f"the recording holds no frames{what}")
    summary = summarise(files, frames)
    first, last = summary.first, summary.last
    assert first is not None
    assert last is not None
    start, end = settings.start_time, settings.end_time
    span = f"the recording runs from {_fmt(first)} to {_fmt(last)}"
    if start is not None and not first <= start < last:
        raise ConfigError("backtest.start", f"{_fmt(start)} is outside the recording: {span}")
    if end is not None and not first < end <= last:
        raise ConfigError("backtest.end", f"{_fmt(end)} is outside the recording: {span}")
    if start is not None and end is not None and end <= start:
        raise ConfigError(
            "backtest.end", f"the range is empty: {_fmt(end)} is not after {_fmt(start)}"
        )
    recorded = set(summary.symbols)
    for symbol in settings.symbols:
        if symbol not in recorded:
            # the summary only knows the symbols asked for: list what the recording holds
            everything = recorded_symbols(files)
            raise ConfigError(
                "backtest.symbols",
                f"{symbol!r} was not recorded (recorded: {', '.join(everything) or 'none'})",
            )
    assets = set(summary.assets)
    for asset in sorted(settings.balances):
        if asset not in assets:
            raise ConfigError(
                f"backtest.balances.{asset}",
                f"unknown asset {asset!r}: the recorded pairs trade {', '.join(summary.assets)}",
            )
    if settings.home not in assets:
        raise ConfigError(
            "backtest.home", f"unknown asset {settings.home!r}: not traded in the recording"
        )
    digests: tuple[tuple[str, str], ...] = ()
    if hash_files:
        digests = tuple((_short_name(path), file_digest(path)) for path in files)
    return BacktestInputs(settings, frames, summary, digests)


def _short_name(path: object) -> str:
    text = str(path)
    parts = text.split("/")
    # keep what identifies a file inside a recording: day=/channel=/file
    return "/".join(parts[-3:]) if len(parts) >= 3 else text
