"""The parameter space of a sweep: dimensions, the points they give, and each point's id.

A dimension names one backtest setting by its path in the ``[backtest]`` table (``capital``,
``order_latency_ms``, ``parameters.min_profit_bps``, ``risk.max_open_cycles``) and says which
values it takes: a list (:class:`Choice`) or a range (:class:`IntRange`, :class:`FloatRange`).
A grid takes every combination in the order the dimensions are declared; random draws take
``samples`` points from a seeded generator (the same seed gives the same points, which is what
lets a resumed sweep find the points it already ran); the TPE search asks Optuna for points
(``_sources``). A point is identified by :func:`point_id`, a hash of its parameters only.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
import orjson

from arbitrade.config import ConfigError

Scalar = str | int | float | bool
"""A parameter value: what TOML and JSON can hold without nesting."""

METHODS: Final = ("grid", "random", "tpe")
"""``grid``: every combination; ``random``: ``samples`` seeded draws; ``tpe``: ``samples``
points asked of Optuna's TPE sampler, told each result as it arrives."""
MAX_GRID_POINTS: Final = 100_000
"""A grid larger than this is refused (use ``random`` or ``tpe``)."""


@attrs.frozen
class Choice:
    """A setting that takes one of ``values`` (a grid takes each in order)."""

    name: str
    values: tuple[Scalar, ...]


@attrs.frozen
class IntRange:
    """An integer setting in ``[low, high]`` by ``step``; ``log`` draws on a log scale."""

    name: str
    low: int
    high: int
    step: int = 1
    log: bool = False


@attrs.frozen
class FloatRange:
    """A real setting in ``[low, high]``; a grid needs ``step``; ``log`` draws on a log scale.

    Draws without a step are rounded to 6 significant digits, so a point's parameters print
    and hash the same everywhere.
    """

    name: str
    low: float
    high: float
    step: float | None = None
    log: bool = False


Dimension = Choice | IntRange | FloatRange


@attrs.frozen
class ParameterSpace:
    """How a sweep chooses its points. Build it with :func:`parameter_space_from`."""

    method: str
    """One of :data:`METHODS`."""
    dimensions: tuple[Dimension, ...]
    """The settings varied, in declaration order (a grid's order)."""
    samples: int = 0
    """Points drawn by ``random`` and asked by ``tpe`` (a grid takes all of its points)."""
    seed: int = 0
    """Seeds the random draws and the TPE sampler."""


@attrs.frozen
class Point:
    """One combination of parameter values, with its id (:func:`point_id`)."""

    point_id: str
    params: Mapping[str, Scalar]


def point_id(params: Mapping[str, Scalar]) -> str:
    """``pt-`` and 16 hex digits of the SHA-256 of the parameters as canonical JSON.

    Canonical: keys sorted, no spaces; ``1`` and ``1.0`` are different points.
    """
    text = orjson.dumps(dict(params), option=orjson.OPT_SORT_KEYS)
    return "pt-" + hashlib.sha256(text).hexdigest()[:16]


def make_point(params: Mapping[str, Scalar]) -> Point:
    """A :class:`Point` of ``params`` (copied)."""
    copied = dict(params)
    return Point(point_id(copied), copied)


def _round6(value: float) -> float:
    return float(f"{value:.6g}")


def _grid_values(dimension: Dimension) -> list[Scalar]:
    if isinstance(dimension, Choice):
        return list(dimension.values)
    if isinstance(dimension, IntRange):
        return list(range(dimension.low, dimension.high + 1, dimension.step))
    step = dimension.step
    if step is None:
        raise ConfigError(
            f"sweep.parameters.{dimension.name}",
            "a grid needs a step for a real range (or a list of values)",
        )
    count = math.floor((dimension.high - dimension.low) / step + 1e-9) + 1
    return [round(dimension.low + index * step, 12) for index in range(count)]


