"""Every Kraken error string maps to its typed exception."""

from __future__ import annotations

import pytest

from arbitrade.kraken import (
    CostMinimumNotMet,
    DeadlineElapsed,
    InsufficientFunds,
    InternalError,
    InvalidArguments,
    InvalidKey,
    InvalidNonce,
    InvalidSignature,
    KrakenError,
    KrakenOrderError,
    KrakenServiceError,
    MarketCancelOnly,
    MarketPostOnly,
    OrderMinimumNotMet,
    OrderRateLimitExceeded,
    OrdersLimitExceeded,
    PermissionDenied,
    RateLimitExceeded,
    ServiceBusy,
    ServiceUnavailable,
    TemporaryLockout,
    Throttled,
    TickSizeCheckFailed,
    UnknownOrder,
    error_from_kraken,
)

CASES = [
    ("EAPI:Invalid nonce", InvalidNonce),
    ("EAPI:Invalid key", InvalidKey),
    ("EAPI:Invalid signature", InvalidSignature),
    ("EAPI:Rate limit exceeded", RateLimitExceeded),
    ("EGeneral:Invalid arguments", InvalidArguments),
    ("EGeneral:Permission denied", PermissionDenied),
    ("EGeneral:Temporary lockout", TemporaryLockout),
    ("EGeneral:Internal error", InternalError),
    ("EGeneral:Too many requests", RateLimitExceeded),
    ("EOrder:Insufficient funds", InsufficientFunds),
    ("EOrder:Rate limit exceeded", OrderRateLimitExceeded),
    ("EOrder:Order minimum not met", OrderMinimumNotMet),
    ("EOrder:Cost minimum not met", CostMinimumNotMet),
    ("EOrder:Unknown order", UnknownOrder),
    ("EOrder:Orders limit exceeded", OrdersLimitExceeded),
    ("EOrder:Tick size check failed", TickSizeCheckFailed),
    ("EService:Unavailable", ServiceUnavailable),
    ("EService:Busy", ServiceBusy),
    ("EService:Market in cancel_only mode", MarketCancelOnly),
    ("EService:Market in post_only mode", MarketPostOnly),
    ("EService:Deadline elapsed", DeadlineElapsed),
    ("EService: Throttled: 1700000000", Throttled),
]


@pytest.mark.parametrize(("code", "cls"), CASES)
def test_error_from_kraken_when_known_string_gives_its_class(
    code: str, cls: type[KrakenError]
) -> None:
    """Each documented string becomes its own class, carrying code and endpoint."""
    error = error_from_kraken(code, "/0/private/AddOrder")
    assert type(error) is cls
    assert error.code == code
    assert error.endpoint == "/0/private/AddOrder"


def test_error_from_kraken_when_throttled_parses_retry_time() -> None:
    """The concurrency throttle names when to come back."""
    error = error_from_kraken("EService: Throttled: 1700000000", "add_order")
    assert isinstance(error, Throttled)
    assert error.retry_at == 1700000000


def test_error_from_kraken_when_detail_appended_keeps_class() -> None:
    """``EGeneral:Invalid arguments:volume`` is still InvalidArguments."""
    assert type(error_from_kraken("EGeneral:Invalid arguments:volume", "x")) is InvalidArguments


def test_error_from_kraken_when_unknown_falls_back_to_category() -> None:
    """An unknown EOrder string is a KrakenOrderError; an unknown category a KrakenError."""
    assert type(error_from_kraken("EOrder:Something new", "x")) is KrakenOrderError
    assert type(error_from_kraken("EService:Other", "x")) is KrakenServiceError
    assert type(error_from_kraken("EFoo:Bar", "x")) is KrakenError
