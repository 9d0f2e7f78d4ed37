"""Settings of one component (risk, graph, strategy...) from its own ``config/<name>.toml``.

Each component declares a frozen attrs class with a default for every field and a docstring per
field. :func:`load_component` reads ``config/<name>.toml`` (a missing file means defaults),
then environment overrides named ``<PREFIX>_<FIELD>`` (``RISK_MIN_PROFIT_BPS``), structures the
values with cattrs (Decimal, int, float, bool, str, tuples of those, nested attrs classes) and
runs the class's own attrs validators. Numbers must be finite (no NaN or infinity, which pass
every ``> 0`` check) and Decimals below 10**30. Every failure is one :class:`ConfigError`
naming the setting as ``<name>.<field>``.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs
import cattrs

from arbitrade.config._errors import ConfigError

CONFIG_DIR = Path("config")
MAX_DECIMAL_DIGITS = 30
"""Decimal settings have fewer integer digits than this (no amount or rate comes close)."""


def _to_decimal(value: Any, _: type) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"expected a number, got {value!r}") from None
    if not result.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    # 1e999999999 is finite, but arithmetic on it (fee / 10_000) raises decimal.Overflow.
    if result.adjusted() >= MAX_DECIMAL_DIGITS:
        raise ValueError(f"expected fewer than {MAX_DECIMAL_DIGITS} integer digits, got {value!r}")
    return result


def _to_float(value: Any, _: type) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"expected a number, got {value!r}") from None
    # NaN passes every "> 0" validator and compares false with everything: a NaN
    # max_book_age_seconds would never call a book stale.
    if not math.isfinite(result):
        raise ValueError(f"expected a finite number, got {value!r}")
    return result


def _to_strict_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"expected a whole number, got {value!r}")
    try:
        return int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a whole number, got {value!r}") from None


def _to_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def component_converter() -> cattrs.Converter:
    """A cattrs converter for component settings that rejects unknown keys."""
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(Decimal, _to_decimal)
    converter.register_structure_hook(float, _to_float)
    converter.register_structure_hook(int, _to_strict_int)
    converter.register_structure_hook(bool, _to_bool)
    converter.register_structure_hook(Path, lambda v, _: Path(str(v)))
    return converter


_CONVERTER = component_converter()


def _first_problem(error: BaseException, name: str) -> ConfigError:
    """Turn a cattrs/attrs validation failure into one ConfigError naming the field."""
    if isinstance(error, cattrs.BaseValidationError):
        for inner in error.exceptions:
            field = ""
            for note in getattr(inner, "__notes__", ()):
                if isinstance(note, cattrs.AttributeValidationNote):
                    field = note.name
            if isinstance(inner, cattrs.BaseValidationError):
                return _first_problem(inner, f"{name}.{field}" if field else name)
            if isinstance(inner, KeyError):
                return ConfigError(f"{name}.{field or inner.args[0]}", "is required")
            problem = str(inner) or type(inner).__name__
            if field:
                return ConfigError(f"{name}.{field}", problem)
            return ConfigError(name, problem)
        return ConfigError(name, str(error))
    return ConfigError(name, str(error))


def structure_component[T](cls: type[T], values: Mapping[str, Any], name: str) -> T:
    """Structure ``values`` into ``cls``; raise one ConfigError naming ``name.field``."""
    try:
        return _CONVERTER.structure(dict(values), cls)
    except cattrs.BaseValidationError as error:
        raise _first_problem(error, name) from None
    except (ValueError, TypeError) as error:
        # attrs validators raise these with the field in their message
        raise ConfigError(name, str(error)) from None


def load_component[T](
    cls: type[T],
    name: str,
    *,
    config_dir: Path = CONFIG_DIR,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> T:
    """Load ``cls`` from ``config_dir/<name>.toml`` then ``<NAME>_<FIELD>`` env overrides.

    ``overrides`` (e.g. from a dashboard form or CLI flags) win over both.

    Raises:
        ConfigError: a malformed file, an unknown key, or a value that breaks a rule.
    """
    values: dict[str, Any] = {}
    path = config_dir / f"{name}.toml"
    if path.is_file():
        try:
            with path.open("rb") as handle:
                values.update(tomllib.load(handle))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(str(path), f"is not valid TOML: {error}") from None
    env = os.environ if environ is None else environ
    prefix = f"{name.upper()}_"
    field_names = {field.name for field in attrs.fields(cls)}  # type: ignore[arg-type]
    for key, value in env.items():
        if key.startswith(prefix) and key[len(prefix) :].lower() in field_names:
            values[key[len(prefix) :].lower()] = value
    if overrides:
        values.update(overrides)
    return structure_component(cls, values, name)
