"""What a sweep is: a base backtest configuration, a parameter space and an objective.

A sweep file holds a ``[backtest]`` table (the base: any key ``arbitrade backtest --config``
reads) and a ``[sweep]`` table (``method``, ``objective``, ``samples``, ``seed`` and
``[sweep.parameters]``); ``config/sweep.example.toml`` shows every key. The base may also come
from a separate backtest file. Relative recording paths and the fees file are made absolute
when the sweep is defined, so worker processes (and Dask workers with another working folder,
on a shared filesystem) read the same files, and a resumed sweep replays the same frames.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import orjson

from arbitrade.backtest import BacktestSettings, backtest_settings_from
from arbitrade.backtest._settings import DEFAULT_FEES_PATH
from arbitrade.backtest.sweep._objective import objective_named
from arbitrade.backtest.sweep._space import (
    ParameterSpace,
    apply_point,
    parameter_space_from,
    space_as_dict,
)
from arbitrade.config import ConfigError

SETTING_NAMES: tuple[str, ...] = tuple(field.name for field in attrs.fields(BacktestSettings))


@attrs.frozen
class SweepSpec:
    """Everything that defines a sweep's points and their ranking (stored with the sweep)."""

    base: Mapping[str, Any]
    """The base ``[backtest]`` table, as text and numbers (each point overrides some keys)."""
    space: ParameterSpace
    """Which points to run."""
    objective: str
    """The name of the objective that ranks the points (see ``OBJECTIVES``)."""

    def as_json(self) -> str:
        """The spec as JSON (what the ``sweeps`` table stores)."""
        data = {
            "base": self.base,
            "sweep": {**space_as_dict(self.space), "objective": self.objective},
        }
        return orjson.dumps(data, default=str).decode()


def spec_from_json(text: str) -> SweepSpec:
    """A spec read back from :meth:`SweepSpec.as_json` (paths already absolute).

    Raises:
        ConfigError: the stored spec no longer passes the rules (e.g. an objective renamed).
    """
    data = orjson.loads(text)
    return _spec(data["base"], data["sweep"], absolute=False)


def _absolute(entry: str) -> str:
    path = Path(entry).expanduser()
    return str(path if path.is_absolute() else Path.cwd() / path)


def _resolved_base(base: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    events = out.get("events")
    if isinstance(events, str):
        events = [part.strip() for part in events.split(",") if part.strip()]
    if isinstance(events, list | tuple):
        out["events"] = [_absolute(str(entry)) for entry in events]
    out["fees_path"] = _absolute(str(out.get("fees_path", DEFAULT_FEES_PATH)))
    return out


def _spec(base: Mapping[str, Any], sweep: Mapping[str, Any], *, absolute: bool) -> SweepSpec:
    unknown = sorted(set(sweep) - {"method", "objective", "samples", "seed", "parameters"})
    if unknown:
        raise ConfigError(f"sweep.{unknown[0]}", "is not a known sweep setting")
    objective = str(sweep.get("objective", "net_pnl"))
    objective_named(objective)
    space = parameter_space_from(sweep, SETTING_NAMES)
    return SweepSpec(_resolved_base(base) if absolute else dict(base), space, objective)


def sweep_spec_from(base: Mapping[str, Any], sweep: Mapping[str, Any]) -> SweepSpec:
    """Build and check a spec from a base ``[backtest]`` table and a ``[sweep]`` table.

    The base is checked as a backtest would check it (every rule that needs no recording),
    and so is the first point of a grid (an unknown parameter key fails here, not in every
    point).

    Raises:
        ConfigError: the first violated rule, naming ``backtest.<field>`` or ``sweep.<key>``.
    """
    spec = _spec(base, sweep, absolute=True)
    check_settings_of(spec.base)
    if spec.space.method == "grid":
        from arbitrade.backtest.sweep._space import grid_points

        first = grid_points(spec.space)[0]
        check_settings_of(apply_point(spec.base, first.params))
    return spec


def check_settings_of(table: Mapping[str, Any]) -> BacktestSettings:
    """The backtest settings of ``table`` (raises ConfigError as :func:`backtest_settings_from`)."""
    return backtest_settings_from(table)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(str(path), f"cannot read the file: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(path), f"is not valid TOML: {error}") from None


def load_sweep_spec(
    path: Path,
    *,
    backtest_path: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> SweepSpec:
    """Read a sweep file: its ``[sweep]`` table, and the base from its ``[backtest]`` table.

    ``backtest_path`` (a backtest TOML file) gives the base instead, its ``[backtest]`` table
    or top level; ``overrides`` replace keys of the ``[sweep]`` table (command-line flags).

    Raises:
        ConfigError: a file missing or not TOML (naming the file), no ``[sweep]`` table, or a
            violated rule.
    """
    data = _read_toml(path)
    sweep = data.get("sweep")
    if not isinstance(sweep, dict):
        raise ConfigError(str(path), "has no [sweep] table")
    sweep = {**sweep, **(overrides or {})}
    if backtest_path is not None:
        other = _read_toml(backtest_path)
        base = other.get("backtest", other)
    else:
        base = data.get("backtest", {})
    if not isinstance(base, dict):
        raise ConfigError(str(backtest_path or path), "[backtest] must be a table")
    return sweep_spec_from(base, sweep)
