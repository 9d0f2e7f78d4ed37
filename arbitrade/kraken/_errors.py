"""Every way talking to Kraken can fail, as one tree of typed exceptions.

Kraken answers REST calls with HTTP 200 and an ``error`` list of strings such as
``EOrder:Insufficient funds``; :func:`error_from_kraken` turns each string into the matching
class below. Transport failures (httpx, trio-websocket) are translated at the seam into
:class:`KrakenTransportError` subclasses, raised ``from`` the original, so no layer above ever
catches a third-party exception.

Exception tree::

    Exception
    └── KrakenException                   anything from this package
        ├── KrakenError                   Kraken answered an error string (code, message, endpoint)
        │   ├── KrakenApiError            EAPI:...
        │   │   ├── InvalidNonce            EAPI:Invalid nonce (safe to retry with a new nonce)
        │   │   ├── InvalidKey              EAPI:Invalid key
        │   │   ├── InvalidSignature        EAPI:Invalid signature
        │   │   ├── RateLimitExceeded       EAPI:Rate limit exceeded / EGeneral:Too many requests
        │   │   └── FeatureDisabled         EAPI:Feature disabled
        │   ├── KrakenGeneralError        EGeneral:...
        │   │   ├── InvalidArguments        EGeneral:Invalid arguments[:...]
        │   │   ├── PermissionDenied        EGeneral:Permission denied
        │   │   ├── TemporaryLockout        EGeneral:Temporary lockout
        │   │   └── InternalError           EGeneral:Internal error
        │   ├── KrakenOrderError          EOrder:...
        │   │   ├── InsufficientFunds       EOrder:Insufficient funds
        │   │   ├── OrderRateLimitExceeded  EOrder:Rate limit exceeded
        │   │   ├── OrderMinimumNotMet      EOrder:Order minimum not met
        │   │   ├── CostMinimumNotMet       EOrder:Cost minimum not met
        │   │   ├── UnknownOrder            EOrder:Unknown order
        │   │   ├── OrdersLimitExceeded     EOrder:Orders limit exceeded
        │   │   └── TickSizeCheckFailed     EOrder:Tick size check failed
        │   ├── KrakenServiceError        EService:...
        │   │   ├── ServiceUnavailable      EService:Unavailable
        │   │   ├── ServiceBusy             EService:Busy
        │   │   ├── MarketCancelOnly        EService:Market in cancel_only mode
        │   │   ├── MarketPostOnly          EService:Market in post_only mode
        │   │   ├── DeadlineElapsed         EService:Deadline elapsed
        │   │   └── Throttled               EService: Throttled: <unix time> (retry_at)
        │   └── (unknown codes stay KrakenError, or the category class of their prefix)
        ├── KrakenProtocolError           the answer could not be understood (not JSON, no result)
        ├── KrakenTransportError          the request may not have reached Kraken, or no answer came
        │   ├── KrakenConnectError          could not connect (safe to retry: nothing was sent)
        │   ├── KrakenTimeout               sent, but no answer in time (the outcome is unknown)
        │   └── KrakenConnectionClosed      a WebSocket closed under us
        └── RequestTimedOut               a WebSocket request got no response in time
"""

from __future__ import annotations

import re

__all__ = [
    "CostMinimumNotMet",
    "DeadlineElapsed",
    "FeatureDisabled",
    "InsufficientFunds",
    "InternalError",
    "InvalidArguments",
    "InvalidKey",
    "InvalidNonce",
    "InvalidSignature",
    "KrakenApiError",
    "KrakenConnectError",
    "KrakenConnectionClosed",
    "KrakenError",
    "KrakenException",
    "KrakenGeneralError",
    "KrakenOrderError",
    "KrakenProtocolError",
    "KrakenServiceError",
    "KrakenTimeout",
    "KrakenTransportError",
    "MarketCancelOnly",
    "MarketPostOnly",
    "OrderMinimumNotMet",
    "OrderRateLimitExceeded",
    "OrdersLimitExceeded",
    "PermissionDenied",
    "RateLimitExceeded",
    "RequestTimedOut",
    "ServiceBusy",
    "ServiceUnavailable",
    "TemporaryLockout",
    "Throttled",
    "TickSizeCheckFailed",
    "UnknownOrder",
    "error_from_kraken",
]


