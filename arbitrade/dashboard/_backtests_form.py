"""The backtest form: fields drawn from the settings classes, and the values a submission sends.

Every field of :class:`~arbitrade.backtest.BacktestSettings` is a form field (its docstring is
the help text, its default the initial value); the strategy's parameters and the risk limits
are fields named ``parameters.<key>`` and ``risk.<key>`` drawn from the graph's and the risk
gate's settings classes, left empty to keep their defaults. :func:`values_from_form` turns a
submission into the mapping :func:`~arbitrade.backtest.check_backtest` and the worker accept,
and :func:`field_of` says beside which field a :class:`~arbitrade.config.ConfigError` belongs.
"""

from __future__ import annotations

import enum
import functools
import re
import typing
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import attrs

from arbitrade.backtest import BacktestSettings
from arbitrade.backtest._settings import (
    FILL_MODELS,
    LATENCY_MODELS,
    SPECIAL_FEE_PROFILES,
    STRATEGIES,
)
from arbitrade.config import ConfigError
from arbitrade.dashboard._limits import _attribute_docs
from arbitrade.graph import GraphSettings
from arbitrade.risk import RiskSettings

NESTED: Final = {"parameters": GraphSettings, "risk": RiskSettings}
"""Mapping fields of the backtest settings, and the settings class their keys belong to."""
DERIVED: Final = {
    "parameters": {"home_currencies": "the home currency", "fees_path": "the fees file above"},
    "risk": {
        "home_asset": "the home currency",
        "max_cycle_notional": "the trade capital",
        "max_leg_notional": "the trade capital",
    },
}
"""Nested keys the backtest sets from its own fields unless given (shown as placeholders)."""
HIDDEN: Final = {"parameters": {"home_currencies"}, "risk": {"home_asset"}}
"""Nested keys not offered: the backtest's home currency decides them."""
GROUPS: Final = (
    ("Recording", ("events", "start", "end", "symbols")),
    ("Money", ("home", "balances", "capital", "seed")),
    ("Fees", ("fee_profile", "fee_volume", "maker_fee_bps", "taker_fee_bps", "fees_path")),
    (
        "Latency and fills",
        (
            "latency_model",
            "latency_source",
            "order_latency_ms",
            "latency_jitter_ms",
            "response_latency_ms",
            "fill_model",
        ),
    ),
    ("Strategy", ("strategy", "parameters")),
    ("Risk limits", ("risk",)),
)
"""How the page groups the fields; a settings field not named here lands in "Other"."""
CHOICES: Final = {
    "latency_model": LATENCY_MODELS,
    "fill_model": FILL_MODELS,
    "strategy": STRATEGIES,
}
PLACEHOLDERS: Final = {
    "events": "tests/fixtures/recordings/sim-6pairs-3min",
    "start": "2024-05-01T10:00:00Z (empty: the recording's start)",
    "end": "empty: the recording's end",
    "symbols": "BTC/USD, ETH/USD (empty: every recorded pair)",
    "balances": "USD=10000, BTC=0.2",
}


@attrs.frozen
class FormField:
    """One input of the backtest form."""

    name: str
    """The form field's name (``capital``, ``risk.max_open_cycles``)."""
    label: str
    value: str
    """What the input shows (the submitted text after a refusal)."""
    help: str
    kind: str = "text"
    """``text``, ``select`` (from ``choices``), ``flag`` (default/true/false) or ``list``
    (free text with ``choices`` as suggestions)."""
    choices: tuple[str, ...] = ()
    placeholder: str = ""
    error: str = ""

    @property
    def id(self) -> str:
        """The input's element id."""
        return "bt-" + self.name.replace(".", "-").replace("_", "-")


@attrs.frozen
class FormGroup:
    """A fieldset of the form; ``nested`` groups start collapsed unless one of them is wrong."""

    title: str
    fields: tuple[FormField, ...]
    nested: bool = False
    error: str = ""
    """A problem of the whole group (a nested setting that is not a field of its own)."""

    @property
    def has_error(self) -> bool:
        """True when the group or one of its fields carries a message."""
        return bool(self.error) or any(field.error for field in self.fields)


def _text(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, tuple | list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}={amount}" for key, amount in value.items())
    if isinstance(value, Decimal | Path | int | float | str):
        return str(value)
    return ""


def _label(name: str) -> str:
    return name.replace("_", " ").replace(" ms", " (ms)").replace(" bps", " (bps)").capitalize()


@functools.cache
def _docs(cls: type) -> dict[str, str]:
    return _attribute_docs(cls)


def _fee_profiles(fees_path: Path) -> tuple[str, ...]:
    from arbitrade.backtest._settings import _known_fee_profiles

    try:
        return (*SPECIAL_FEE_PROFILES, *_known_fee_profiles(fees_path))
    except ConfigError:
        return SPECIAL_FEE_PROFILES


def _top_field(name: str, submitted: Mapping[str, str], errors: Mapping[str, str]) -> FormField:
    default = getattr(BacktestSettings(), name)
    docs = _docs(BacktestSettings)
    kind, choices = "text", CHOICES.get(name, ())
    if choices:
        kind = "select"
    elif name == "fee_profile":
        kind, choices = "list", _fee_profiles(BacktestSettings().fees_path)
    return FormField(
        name=name,
        label=_label(name),
        value=submitted.get(name, _text(default)),
        help=docs.get(name, ""),
        kind=kind,
        choices=choices,
        placeholder=PLACEHOLDERS.get(name, ""),
        error=errors.get(name, ""),
    )


