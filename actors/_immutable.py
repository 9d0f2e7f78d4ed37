"""Debug-mode check that a message is deeply immutable (off the hot path unless enabled)."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import fractions
import uuid
from typing import Any

import attrs

from ._errors import MutableMessage

_ATOMS: tuple[type, ...] = (
    str,
    bytes,
    int,
    float,
    complex,
    bool,
    type(None),
    decimal.Decimal,
    fractions.Fraction,
    enum.Enum,
    datetime.date,
    datetime.time,
    datetime.timedelta,
    uuid.UUID,
    range,
    type,
)


def _attrs_frozen(cls: type) -> bool:
    # attrs installs the same __setattr__ on every frozen class.
    setter = getattr(cls, "__setattr__", None)
    return getattr(setter, "__name__", "") == "_frozen_setattrs"


def check_immutable(path: str, message: object) -> None:
    """Raise ``MutableMessage`` naming the first mutable part of ``message``."""
    _check(path, message, type(message).__name__, 0)


def _check(path: str, value: Any, where: str, depth: int) -> None:
    if depth > 20 or isinstance(value, _ATOMS):
        return
    cls = type(value)
    if isinstance(value, tuple | frozenset):
        for index, item in enumerate(value):
            _check(path, item, f"{where}[{index}]", depth + 1)
        return
    if attrs.has(cls):
        if not _attrs_frozen(cls):
            raise MutableMessage(path, where, f"{cls.__name__} (attrs class, not frozen)")
        for field in attrs.fields(cls):
            _check(path, getattr(value, field.name), f"{where}.{field.name}", depth + 1)
        return
    if dataclasses.is_dataclass(value):
        if not cls.__dataclass_params__.frozen:
            raise MutableMessage(path, where, f"{cls.__name__} (dataclass, not frozen)")
        for dc_field in dataclasses.fields(value):
            _check(path, getattr(value, dc_field.name), f"{where}.{dc_field.name}", depth + 1)
        return
    raise MutableMessage(path, where, f"{cls.__name__} (mutable)")
