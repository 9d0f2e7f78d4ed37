"""Field readers for decoding untrusted JSON objects, each naming the field when it fails.

Every reader raises :class:`Malformed` with a reason like
``data[0].price: expected a number, got str 'abc'``; the codec turns that into a
:class:`~arbitrade.kraken.DecodeError` value. :class:`~arbitrade.kraken._numbers.NeedsExactParse`
passes through so the codec can re-read the frame exactly.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from arbitrade.kraken._numbers import NotANumber, OffGrid, to_decimal, to_units

__all__ = [
    "Malformed",
    "get_bool",
    "get_decimal",
    "get_int",
    "get_list",
    "get_object",
    "get_str",
    "get_units",
    "opt_decimal",
    "opt_int",
    "opt_str",
    "str_tuple",
]

_MISSING: Any = object()


class Malformed(ValueError):
    """A frame does not fit the message it claims to be; the text names the field."""


def _describe(value: object) -> str:
    return f"{type(value).__name__} {value!r:.40}"


def get_object(obj: Any, key: str | int, path: str) -> dict[str, Any]:
    """``obj[key]`` which must be a JSON object."""
    value = _get(obj, key, path)
    if not isinstance(value, dict):
        raise Malformed(f"{path}: expected an object, got {_describe(value)}")
    return value


def get_list(obj: Any, key: str, path: str) -> list[Any]:
    """``obj[key]`` which must be a JSON array."""
    value = _get(obj, key, path)
    if not isinstance(value, list):
        raise Malformed(f"{path}: expected an array, got {_describe(value)}")
    return value


def get_str(obj: Any, key: str, path: str) -> str:
    """``obj[key]`` which must be a string."""
    value = _get(obj, key, path)
    if not isinstance(value, str):
        raise Malformed(f"{path}: expected a string, got {_describe(value)}")
    return value


def opt_str(obj: dict[str, Any], key: str, path: str) -> str | None:
    """``obj[key]`` if present and not null, which must then be a string."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Malformed(f"{path}: expected a string, got {_describe(value)}")
    return value


def get_int(obj: Any, key: str, path: str) -> int:
    """``obj[key]`` which must be an integer (not a bool, not a float)."""
    value = _get(obj, key, path)
    if type(value) is not int:
        raise Malformed(f"{path}: expected an integer, got {_describe(value)}")
    return value


def opt_int(obj: dict[str, Any], key: str, path: str) -> int | None:
    """``obj[key]`` if present and not null, which must then be an integer."""
    if obj.get(key) is None:
        return None
    return get_int(obj, key, path)


def get_bool(obj: Any, key: str, path: str) -> bool:
    """``obj[key]`` which must be true or false."""
    value = _get(obj, key, path)
    if not isinstance(value, bool):
        raise Malformed(f"{path}: expected a boolean, got {_describe(value)}")
    return value


def get_decimal(obj: Any, key: str, path: str) -> Decimal:
    """``obj[key]`` as an exact Decimal (a JSON number; strings are refused)."""
    value = _get(obj, key, path)
    try:
        return to_decimal(value)
    except NotANumber as exc:
        raise Malformed(f"{path}: {exc}") from None


def opt_decimal(obj: dict[str, Any], key: str, path: str) -> Decimal | None:
    """``obj[key]`` if present and not null, as an exact Decimal."""
    if obj.get(key) is None:
        return None
    return get_decimal(obj, key, path)


def get_units(obj: Any, key: str, precision: int, path: str) -> int:
    """``obj[key]`` as an exact integer count of ``10**-precision`` units."""
    value = _get(obj, key, path)
    try:
        return to_units(value, precision)
    except (NotANumber, OffGrid) as exc:
        raise Malformed(f"{path}: {exc}") from None


def str_tuple(obj: dict[str, Any], key: str, path: str) -> tuple[str, ...]:
    """``obj[key]`` as a tuple of strings; absent or null gives ``()``."""
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Malformed(f"{path}: expected an array of strings, got {_describe(value)}")
    return tuple(value)


def _get(obj: Any, key: str | int, path: str) -> Any:
    if isinstance(key, int):
        if not isinstance(obj, list) or not -len(obj) <= key < len(obj):
            raise Malformed(f"{path}: missing")
        return obj[key]
    if not isinstance(obj, dict):
        raise Malformed(f"{path}: parent is not an object")
    value = obj.get(key, _MISSING)
    if value is _MISSING:
        raise Malformed(f"{path}: missing")
    return value
