"""Reading recordings back: finding their files, ordering their frames, summarising them.

:func:`find_recording_files` turns event paths (files, folders, globs) into Parquet files;
:func:`load_frames` reads them into one :class:`Frames` table in replay order: every session's
frames on one time axis (sessions anchored by their wall clock, frames within a session by
their monotonic receive time), ties broken by the session's order and then the frame's
sequence number, so the order never depends on the file system.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import attrs
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arbitrade.backtest._frames import METHOD_PREFIX, SCHEMA
from arbitrade.config import ConfigError


def find_recording_files(events: Iterable[str], *, field: str = "backtest.events") -> list[Path]:
    """The Parquet files named by ``events``, sorted and without duplicates.

    Raises:
        ConfigError: no path given, or a path that does not exist or holds no ``.parquet``
            file (naming ``field`` and the path).
    """
    found: set[Path] = set()
    given = list(events)
    if not given:
        raise ConfigError(field, "no recording given (files, folders or globs of Parquet frames)")
    for entry in given:
        path = Path(entry)
        if any(ch in entry for ch in "*?["):
            matches = [Path(m) for m in glob.glob(entry, recursive=True)]
            files = _parquet_in(matches)
            if not files:
                raise ConfigError(field, f"{entry!r} matches no recorded frames")
        elif path.is_dir():
            files = sorted(path.rglob("*.parquet"))
            if not files:
                raise ConfigError(field, f"{entry} holds no recorded frames (.parquet files)")
        elif path.is_file():
            files = [path]
        else:
            raise ConfigError(field, f"{entry} does not exist")
        found.update(file.resolve() for file in files)
    return sorted(found)


def _parquet_in(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(path.rglob("*.parquet"))
        elif path.suffix == ".parquet" and path.is_file():
            files.append(path)
    return files


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@attrs.frozen(eq=False)
class Frames:
    """Recorded frames in replay order, as columns.

    ``replay_ns`` is each frame's time on the replay axis: nanoseconds since the first frame's
    receipt (sessions placed by their wall clock). ``wall_ns`` is its Unix receive time.
    """

    replay_ns: np.ndarray
    wall_ns: np.ndarray
    channels: tuple[str, ...]
    symbols: tuple[str, ...]
    payloads: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.payloads)

    @property
    def first_wall_ns(self) -> int:
        """Unix ns of the first frame (0 when empty)."""
        return int(self.wall_ns[0]) if len(self) else 0

    @property
    def last_wall_ns(self) -> int:
        """Unix ns of the last frame (0 when empty)."""
        return int(self.wall_ns[-1]) if len(self) else 0


def _read(files: Sequence[Path]) -> pa.Table:
    tables = []
    for path in files:
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowInvalid) as error:
            raise ConfigError(
                "backtest.events", f"{path} is not a readable Parquet file: {error}"
            ) from None
        missing = [name for name in SCHEMA.names if name not in table.column_names]
        if missing:
            raise ConfigError(
                "backtest.events", f"{path} is not a recording (no {', '.join(missing)} column)"
            )
        channel = (
            path.parent.name.partition("=")[2] if path.parent.name.startswith("channel=") else ""
        )
        table = table.select(SCHEMA.names).cast(SCHEMA)
        tables.append(
            table.append_column("channel", pa.array([channel] * table.num_rows, pa.string()))
        )
    return (
        pa.concat_tables(tables)
        if tables
        else SCHEMA.empty_table().append_column("channel", pa.array([], pa.string()))
    )


def load_frames(files: Sequence[Path], *, symbols: Sequence[str] = ()) -> Frames:
    """Read ``files`` into replay order, keeping only frames replay feeds to the client.

    Responses (acknowledgements, pongs) are dropped: the replay transport answers requests
    itself. With ``symbols``, frames about other symbols are dropped too (frames without a
    symbol, such as ``instrument`` and ``status``, are kept).

    Raises:
        ConfigError: a file is not a readable recording.
    """
    table = _read(files)
    keep = pc.invert(pc.starts_with(table["channel"], METHOD_PREFIX))
    if symbols:
        wanted = pa.array(sorted(set(symbols)), pa.string())
        keep = pc.and_(
            keep,
            pc.or_(pc.equal(table["symbol"], pa.scalar("")), pc.is_in(table["symbol"], wanted)),
        )
    table = table.filter(keep)
    if table.num_rows == 0:
        return Frames(np.zeros(0, np.int64), np.zeros(0, np.int64), (), (), ())
    sessions = [str(s) for s in table["session"].to_pylist()]
    wall = table["received_wall_ns"].to_numpy()
    mono = table["received_monotonic_ns"].to_numpy()
    # Anchor each session at its first frame: wall time places the session, the monotonic
    # clock times the frames inside it.
    anchors: dict[str, tuple[int, int]] = {}
    for index in np.lexsort((table["seq"].to_numpy(), np.asarray(sessions))):
        session = sessions[index]
        if session not in anchors:
            anchors[session] = (int(wall[index]), int(mono[index]))
    origin = min(anchor[0] for anchor in anchors.values())
    rank = {
        session: order
        for order, session in enumerate(sorted(anchors, key=lambda s: (anchors[s], s)))
    }
    offsets = np.array([anchors[s][0] - origin - anchors[s][1] for s in sessions], dtype=np.int64)
    replay = mono + offsets
    ranks = np.array([rank[s] for s in sessions], dtype=np.int64)
    order = np.lexsort((table["seq"].to_numpy(), ranks, replay))
    table = table.take(order)
    replay = replay[order]
    return Frames(
        replay_ns=replay - replay[0],
        wall_ns=wall[order],
        channels=tuple(str(c) for c in table["channel"].to_pylist()),
        symbols=tuple(str(c) for c in table["symbol"].to_pylist()),
        payloads=tuple(str(c) for c in table["payload"].to_pylist()),
    )


@attrs.frozen
class RecordingSummary:
    """What a recording holds: enough to validate a backtest against it."""

    files: tuple[Path, ...]
    frames: int
    first: datetime | None
    last: datetime | None
    symbols: tuple[str, ...]
    """Symbols with recorded frames (book, ticker, trade...)."""
    assets: tuple[str, ...]
    """Assets of the recorded instruments' pairs (bases and quotes)."""
    channels: tuple[str, ...]


