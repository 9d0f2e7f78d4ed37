"""Structured logging: JSON lines, contextvars binding, and secrets never reaching output."""

from __future__ import annotations

import io
import json

import structlog

from arbitrade.config import Secret
from arbitrade.logs import configure_logging

RAW_SECRET = "kQH5HW-raw-secret-value-that-must-not-leak"


def read_lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_json_log_when_configured_emits_one_object_per_event() -> None:
    """LOG_JSON gives one JSON object per line with event, level and timestamp."""
    buffer = io.StringIO()
    configure_logging(json=True, stream=buffer)
    structlog.get_logger().info("book.resync", symbol="BTC/USD", reason="checksum")
    (line,) = read_lines(buffer)
    assert line["event"] == "book.resync"
    assert line["symbol"] == "BTC/USD"
    assert line["level"] == "info"
    assert "timestamp" in line


def test_bound_contextvars_appear_on_every_line() -> None:
    """An actor's bound name is carried by each of its lines."""
    buffer = io.StringIO()
    configure_logging(json=True, stream=buffer)
    with structlog.contextvars.bound_contextvars(actor="feed.book", path="root/market/feed.book"):
        structlog.get_logger().info("feed.connected")
    (line,) = read_lines(buffer)
    assert line["actor"] == "feed.book"


def test_secret_in_any_position_never_reaches_output() -> None:
    """Secret-named fields, secret values in strings, nested data and tracebacks are masked."""
    Secret(RAW_SECRET)
    buffer = io.StringIO()
    configure_logging(json=True, stream=buffer)
    log = structlog.get_logger()
    log.info("rest.call", api_key="AKEY-123456", headers={"API-Sign": "sig=="})
    log.info("oops", note=f"secret was {RAW_SECRET}", items=[RAW_SECRET], raw=RAW_SECRET.encode())
    log.info("setting", value=Secret(RAW_SECRET))
    try:
        raise ValueError(f"failed with {RAW_SECRET}")
    except ValueError:
        log.exception("crash")
    output = buffer.getvalue()
    assert RAW_SECRET not in output
    assert "AKEY-123456" not in output
    assert "sig==" not in output
    assert output.count("**********") >= 6


def test_stdlib_library_logs_are_redacted_too() -> None:
    """Lines from libraries using stdlib logging pass through the same redaction."""
    import logging

    Secret(RAW_SECRET)
    buffer = io.StringIO()
    configure_logging(json=True, stream=buffer)
    logging.getLogger("httpx").warning("request with %s", RAW_SECRET)
    assert RAW_SECRET not in buffer.getvalue()
    assert "request with" in buffer.getvalue()


def test_ordinary_field_names_that_contain_secret_words_are_not_masked() -> None:
    """'signal' or 'author' are not secrets; 'API-Sign' and 'otp' are."""
    buffer = io.StringIO()
    configure_logging(json=True, stream=buffer)
    structlog.get_logger().info("app.stopping", signal="SIGTERM", author="ops", otp="123456")
    (line,) = read_lines(buffer)
    assert line["signal"] == "SIGTERM"
    assert line["author"] == "ops"
    assert line["otp"] == "**********"
