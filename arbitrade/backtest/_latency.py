"""Order latency models: how long an order takes to reach the replayed market.

Each model is a seeded function returning seconds, drawn once per order (and per cancel), so
the same seed gives the same latencies in the same order. Feed latency needs no model: it is
in the recording's receive times.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

LatencyModel = Callable[[], float]
"""Returns one latency draw in seconds (never negative)."""


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


def make_latency_model(name: str, milliseconds: float, jitter_ms: float, seed: int) -> LatencyModel:
    """The model called ``name`` (fixed, uniform, lognormal), in seconds, seeded.

    Raises:
        ValueError: an unknown model name.
    """
    rng = random.Random(seed)  # noqa: S311 - a model, not cryptography
    centre, spread = milliseconds / 1000, jitter_ms / 1000
    if name == "fixed":
        return fixed_latency(centre)
    if name == "uniform":
        return uniform_latency(centre, spread, rng)
    if name == "lognormal":
        return lognormal_latency(centre, spread, rng)
    raise ValueError(f"unknown latency model {name!r}")
