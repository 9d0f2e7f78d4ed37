"""Order latency models: how long an order takes to reach the replayed market.

Each model is a seeded function returning seconds, drawn once per order (and per cancel), so
the same seed gives the same latencies in the same order. Feed latency needs no model: it is
in the recording's receive times.

The ``recorded`` model replays the latencies a trader actually had. Its source is what every
paper or live run already leaves behind: the ``orders`` table of the run's DuckDB file (or a
Parquet export of it, ``COPY orders TO 'orders.parquet'``). Each order's first row (state
``pending``) is written when the executor sends it; the first row after it is written when
the venue's answer (acknowledgement, fill or rejection) reached the executor, both on the
process's monotonic clock. Their difference is the order's round trip as the executor saw it.
Orders ended locally (never sent: a passed deadline or the kill switch) are not round trips
and are left out. Only the round trip is known, not how it splits between the way out and
the way back, so the model takes half of it as the order latency (a symmetric path, as
hftbacktest assumes when only round trips are recorded); ``response_latency_ms`` stays the
fixed way back (set it near half the median round trip).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

import duckdb

from arbitrade.config import ConfigError

LatencyModel = Callable[[], float]
"""Returns one latency draw in seconds (never negative)."""

LOCAL_REASONS: Final = (
    "deadline_passed_before_sent",
    "kill_switch",
    "EService:Deadline elapsed",
)
"""Reasons of orders ended before they reached a venue (executor and live venue): no round
trip."""

_ROUND_TRIPS_SQL: Final = """
WITH ordered AS (
    SELECT cl_ord_id, state, reason, at_monotonic,
           row_number() OVER (PARTITION BY cl_ord_id ORDER BY at_monotonic, state <> 'pending') AS n
    FROM {source}
), sent AS (
    SELECT cl_ord_id, at_monotonic FROM ordered WHERE n = 1 AND state = 'pending'
), answered AS (
    SELECT cl_ord_id, at_monotonic, reason FROM ordered WHERE n = 2
)
SELECT answered.at_monotonic - sent.at_monotonic AS round_trip
FROM sent JOIN answered USING (cl_ord_id)
WHERE answered.reason NOT IN ({local}) AND answered.at_monotonic >= sent.at_monotonic
ORDER BY round_trip, cl_ord_id
"""


def fixed_latency(seconds: float) -> LatencyModel:
    """Every draw is ``seconds``."""
    return lambda: seconds


def uniform_latency(centre: float, spread: float, rng: random.Random) -> LatencyModel:
    """Uniform within ``centre`` +/- ``spread``, clipped at zero."""
    return lambda: max(0.0, rng.uniform(centre - spread, centre + spread))


def lognormal_latency(median: float, spread: float, rng: random.Random) -> LatencyModel:
    """Log-normal with the given median; ``spread`` sets sigma as ``ln(1 + spread/median)``.

    A right-skewed model: most orders near the median, a few much slower, as networks are.
    With a zero median every draw is zero.
    """
    if median <= 0:
        return fixed_latency(0.0)
    sigma = math.log1p(spread / median)
    mu = math.log(median)
    return lambda: rng.lognormvariate(mu, sigma)


def empirical_quantile(ordered: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of sorted samples, interpolated linearly between neighbours.

    The inverse of the piecewise-linear empirical distribution: ``fraction`` 0 gives the
    smallest sample, 1 the largest, and ``fraction * (n - 1)`` falling between two samples
    gives the point that far between them. ``[10, 20, 40]`` at 0.25 is 15, at 0.75 is 30.

    Raises:
        ValueError: no samples, or ``fraction`` outside [0, 1].
    """
    if not ordered:
        raise ValueError("no samples to interpolate")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must lie in [0, 1], got {fraction}")
    position = fraction * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (position - below) * (ordered[above] - ordered[below])


def interpolated_latency(
    samples: Sequence[float], rng: random.Random, *, scale: float = 1.0
) -> LatencyModel:
    """Draws from the empirical distribution of ``samples`` (seconds), times ``scale``.

    Each draw takes one uniform number from ``rng`` and returns the interpolated quantile
    (see :func:`empirical_quantile`): values between the recorded ones, never outside them.

    Raises:
        ValueError: no samples, or a negative or non-finite sample.
    """
    ordered = sorted(samples)
    if not ordered:
        raise ValueError("no samples to interpolate")
    if not all(0.0 <= value < math.inf for value in ordered):
        raise ValueError("latency samples must be finite and zero or more")
    return lambda: empirical_quantile(ordered, rng.random()) * scale


def load_round_trips(
    source: Path | str, *, field: str = "backtest.latency_source"
) -> tuple[float, ...]:
    """Order round trips (seconds, sorted) from a run's ``orders`` rows.

    ``source`` is a DuckDB file holding the ``orders`` table (opened read-only: copy the
    file of a running bot, which holds its lock) or a ``.parquet`` export of that table.
    See the module docstring for what counts as a round trip.

    Raises:
        ConfigError: the file does not exist, cannot be read as either, has no ``orders``
            rows of the expected shape, or holds no round trip (naming ``field``).
    """
    path = Path(source)
    if not str(source).strip():
        raise ConfigError(field, "the recorded latency model needs a file of orders rows")
    try:
        exists = path.is_file()
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        exists = False
    if not exists:
        raise ConfigError(field, f"{source} does not exist (or is not a file)")
    local = ", ".join(f"'{reason}'" for reason in LOCAL_REASONS)
    try:
        if path.suffix == ".parquet":
            with duckdb.connect() as connection:
                rows = connection.execute(
                    _ROUND_TRIPS_SQL.format(source="read_parquet(?)", local=local), [str(path)]
                ).fetchall()
        else:
            with duckdb.connect(str(path), read_only=True) as connection:
                rows = connection.execute(
                    _ROUND_TRIPS_SQL.format(source="orders", local=local)
                ).fetchall()
    except duckdb.Error as error:
        raise ConfigError(
            field, f"cannot read orders rows from {source}: {str(error).splitlines()[0]}"
        ) from None
    trips = tuple(float(row[0]) for row in rows if row[0] is not None and row[0] >= 0)
    if not trips:
        raise ConfigError(
            field, f"{source} holds no order round trips (no order both sent and answered)"
        )
    return trips


def make_latency_model(
    name: str,
    milliseconds: float,
    jitter_ms: float,
    seed: int,
    *,
    source: Path | str = "",
) -> LatencyModel:
    """The model called ``name`` (fixed, uniform, lognormal, recorded), in seconds, seeded.

    ``recorded`` draws half of a round trip interpolated from the orders rows in ``source``
    (see :func:`load_round_trips`); it ignores ``milliseconds`` and ``jitter_ms``.

    Raises:
        ValueError: an unknown model name.
        ConfigError: ``recorded`` and ``source`` holds no round trips (naming
            ``backtest.latency_source``).
    """
    rng = random.Random(seed)  # noqa: S311 - a model, not cryptography
    centre, spread = milliseconds / 1000, jitter_ms / 1000
    if name == "fixed":
        return fixed_latency(centre)
    if name == "uniform":
        return uniform_latency(centre, spread, rng)
    if name == "lognormal":
        return lognormal_latency(centre, spread, rng)
    if name == "recorded":
        return interpolated_latency(load_round_trips(source), rng, scale=0.5)
    raise ValueError(f"unknown latency model {name!r}")