class KrakenException(Exception):
    """Base of everything this package raises."""


class KrakenError(KrakenException):
    """Kraken refused a request with an error string.

    Attributes:
        code: the whole error string as Kraken sent it (``EOrder:Insufficient funds``).
        message: the part after the category (``Insufficient funds``).
        endpoint: what was called (``/0/private/AddOrder`` or a WebSocket method name).
    """

    retryable: bool = False
    """True when repeating the identical request later cannot do harm and may succeed."""

    def __init__(self, code: str, message: str, endpoint: str) -> None:
        self.code = code
        self.message = message
        self.endpoint = endpoint
        super().__init__(f"{endpoint}: {code}")


class KrakenApiError(KrakenError):
    """``EAPI:`` errors: the request's authentication or pacing was wrong."""


class InvalidNonce(KrakenApiError):
    """The nonce was not above the last one Kraken saw for this key. A new nonce may succeed."""

    retryable = True


class InvalidKey(KrakenApiError):
    """The API key is unknown or disabled. Repeating it earns a temporary lockout."""


class InvalidSignature(KrakenApiError):
    """API-Sign did not match: the secret is wrong or the body was changed after signing."""


class RateLimitExceeded(KrakenApiError):
    """The REST call counter is over its maximum; wait for it to decay before calling again."""

    retryable = True


class FeatureDisabled(KrakenApiError):
    """The endpoint is disabled for this account."""


class KrakenGeneralError(KrakenError):
    """``EGeneral:`` errors."""


class InvalidArguments(KrakenGeneralError):
    """A parameter was missing or malformed; the message names it when Kraken does."""


class PermissionDenied(KrakenGeneralError):
    """The key lacks the permission the endpoint needs."""


class TemporaryLockout(KrakenGeneralError):
    """Too many failed authentications; Kraken refuses the key for a while."""


class InternalError(KrakenGeneralError):
    """Kraken failed internally; the outcome of a state-changing call is unknown."""


class KrakenOrderError(KrakenError):
    """``EOrder:`` errors: the order itself was refused."""


class InsufficientFunds(KrakenOrderError):
    """The balance does not cover the order."""


class OrderRateLimitExceeded(KrakenOrderError):
    """The per-pair trading counter is over its threshold."""


class OrderMinimumNotMet(KrakenOrderError):
    """The volume is below the pair's ``ordermin``."""


class CostMinimumNotMet(KrakenOrderError):
    """The cost (price x volume) is below the pair's ``costmin``."""


class UnknownOrder(KrakenOrderError):
    """No such order (already closed, or never existed)."""


class OrdersLimitExceeded(KrakenOrderError):
    """Too many open orders on the pair."""


class TickSizeCheckFailed(KrakenOrderError):
    """The price or volume is off the pair's increment grid."""


class KrakenServiceError(KrakenError):
    """``EService:`` errors: the exchange cannot serve the request now."""


class ServiceUnavailable(KrakenServiceError):
    """The service is down (maintenance); nothing was done."""

    retryable = True


class ServiceBusy(KrakenServiceError):
    """The service is overloaded; nothing was done."""

    retryable = True


class MarketCancelOnly(KrakenServiceError):
    """The market accepts only cancellations."""


class MarketPostOnly(KrakenServiceError):
    """The market accepts only post-only limit orders and cancellations."""


class DeadlineElapsed(KrakenServiceError):
    """The order's ``deadline`` passed before the engine reached it; it was not placed."""


class Throttled(KrakenServiceError):
    """Too many concurrent requests; ``retry_at`` is the Unix time Kraken named (or None)."""

    retryable = True

    def __init__(self, code: str, message: str, endpoint: str) -> None:
        super().__init__(code, message, endpoint)
        # At most 20 digits (an unsigned 64-bit time): int() refuses over 4300 of them.
        match = re.search(r"(?<!\d)(\d{1,20})(?!\d)", message)
        self.retry_at: int | None = int(match.group(1)) if match else None