def _nested_fields(
    group: str, submitted: Mapping[str, str], errors: Mapping[str, str]
) -> tuple[FormField, ...]:
    cls = NESTED[group]
    hints = typing.get_type_hints(cls)
    docs = _docs(cls)
    defaults = cls()
    fields = []
    for attribute in attrs.fields(cls):
        if attribute.name in HIDDEN[group]:
            continue
        name = f"{group}.{attribute.name}"
        derived = DERIVED[group].get(attribute.name)
        kind: str = "flag" if hints.get(attribute.name) is bool else "text"
        default = _text(getattr(defaults, attribute.name))
        fields.append(
            FormField(
                name=name,
                label=_label(attribute.name),
                value=submitted.get(name, ""),
                help=docs.get(attribute.name, ""),
                kind=kind,
                choices=("true", "false") if kind == "flag" else (),
                placeholder=f"default: {derived or default}",
                error=errors.get(name, ""),
            )
        )
    return tuple(fields)


def form_groups(
    submitted: Mapping[str, str] | None = None, errors: Mapping[str, str] | None = None
) -> tuple[FormGroup, ...]:
    """The form's fieldsets, showing ``submitted`` text (else defaults) and ``errors``."""
    submitted = submitted or {}
    errors = errors or {}
    names = [field.name for field in attrs.fields(BacktestSettings)]
    placed = {name for _, members in GROUPS for name in members}
    groups: list[FormGroup] = []
    for title, members in (*GROUPS, ("Other", tuple(n for n in names if n not in placed))):
        top = tuple(
            _top_field(name, submitted, errors)
            for name in members
            if name in names and name not in NESTED
        )
        if top:
            groups.append(FormGroup(title, top))
        for name in members:
            if name in NESTED:
                groups.append(
                    FormGroup(
                        f"{title} parameters" if name == "parameters" else title,
                        _nested_fields(name, submitted, errors),
                        nested=True,
                        error=errors.get(name, ""),
                    )
                )
    return tuple(groups)


@functools.cache
def form_names() -> frozenset[str]:
    """Every field name the form has."""
    return frozenset(field.name for group in form_groups() for field in group.fields)


def values_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """The settings values of a submission (unknown names, the CSRF token included, ignored).

    Top-level fields stay text (``backtest_settings_from`` parses it); nested fields left
    empty are left out (their defaults apply); list-valued nested fields are split at commas.
    """
    values: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {group: {} for group in NESTED}
    names = form_names()
    for name, raw in form.items():
        if name not in names:
            continue
        text = raw.strip()
        group, dot, key = name.partition(".")
        if not dot:
            values[name] = text
            continue
        if not text:
            continue
        hint = typing.get_type_hints(NESTED[group]).get(key)
        if typing.get_origin(hint) is tuple:
            nested[group][key] = [part.strip() for part in text.split(",") if part.strip()]
        else:
            nested[group][key] = text
    for group, entries in nested.items():
        if entries:
            values[group] = entries
    return values


def submitted_text(form: Mapping[str, str]) -> dict[str, str]:
    """The submission as the form should show it again (known fields only)."""
    names = form_names()
    return {name: value for name, value in form.items() if name in names}


_INNER_FIELD = re.compile(r"^(\w+): (.*)$", re.DOTALL)


def field_of(error: ConfigError) -> tuple[str, str]:
    """``(form field, message)`` for a settings error; field '' means the whole form.

    ``backtest.balances.BTC`` belongs beside ``balances`` (the message names the asset);
    ``backtest.parameters`` with ``max_cycle_length: ...`` beside ``parameters.max_cycle_length``.
    """
    setting, problem = error.setting, error.problem
    if not setting.startswith("backtest."):
        return "", str(error)
    parts = setting.removeprefix("backtest.").split(".")
    names = form_names()
    if parts[0] in NESTED:
        if len(parts) == 1:
            match = _INNER_FIELD.match(problem)
            if match and f"{parts[0]}.{match.group(1)}" in names:
                return f"{parts[0]}.{match.group(1)}", match.group(2)
            return parts[0], problem
        name = f"{parts[0]}.{parts[1]}"
        return (name, problem) if name in names else (parts[0], f"{parts[1]}: {problem}")
    if parts[0] in names:
        if len(parts) > 1:
            return parts[0], f"{'.'.join(parts[1:])}: {problem}"
        return parts[0], problem
    return "", str(error)


def form_from_settings(settings: Mapping[str, Any]) -> dict[str, str]:
    """A stored report's settings (``settings_as_dict``) as form text, to run it again."""
    names = form_names()
    text: dict[str, str] = {}
    for key, value in settings.items():
        if key in NESTED and isinstance(value, dict):
            for inner, item in value.items():
                if f"{key}.{inner}" in names:
                    text[f"{key}.{inner}"] = _text(item)
        elif key in names:
            text[key] = _text(value)
    return text
