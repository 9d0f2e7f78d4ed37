"""Risk limits as an editable form: which fields, their help text, and validated changes.

The limits are any frozen attrs settings class (the risk gate's); the form edits its numeric
and enumerated fields. A submission is validated as a whole with
:func:`arbitrade.config.structure_component`, so the class's own bounds apply and an invalid
value changes nothing.
"""

from __future__ import annotations

import ast
import enum
import inspect
import itertools
import re
import textwrap
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from arbitrade.config import ConfigError, structure_component

EDITABLE_TYPES = (Decimal, int, float)


@attrs.frozen
class LimitField:
    """One editable limit as the form shows it."""

    name: str
    label: str
    value: str
    help: str
    choices: tuple[str, ...] = ()
    """Allowed values of an enumerated field (a select), else empty (a text input)."""


@attrs.frozen
class LimitChange:
    """One field whose value a valid submission changed."""

    name: str
    previous: str
    value: str


class LimitsRejected(ValueError):
    """A submission broke a rule; ``field`` is the form field to show it beside ('' = form)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def editable_fields(limits: Any) -> tuple[LimitField, ...]:
    """The numeric and enumerated fields of ``limits`` (booleans, text and lists are not)."""
    cls = type(limits)
    hints = typing.get_type_hints(cls)
    docs = _attribute_docs(cls)
    fields: list[LimitField] = []
    for field in attrs.fields(cls):
        kind = hints.get(field.name)
        if not isinstance(kind, type) or kind is bool:
            continue
        choices: tuple[str, ...] = ()
        if issubclass(kind, enum.Enum):
            choices = tuple(str(member.value) for member in kind)
        elif not issubclass(kind, EDITABLE_TYPES):
            continue
        value = getattr(limits, field.name)
        fields.append(
            LimitField(
                name=field.name,
                label=field.name.replace("_", " ").capitalize(),
                value=_text(value),
                help=docs.get(field.name, ""),
                choices=choices,
            )
        )
    return tuple(fields)


def apply_limits(
    limits: Any, submitted: Mapping[str, str], name: str = "risk"
) -> tuple[Any, tuple[LimitChange, ...]]:
    """Validate ``submitted`` over ``limits``; return the new limits and what changed.

    Only editable fields are read from ``submitted``; others keep their values.

    Raises:
        LimitsRejected: a value is malformed or out of bounds; nothing is changed.
    """
    editable = [field.name for field in editable_fields(limits)]
    values = attrs.asdict(limits, recurse=False)
    for field in editable:
        if field in submitted:
            values[field] = submitted[field].strip()
    try:
        updated = structure_component(type(limits), values, name)
    except ConfigError as error:
        raise _rejection(error, editable, name) from None
    changes = tuple(
        LimitChange(field, _text(getattr(limits, field)), _text(getattr(updated, field)))
        for field in editable
        if getattr(limits, field) != getattr(updated, field)
    )
    return updated, changes


def _rejection(error: ConfigError, editable: list[str], name: str) -> LimitsRejected:
    setting = error.setting
    problem = error.problem
    field = setting.removeprefix(f"{name}.") if setting.startswith(f"{name}.") else ""
    if not field:
        # attrs validators name the field inside their message: "risk.max_open_orders: ..."
        match = re.match(rf"{re.escape(name)}\.(\w+):\s*(.*)", problem)
        if match:
            field, problem = match.group(1), match.group(2)
    if field not in editable:
        return LimitsRejected("", str(error))
    return LimitsRejected(field, problem)


def _text(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def _attribute_docs(cls: type) -> dict[str, str]:
    """Docstrings written under each field in the class body (our settings convention)."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    docs: dict[str, str] = {}
    body = ast.parse(source).body
    if not body or not isinstance(body[0], ast.ClassDef):
        return docs
    statements = body[0].body
    for current, following in itertools.pairwise(statements):
        if (
            isinstance(current, ast.AnnAssign)
            and isinstance(current.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[current.target.id] = " ".join(following.value.value.replace("``", "").split())
    return docs