class KrakenProtocolError(KrakenException):
    """Kraken's answer was not what the protocol promises (not JSON, no ``result``...)."""

    def __init__(self, endpoint: str, problem: str) -> None:
        self.endpoint = endpoint
        self.problem = problem
        super().__init__(f"{endpoint}: {problem}")


class KrakenTransportError(KrakenException):
    """The network failed between us and Kraken; ``__cause__`` holds the library's exception."""

    def __init__(self, endpoint: str, problem: str) -> None:
        self.endpoint = endpoint
        self.problem = problem
        super().__init__(f"{endpoint}: {problem}")


class KrakenConnectError(KrakenTransportError):
    """No connection was made, so nothing was sent: always safe to retry."""


class KrakenTimeout(KrakenTransportError):
    """The request may have been sent but no answer came in time: its outcome is unknown."""


class KrakenConnectionClosed(KrakenTransportError):
    """The WebSocket closed (by the peer, the network, or a heartbeat watchdog)."""


class RequestTimedOut(KrakenException):
    """A WebSocket request (subscribe, add_order...) got no response within its timeout.

    For a trading request the outcome is unknown: query by ``cl_ord_id`` before retrying.
    """

    def __init__(self, method: str, req_id: int, timeout: float) -> None:
        self.method = method
        self.req_id = req_id
        self.timeout = timeout
        super().__init__(f"{method} (req_id {req_id}) got no response within {timeout} s")


_EXACT: dict[str, type[KrakenError]] = {
    "EAPI:Invalid nonce": InvalidNonce,
    "EAPI:Invalid key": InvalidKey,
    "EAPI:Invalid signature": InvalidSignature,
    "EAPI:Rate limit exceeded": RateLimitExceeded,
    "EAPI:Feature disabled": FeatureDisabled,
    "EGeneral:Invalid arguments": InvalidArguments,
    "EGeneral:Permission denied": PermissionDenied,
    "EGeneral:Temporary lockout": TemporaryLockout,
    "EGeneral:Internal error": InternalError,
    "EGeneral:Too many requests": RateLimitExceeded,
    "EOrder:Insufficient funds": InsufficientFunds,
    "EOrder:Rate limit exceeded": OrderRateLimitExceeded,
    "EOrder:Order minimum not met": OrderMinimumNotMet,
    "EOrder:Cost minimum not met": CostMinimumNotMet,
    "EOrder:Unknown order": UnknownOrder,
    "EOrder:Orders limit exceeded": OrdersLimitExceeded,
    "EOrder:Tick size check failed": TickSizeCheckFailed,
    "EService:Unavailable": ServiceUnavailable,
    "EService:Busy": ServiceBusy,
    "EService:Market in cancel_only mode": MarketCancelOnly,
    "EService:Market in post_only mode": MarketPostOnly,
    "EService:Deadline elapsed": DeadlineElapsed,
}

_CATEGORY: dict[str, type[KrakenError]] = {
    "EAPI": KrakenApiError,
    "EGeneral": KrakenGeneralError,
    "EOrder": KrakenOrderError,
    "EService": KrakenServiceError,
}


def error_from_kraken(code: str, endpoint: str) -> KrakenError:
    """The typed exception for one Kraken error string (not raised, returned).

    Known strings map to their class, also when Kraken appends detail after another colon
    (``EGeneral:Invalid arguments:volume``). ``EService: Throttled: 1700000000`` becomes
    :class:`Throttled` with ``retry_at``. An unknown code falls back to its category's class,
    and a string with no known category to :class:`KrakenError` itself.
    """
    code = code.strip()
    category, _, message = code.partition(":")
    message = message.strip()
    if category == "EService" and message.startswith("Throttled"):
        return Throttled(code, message, endpoint)
    cls = _EXACT.get(code)
    if cls is None:
        # Kraken sometimes appends a detail: "EGeneral:Invalid arguments:volume".
        head, sep, _detail = code.rpartition(":")
        cls = _EXACT.get(head) if sep and head != category else None
    if cls is None:
        cls = _CATEGORY.get(category, KrakenError)
    return cls(code, message, endpoint)