def summarise(files: Sequence[Path], frames: Frames) -> RecordingSummary:
    """Times, symbols, assets and channels of loaded frames."""
    assets: set[str] = set()
    for channel, payload in zip(frames.channels, frames.payloads, strict=True):
        if channel == "instrument":
            assets.update(_instrument_assets(payload))
    symbols = sorted({s for s in frames.symbols if s})
    for symbol in symbols:
        base, _, quote = symbol.partition("/")
        if not assets and base and quote:  # no instrument frame: the symbols still name assets
            assets.update((base, quote))
    return RecordingSummary(
        files=tuple(files),
        frames=len(frames),
        first=_instant(frames.first_wall_ns) if len(frames) else None,
        last=_instant(frames.last_wall_ns) if len(frames) else None,
        symbols=tuple(symbols),
        assets=tuple(sorted(assets)),
        channels=tuple(sorted(set(frames.channels))),
    )


def _instrument_assets(payload: str) -> set[str]:
    try:
        data = orjson.loads(payload).get("data", {})
    except (orjson.JSONDecodeError, AttributeError):
        return set()
    found: set[str] = set()
    for pair in data.get("pairs", []) if isinstance(data, dict) else []:
        if isinstance(pair, dict):
            found.update(str(pair[key]) for key in ("base", "quote") if key in pair)
    return found


def _instant(wall_ns: int) -> datetime:
    return datetime.fromtimestamp(wall_ns / 1e9, UTC)