def grid_points(space: ParameterSpace) -> list[Point]:
    """Every combination, the first dimension varying slowest.

    Raises:
        ConfigError: a real range without a step, or more than :data:`MAX_GRID_POINTS`.
    """
    axes = [_grid_values(dimension) for dimension in space.dimensions]
    size = math.prod(len(axis) for axis in axes)
    if size > MAX_GRID_POINTS:
        raise ConfigError(
            "sweep.parameters",
            f"the grid has {size:,} points, more than {MAX_GRID_POINTS:,}: use random or tpe",
        )
    names = [dimension.name for dimension in space.dimensions]
    return [
        make_point(dict(zip(names, values, strict=True))) for values in itertools.product(*axes)
    ]


def _draw(dimension: Dimension, rng: random.Random) -> Scalar:
    if isinstance(dimension, Choice):
        return dimension.values[rng.randrange(len(dimension.values))]
    if isinstance(dimension, IntRange):
        if dimension.log:
            value = math.exp(rng.uniform(math.log(dimension.low), math.log(dimension.high + 1)))
            return min(dimension.high, int(value))
        return rng.randrange(dimension.low, dimension.high + 1, dimension.step)
    if dimension.step is not None:
        count = math.floor((dimension.high - dimension.low) / dimension.step + 1e-9) + 1
        return round(dimension.low + rng.randrange(count) * dimension.step, 12)
    if dimension.log:
        low, high = math.log(dimension.low), math.log(dimension.high)
        return _round6(min(dimension.high, max(dimension.low, math.exp(rng.uniform(low, high)))))
    return _round6(rng.uniform(dimension.low, dimension.high))


def random_points(space: ParameterSpace) -> list[Point]:
    """``samples`` seeded draws, duplicates dropped (so there may be fewer), in draw order."""
    rng = random.Random(space.seed)  # noqa: S311 - a reproducible search, not secrecy
    seen: set[str] = set()
    points: list[Point] = []
    for _ in range(space.samples):
        point = make_point(
            {dimension.name: _draw(dimension, rng) for dimension in space.dimensions}
        )
        if point.point_id not in seen:
            seen.add(point.point_id)
            points.append(point)
    return points


def apply_point(base: Mapping[str, Any], params: Mapping[str, Scalar]) -> dict[str, Any]:
    """``base`` (a ``[backtest]`` table) with each dotted parameter path set; ``base`` unchanged.

    ``parameters.min_profit_bps = 5`` sets ``base["parameters"]["min_profit_bps"]``, creating
    the inner table when the base has none.
    """
    out: dict[str, Any] = _copy(base)
    for name, value in params.items():
        *heads, last = name.split(".")
        table = out
        for head in heads:
            inner = table.get(head)
            if not isinstance(inner, dict):
                inner = {}
                table[head] = inner
            table = inner
        table[last] = value
    return out


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


# --- building a space from TOML (or JSON read back from the database) ---------------------------

