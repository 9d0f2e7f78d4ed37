"""Structured logging: structlog configured once per process, with secrets redacted.

Every line is an event named in dotted lower case with facts as fields. Actors bind their name
and path through ``structlog.contextvars`` so each of their lines carries them. The redaction
processor runs last before rendering, so nothing reaches the output unmasked: not a field
named like a secret, not a registered secret's value inside any string, not a traceback.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import orjson
import structlog

from arbitrade.config._secret import MASK, Secret, registered_secret_values

# Field names whose values are secrets whatever they hold.
_SECRET_KEY = re.compile(
    r"(secret|api[_-]?key|api[_-]?sign|token|\bsign\b|signature|password|passwd|fernet|\botp\b"
    r"|private[_-]?key|authorization|\bauth\b)",
    re.IGNORECASE,
)


def _redact_text(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _redact_value(value: Any, secrets: frozenset[str]) -> Any:
    if isinstance(value, Secret):
        return str(value)
    if isinstance(value, str):
        return _redact_text(value, secrets)
    if isinstance(value, bytes):
        return _redact_text(value.decode("utf-8", "replace"), secrets)
    if isinstance(value, dict):
        return {
            key: (
                MASK
                if isinstance(key, str) and _SECRET_KEY.search(key) and item
                else _redact_value(item, secrets)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(item, secrets) for item in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return _redact_text(repr(value), secrets)


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secret-named fields and every registered secret value."""
    secrets = registered_secret_values()
    for key in list(event_dict):
        value = event_dict[key]
        if _SECRET_KEY.search(key) and value not in (None, "", False):
            event_dict[key] = MASK
        else:
            event_dict[key] = _redact_value(value, secrets)
    return event_dict


def _orjson_dumps(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=repr).decode()


def configure_logging(
    *, level: str = "INFO", json: bool = False, stream: TextIO | None = None
) -> None:
    """Configure structlog (and the stdlib root logger, for libraries) for this process.

    Args:
        level: the lowest level logged.
        json: one JSON object per line when true, a readable console otherwise.
        stream: where lines go (stderr by default).
    """
    out = stream if stream is not None else sys.stderr
    numeric = logging.getLevelNamesMapping()[level.upper()]
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        if json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    # Libraries that use stdlib logging (hypercorn, httpx) go through the same redaction.
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                redact_secrets,
                renderer,
            ],
            foreign_pre_chain=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.INFO))
