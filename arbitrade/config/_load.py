"""Build :class:`Settings` from defaults, ``config/arbitrade.toml``, a ``.env`` file and the env.

Precedence rises in that order: an environment variable beats the ``.env`` file, which beats
the TOML file, which beats the defaults. Values from every source go through one cattrs
converter that rejects what does not fit, and the error names the setting.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import cattrs
from dotenv import dotenv_values

from arbitrade.config._errors import ConfigError
from arbitrade.config._secret import Secret
from arbitrade.config._settings import Mode, Settings, validate

DEFAULT_TOML = Path("config/arbitrade.toml")
DEFAULT_DOTENV = Path(".env")

_FIELDS = {field.name: field for field in attrs.fields(attrs.resolve_types(Settings))}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def _to_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _to_int(value: Any, _: type) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None


def _to_permissions(value: Any, _: type) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(sorted({str(item).strip().lower() for item in items if str(item).strip()}))


def _to_mode(value: Any, _: type) -> Mode:
    try:
        return Mode(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(m.value for m in Mode)
        raise ValueError(f"must be one of {allowed}, got {value!r}") from None


def _to_secret(value: Any, _: type) -> Secret:
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a string")  # never echo a secret's value
    return Secret(value.strip())


def make_converter() -> cattrs.Converter:
    """The converter that turns raw strings and TOML values into settings values."""
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(bool, _to_bool)
    converter.register_structure_hook(int, _to_int)
    converter.register_structure_hook(Mode, _to_mode)
    converter.register_structure_hook(Secret, _to_secret)
    converter.register_structure_hook(Path, lambda v, _: Path(str(v)))
    converter.register_structure_hook_func(lambda t: t == tuple[str, ...], _to_permissions)
    converter.register_structure_hook(str, lambda v, _: str(v).strip())
    return converter


_CONVERTER = make_converter()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(path), f"is not valid TOML: {error}") from None
    # Top-level scalars are application settings; tables belong to components.
    return {key.lower(): value for key, value in data.items() if not isinstance(value, dict)}


def _pick(source: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``source`` (env-style or TOML keys) that name a setting."""
    picked: dict[str, Any] = {}
    for key, value in source.items():
        name = key.lower()
        if name in _FIELDS and value is not None:
            picked[name] = value
    return picked


def load_settings(
    *,
    toml_path: Path | None = DEFAULT_TOML,
    dotenv_path: Path | None = DEFAULT_DOTENV,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read every source and return validated settings.

    Args:
        toml_path: the TOML file; a missing file is skipped, a malformed one is an error.
        dotenv_path: the ``.env`` file; a missing file is skipped.
        environ: the environment (``os.environ`` when None).

    Raises:
        ConfigError: the first violated rule, naming the setting. Its message never holds a
            secret's value.
    """
    raw: dict[str, Any] = {}
    if toml_path is not None and toml_path.is_file():
        toml_values = _read_toml(toml_path)
        unknown = sorted(set(toml_values) - set(_FIELDS))
        if unknown:
            raise ConfigError(unknown[0].upper(), f"is not a known setting (in {toml_path})")
        raw.update(toml_values)
    if dotenv_path is not None and dotenv_path.is_file():
        raw.update(_pick(dotenv_values(dotenv_path)))
    raw.update(_pick(os.environ if environ is None else environ))
    return validate(_structure(raw))


def _structure(raw: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {}
    for name, value in raw.items():
        field_type: Any = _FIELDS[name].type
        try:
            values[name] = _CONVERTER.structure(value, field_type)
        except (ValueError, TypeError, cattrs.BaseValidationError) as error:
            problem = str(error) if not isinstance(error, cattrs.BaseValidationError) else "invalid"
            if field_type is Secret:
                problem = "invalid value (not shown: it is a secret)"
            raise ConfigError(name.upper(), problem) from None
    return Settings(**values)


def masked(settings: Settings) -> dict[str, str]:
    """Every setting as text, secrets masked: what ``arbitrade config check`` prints."""
    shown: dict[str, str] = {}
    for name in _FIELDS:
        value = getattr(settings, name)
        if isinstance(value, tuple):
            text = ",".join(value)
        elif isinstance(value, Secret):
            text = str(value) if value else "(not set)"
        else:
            text = str(value)
        shown[name.upper()] = text
    return shown