_SCALARS = (str, int, float, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _dimension(name: str, value: Any) -> Dimension:
    where = f"sweep.parameters.{name}"
    if isinstance(value, _SCALARS):
        return Choice(name, (value,))
    if isinstance(value, list | tuple):
        return _choice(name, value)
    if not isinstance(value, Mapping):
        raise ConfigError(where, f"expected a list of values or a range table, got {value!r}")
    if "values" in value:
        if set(value) != {"values"}:
            raise ConfigError(where, "a table with values takes no other key")
        return _choice(name, value["values"])
    unknown = sorted(set(value) - {"low", "high", "step", "log"})
    if unknown:
        raise ConfigError(where, f"unknown key {unknown[0]!r} (expected low, high, step, log)")
    low: Any = value.get("low")
    high: Any = value.get("high")
    step: Any = value.get("step")
    log: Any = value.get("log")
    if not (_is_number(low) and _is_number(high)):
        raise ConfigError(where, f"a range needs numbers low and high, got {low!r} and {high!r}")
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise ConfigError(where, f"expected finite low < high, got low={low} high={high}")
    if step is not None and (not _is_number(step) or not step > 0 or not math.isfinite(step)):
        raise ConfigError(where, f"step must be a number more than zero, got {step!r}")
    if log is not None and not isinstance(log, bool):
        raise ConfigError(where, f"log must be true or false, got {log!r}")
    if log and low <= 0:
        raise ConfigError(where, f"a log range needs low > 0, got {low}")
    if log and step is not None and step != 1:
        raise ConfigError(where, "a log range takes no step")
    if isinstance(low, int) and isinstance(high, int) and (step is None or isinstance(step, int)):
        return IntRange(name, low, high, 1 if step is None else step, bool(log))
    return FloatRange(
        name, float(low), float(high), None if step is None else float(step), bool(log)
    )


def _choice(name: str, values: Any) -> Choice:
    where = f"sweep.parameters.{name}"
    if not isinstance(values, list | tuple) or not values:
        raise ConfigError(where, "expected a non-empty list of values")
    for item in values:
        if not isinstance(item, _SCALARS) or (isinstance(item, float) and not math.isfinite(item)):
            raise ConfigError(where, f"values must be text, numbers or booleans, got {item!r}")
    return Choice(name, tuple(values))


def _check_name(name: str, fields: Sequence[str]) -> None:
    where = f"sweep.parameters.{name}"
    parts = name.split(".")
    if not all(parts):
        raise ConfigError(where, "expected a setting such as capital or parameters.min_profit_bps")
    if parts[0] not in fields:
        raise ConfigError(where, f"{parts[0]!r} is not a backtest setting")
    if parts[0] in ("parameters", "risk", "balances") and len(parts) < 2:
        raise ConfigError(where, f"name a key inside {parts[0]}, e.g. {parts[0]}.<key>")


def parameter_space_from(table: Mapping[str, Any], fields: Sequence[str]) -> ParameterSpace:
    """Build the space from a ``[sweep]`` table (``method``, ``samples``, ``seed``, ``parameters``).

    ``fields`` are the backtest settings a parameter may name (its first dotted part).

    Raises:
        ConfigError: the first violated rule, naming ``sweep.<key>``: an unknown method; no
            parameters; a name that is not a setting; an empty list; a range with low not
            below high, a step not above zero, a log range from zero or below; ``samples``
            under 1 for random or tpe.
    """
    method = table.get("method", "grid")
    if method not in METHODS:
        raise ConfigError("sweep.method", f"expected one of {', '.join(METHODS)}, got {method!r}")
    parameters = table.get("parameters")
    if not isinstance(parameters, Mapping) or not parameters:
        raise ConfigError("sweep.parameters", "name at least one setting to vary")
    dimensions: list[Dimension] = []
    for name, value in parameters.items():
        _check_name(str(name), fields)
        dimensions.append(_dimension(str(name), value))
    samples = table.get("samples", 0)
    seed = table.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError("sweep.seed", f"expected an integer, got {seed!r}")
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 0:
        raise ConfigError("sweep.samples", f"expected an integer of 0 or more, got {samples!r}")
    if method != "grid" and samples < 1:
        raise ConfigError("sweep.samples", f"{method} needs samples of 1 or more")
    space = ParameterSpace(method, tuple(dimensions), samples, seed)
    if method == "grid":
        grid_points(space)  # refuses a real range without step, or too many points
    return space


def space_as_dict(space: ParameterSpace) -> dict[str, Any]:
    """The space as a ``[sweep]``-shaped table (what :func:`parameter_space_from` reads)."""
    parameters: dict[str, Any] = {}
    for dimension in space.dimensions:
        if isinstance(dimension, Choice):
            parameters[dimension.name] = {"values": list(dimension.values)}
        else:
            entry: dict[str, Any] = {"low": dimension.low, "high": dimension.high}
            if dimension.step is not None:
                entry["step"] = dimension.step
            if dimension.log:
                entry["log"] = True
            parameters[dimension.name] = entry
    return {
        "method": space.method,
        "samples": space.samples,
        "seed": space.seed,
        "parameters": parameters,
    }
