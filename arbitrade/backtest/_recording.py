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
from typing import Final

import attrs
import numpy as np
import orjson
import pyarrow as pa

from arbitrade.backtest._frames import METHOD_PREFIX, SCHEMA
from arbitrade.config import ConfigError

RECORDING_LAYOUT: Final = (
    "*.parquet",
    "channel=*/*.parquet",
    "day=*/channel=*/*.parquet",
    "*/day=*/channel=*/*.parquet",
)
"""Where a named folder's frames may lie, relative to it: the folder is a ``channel=`` folder,
a ``day=`` folder, a recording (as ``arbitrade record`` writes it) or a folder of recordings.
Never deeper: a wrong folder (a home folder, ``/usr``) costs a few directory listings, not a
walk of the disk."""


def find_recording_files(events: Iterable[str], *, field: str = "backtest.events") -> list[Path]:
    """The Parquet files named by ``events``, sorted and without duplicates.

    A file is taken as named. A folder is searched only where :data:`RECORDING_LAYOUT` puts
    frames (Parquet files deeper down are not found). A glob's matches are taken as files or
    searched as folders. A filesystem root (``/``, or a ``**`` glob starting at one) is
    refused before anything is listed.

    Raises:
        ConfigError: no path given, a filesystem root, or a path that does not exist or holds
            no frames in the recording layout (naming ``field`` and the path).
    """
    found: set[Path] = set()
    given = list(events)
    if not given:
        raise ConfigError(field, "no recording given (files, folders or globs of Parquet frames)")
    for entry in given:
        path = Path(entry)
        if any(ch in entry for ch in "*?["):
            if "**" in entry and _is_root(_fixed_prefix(entry)):
                raise ConfigError(
                    field, f"{entry!r} would search the whole filesystem: start from a folder"
                )
            matches = [Path(m) for m in glob.glob(entry, recursive=True)]
            files = _parquet_in(matches)
            if not files:
                raise ConfigError(field, f"{entry!r} matches no recorded frames")
        elif _is_dir(path):
            if _is_root(path):
                raise ConfigError(
                    field,
                    f"{entry} is a filesystem root: name the recording's folder "
                    "(the one holding day=YYYY-MM-DD/channel=NAME/)",
                )
            files = _layout_files(path)
            if not files:
                raise ConfigError(
                    field,
                    f"{entry} holds no recorded frames: expected .parquet files under "
                    "day=YYYY-MM-DD/channel=NAME/ (as arbitrade record writes them)",
                )
        elif path.is_file():
            files = [path]
        else:
            raise ConfigError(field, f"{entry} does not exist")
        found.update(file.resolve() for file in files)
    return sorted(found)


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        return False


def _is_root(path: Path) -> bool:
    """True for a filesystem root (``/``; a drive's root on Windows), however spelt."""
    try:
        resolved = path.resolve()
    except (OSError, ValueError, RuntimeError):
        return False
    return resolved == resolved.parent


def _fixed_prefix(pattern: str) -> Path:
    """The folder a glob starts from: its components before the first wildcard."""
    parts: list[str] = []
    for part in Path(pattern).parts:
        if any(ch in part for ch in "*?["):
            break
        parts.append(part)
    return Path(*parts) if parts else Path()


def _layout_files(folder: Path) -> list[Path]:
    files: list[Path] = []
    for pattern in RECORDING_LAYOUT:
        files.extend(file for file in folder.glob(pattern) if file.is_file())
    return files


def _parquet_in(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if _is_dir(path):
            if not _is_root(path):
                files.extend(_layout_files(path))
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
    import pyarrow.parquet as pq  # lazy: ~5 MB a running bot need not hold

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
    import pyarrow.compute as pc  # lazy: ~6 MB a running bot need not hold

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


def recorded_symbols(files: Sequence[Path]) -> tuple[str, ...]:
    """Every symbol with a frame in ``files``, sorted (reads only the ``symbol`` column).

    Raises:
        ConfigError: a file is not a readable recording.
    """
    import pyarrow.compute as pc  # lazy: only a backtest reads recordings
    import pyarrow.parquet as pq

    found: set[str] = set()
    for path in files:
        try:
            column = pq.read_table(path, columns=["symbol"])["symbol"]
        except (OSError, pa.ArrowInvalid, KeyError) as error:
            raise ConfigError(
                "backtest.events", f"{path} is not a readable recording: {error}"
            ) from None
        found.update(str(symbol) for symbol in pc.unique(column).to_pylist() if symbol)
    return tuple(sorted(found))


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
