"""Kraken's spot REST API over httpx, under Trio.

One client per key. Private calls are signed (:func:`~arbitrade.kraken.api_sign`), carry a
nonce from a :class:`~arbitrade.kraken.NonceSource` and wait for room in the
:class:`~arbitrade.kraken.ApiCounterLimiter`. Kraken's ``error`` list becomes a typed
:class:`~arbitrade.kraken.KrakenError`; ``W...`` warnings beside a result are logged and kept
on :attr:`KrakenRestClient.last_warnings`; httpx exceptions become
:class:`~arbitrade.kraken.KrakenTransportError` subclasses (``from`` the original).

Retries: a call is repeated only when repeating cannot do harm. Nothing is retried after a
response or timeout for :meth:`add_order`: a client order id and :meth:`query_orders` /
:meth:`open_orders` / :meth:`closed_orders` decide what happened. Read-only calls retry
transport failures and transient service errors with backoff; any call retries
``EAPI:Invalid nonce`` (Kraken did nothing) and a connection that never opened (nothing was
sent).

Every failed attempt is also handed to ``on_error`` (a :class:`RestErrorSeen`: endpoint, the
Kraken error string or transport failure, and what the client does next: retry after a delay,
or give up), so a caller can audit errors that a retry hid. It never carries the key, the
signature, the nonce or the request body.
"""

from __future__ import annotations

import json
import random
import urllib.parse
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any, Final, Self

import attrs
import httpx
import structlog
import trio

from arbitrade.config import Secret
from arbitrade.kraken._errors import (
    InvalidNonce,
    KrakenConnectError,
    KrakenError,
    KrakenProtocolError,
    KrakenTimeout,
    KrakenTransportError,
    RateLimitExceeded,
    error_from_kraken,
)
from arbitrade.kraken._ratelimit import ApiCounterLimiter, rest_call_cost, rest_call_urgent
from arbitrade.kraken._signing import NonceSource, api_sign
from arbitrade.kraken._symbols import AssetPair

__all__ = [
    "AddOrderResult",
    "ClosedOrders",
    "KrakenRestClient",
    "RestErrorSeen",
    "RetryPolicy",
]

log = structlog.get_logger("arbitrade.kraken.rest")

_READ_ONLY: Final = frozenset(
    {"Balance", "OpenOrders", "QueryOrders", "GetWebSocketsToken", "ClosedOrders"}
)


@attrs.frozen
class RetryPolicy:
    """How often and how patiently safe calls are repeated."""

    attempts: int = 3
    """Tries in all, the first included."""
    base_delay: float = 0.5
    """Seconds before the first retry; doubled each time, with up to 50% jitter."""
    max_delay: float = 5.0


@attrs.frozen
class RestErrorSeen:
    """One failed REST attempt, as handed to ``on_error`` (no secrets: no key, signature,
    nonce or body)."""

    endpoint: str
    """The path, ``/0/private/AddOrder``."""
    error: str
    """Kraken's error string (``EAPI:Rate limit exceeded``) or the transport failure's class
    name (``KrakenTimeout``)."""
    action: str
    """``retry`` (after ``delay`` seconds) or ``give_up`` (the error goes to the caller)."""
    attempt: int
    """1 for the first try."""
    delay: float = 0.0
    """Seconds waited before the retry (0 when giving up)."""


RETRY: Final = "retry"
GIVE_UP: Final = "give_up"


def _error_name(exc: Exception) -> str:
    return exc.code if isinstance(exc, KrakenError) else type(exc).__name__


@attrs.frozen
class AddOrderResult:
    """What ``AddOrder`` answered: the Kraken order ids (none when ``validate`` was set)."""

    txids: tuple[str, ...]
    description: str
    warnings: tuple[str, ...] = ()


@attrs.frozen
class ClosedOrders:
    """What ``ClosedOrders`` answered: one page of closed orders, newest first."""

    orders: Mapping[str, Mapping[str, Any]]
    """Kraken's order info (``status``, ``vol``, ``vol_exec``, ``cl_ord_id``...) by order id."""
    count: int
    """How many closed orders match in all (more than ``orders`` holds when paginated)."""


class KrakenRestClient:
    """Async client of Kraken's REST API (public and private endpoints).

    Use it as an async context manager (or call :meth:`aclose`). ``transport`` is httpx's seam:
    tests pass ``httpx.MockTransport``. Private methods raise :class:`RuntimeError` when no
    credentials were given. ``on_error`` is called (synchronously, on the calling task) with a
    :class:`RestErrorSeen` for every failed attempt, retried or not; an exception it raises
    propagates to the caller of the REST method, so keep it to recording.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: Secret | None = None,
        api_secret: Secret | None = None,
        nonce_source: NonceSource | None = None,
        limiter: ApiCounterLimiter | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        on_error: Callable[[RestErrorSeen], None] | None = None,
    ) -> None:
        self._api_key = api_key
        self.on_error = on_error
        """Called with every failed attempt (see the class docstring); may be set later."""
        self._api_secret = api_secret
        self._nonces = nonce_source or NonceSource()
        self._limiter = limiter or ApiCounterLimiter()
        self._retry = retry or RetryPolicy()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrecy
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), transport=transport, timeout=timeout
        )
        self.last_warnings: tuple[str, ...] = ()
        """The ``W...`` entries of the most recent response (empty when there were none)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # -- public endpoints -------------------------------------------------------------------

    async def server_time(self) -> dict[str, Any]:
        """``Time``: ``{"unixtime": int, "rfc1123": str}``."""
        return await self._public("Time")

    async def system_status(self) -> dict[str, Any]:
        """``SystemStatus``: ``{"status": "online"|"maintenance"|..., "timestamp": str}``."""
        return await self._public("SystemStatus")

    async def assets(self) -> dict[str, Any]:
        """``Assets``: every asset by Kraken's name."""
        return await self._public("Assets")

    async def asset_pairs(self, pairs: list[str] | None = None) -> dict[str, AssetPair]:
        """``AssetPairs`` as :class:`AssetPair` values by REST name.

        Raises:
            KrakenProtocolError: an entry does not have the fields a pair must have.
        """
        params = {"pair": ",".join(pairs)} if pairs else None
        result = await self._public("AssetPairs", params)
        try:
            return {name: AssetPair.from_rest(name, raw) for name, raw in result.items()}
        except ValueError as exc:
            raise KrakenProtocolError("/0/public/AssetPairs", str(exc)) from exc

    async def ticker(self, pairs: list[str]) -> dict[str, Any]:
        """``Ticker`` for REST pair names (numbers stay Kraken's strings)."""
        return await self._public("Ticker", {"pair": ",".join(pairs)})

    async def depth(self, pair: str, count: int = 100) -> dict[str, Any]:
        """``Depth`` (order book) of one REST pair name."""
        return await self._public("Depth", {"pair": pair, "count": str(count)})

    # -- private endpoints ------------------------------------------------------------------

    async def balance(self) -> dict[str, Decimal]:
        """``Balance``: amounts by Kraken asset name, exact.

        Raises:
            KrakenProtocolError: an amount is not a finite number.
        """
        result = await self._private("Balance")
        balances: dict[str, Decimal] = {}
        for asset, amount in result.items():
            try:
                value = Decimal(amount) if type(amount) in (str, int, Decimal) else None
            except ArithmeticError:  # not a number: "abc"
                value = None
            if value is None or not value.is_finite():
                raise KrakenProtocolError(
                    "/0/private/Balance", f"{asset}: not an amount: {str(amount)[:40]!r}"
                )
            balances[asset] = value
        return balances

    async def get_websockets_token(self) -> str:
        """``GetWebSocketsToken``: a token for the private WebSocket (use it within 15 min)."""
        result = await self._private("GetWebSocketsToken")
        token = result.get("token")
        if not isinstance(token, str):
            raise KrakenProtocolError("/0/private/GetWebSocketsToken", "no token in result")
        return token

    async def open_orders(self, *, cl_ord_id: str | None = None) -> dict[str, Any]:
        """``OpenOrders`` (optionally only the one with ``cl_ord_id``)."""
        data = {"cl_ord_id": cl_ord_id} if cl_ord_id else {}
        return await self._private("OpenOrders", data)

    async def closed_orders(
        self,
        *,
        cl_ord_id: str | None = None,
        userref: int | None = None,
        trades: bool = False,
        start: int | str | None = None,
        end: int | str | None = None,
        offset: int | None = None,
    ) -> ClosedOrders:
        """``ClosedOrders`` (filled, cancelled or expired orders; 50 per page, newest first).

        ``cl_ord_id`` and ``userref`` restrict the answer to orders carrying them; ``start``
        (exclusive) and ``end`` (inclusive) are Unix times or order ids; ``offset`` pages on.
        Read-only, so transport failures and transient service errors are retried.

        Raises:
            KrakenError: Kraken refused the call (``EGeneral:Invalid arguments`` ...).
            KrakenProtocolError: ``closed`` is not an object of objects or ``count`` not a
                whole number.
            KrakenTimeout / KrakenTransportError: still failing after the retries.
        """
        data: dict[str, str] = {}
        if trades:
            data["trades"] = "true"
        if userref is not None:
            data["userref"] = str(userref)
        if cl_ord_id:
            data["cl_ord_id"] = cl_ord_id
        if start is not None:
            data["start"] = str(start)
        if end is not None:
            data["end"] = str(end)
        if offset is not None:
            data["ofs"] = str(offset)
        result = await self._private("ClosedOrders", data)
        closed = result.get("closed", {})
        count = result.get("count", len(closed) if isinstance(closed, dict) else 0)
        if (
            not isinstance(closed, dict)
            or not all(isinstance(info, dict) for info in closed.values())
            or isinstance(count, bool)
            or not isinstance(count, int | Decimal)
            or count != int(count)
        ):
            raise KrakenProtocolError(
                "/0/private/ClosedOrders",
                f"closed must be an object of orders, count a whole number: {str(result)[:80]}",
            )
        return ClosedOrders({str(k): v for k, v in closed.items()}, int(count))

    async def query_orders(self, txids: list[str]) -> dict[str, Any]:
        """``QueryOrders`` by Kraken order ids (up to 50)."""
        return await self._private("QueryOrders", {"txid": ",".join(txids)})

    async def add_order(
        self,
        *,
        pair: str,
        side: str,
        order_type: str,
        volume: Decimal,
        price: Decimal | None = None,
        cl_ord_id: str | None = None,
        time_in_force: str | None = None,
        post_only: bool = False,
        validate: bool = False,
        deadline: str | None = None,
    ) -> AddOrderResult:
        """``AddOrder``. Never retried once it may have reached Kraken.

        Raises:
            KrakenError: Kraken refused it (the order does not exist).
            KrakenProtocolError: the answer's ``txid`` is not a list or ``descr`` not an object
                (the order may exist: look it up as after a timeout).
            KrakenTimeout / KrakenTransportError: the outcome is unknown; look the order up by
                ``cl_ord_id`` (:meth:`open_orders`) before placing it again.
        """
        data: dict[str, str] = {
            "pair": pair,
            "type": side,
            "ordertype": order_type,
            "volume": format(volume, "f"),
        }
        if price is not None:
            data["price"] = format(price, "f")
        if cl_ord_id:
            data["cl_ord_id"] = cl_ord_id
        if time_in_force:
            data["timeinforce"] = time_in_force.upper()
        if post_only:
            data["oflags"] = "post"
        if validate:
            data["validate"] = "true"
        if deadline:
            data["deadline"] = deadline
        result = await self._private("AddOrder", data)
        txids = result.get("txid") or []
        descr = result.get("descr") or {}
        if not isinstance(txids, list) or not isinstance(descr, dict):
            raise KrakenProtocolError(
                "/0/private/AddOrder", f"txid must be a list, descr an object: {str(result)[:80]}"
            )
        description = descr.get("order", "")
        return AddOrderResult(tuple(str(t) for t in txids), str(description), self.last_warnings)

    async def cancel_order(
        self, *, txid: str | None = None, cl_ord_id: str | None = None
    ) -> dict[str, Any]:
        """``CancelOrder`` by Kraken id or ``cl_ord_id``: ``{"count": n}``.

        Retried only when the connection never opened; ``EOrder:Unknown order`` after an
        unclear first attempt means the order is gone either way.

        Raises:
            ValueError: neither or both of ``txid`` and ``cl_ord_id`` given.
        """
        if (txid is None) == (cl_ord_id is None):
            raise ValueError("give exactly one of txid and cl_ord_id")
        data = {"txid": txid} if txid is not None else {"cl_ord_id": str(cl_ord_id)}
        return await self._private("CancelOrder", data)

    # -- plumbing ---------------------------------------------------------------------------

    async def _public(self, method: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        path = f"/0/public/{method}"
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._send(path, "GET", params=params)
                return self._result(path, response)
            except (KrakenTransportError, KrakenError) as exc:
                if not self._may_retry(exc, attempt, idempotent=True):
                    self._seen(path, exc, GIVE_UP, attempt, 0.0)
                    raise
                await self._backoff(path, attempt, exc)

    async def _private(self, method: str, data: Mapping[str, str] | None = None) -> dict[str, Any]:
        if not self._api_key or not self._api_secret:
            raise RuntimeError(f"{method} needs an API key and secret")
        path = f"/0/private/{method}"
        idempotent = method in _READ_ONLY
        attempt = 0
        while True:
            attempt += 1
            await self._limiter.acquire(rest_call_cost(method), urgent=rest_call_urgent(method))
            nonce = self._nonces.next()
            body = urllib.parse.urlencode({"nonce": str(nonce), **(data or {})})
            headers = {
                "API-Key": self._api_key.reveal(),
                "API-Sign": api_sign(path, nonce, body, self._api_secret.reveal()),
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            }
            try:
                response = await self._send(path, "POST", content=body, headers=headers)
                return self._result(path, response)
            except RateLimitExceeded as exc:
                self._limiter.penalize()
                if attempt >= self._retry.attempts:
                    self._seen(path, exc, GIVE_UP, attempt, 0.0)
                    raise
                await self._backoff(path, attempt, exc)
            except (KrakenTransportError, KrakenError) as exc:
                if not self._may_retry(exc, attempt, idempotent=idempotent):
                    self._seen(path, exc, GIVE_UP, attempt, 0.0)
                    raise
                await self._backoff(path, attempt, exc)

    def _may_retry(self, exc: Exception, attempt: int, *, idempotent: bool) -> bool:
        if attempt >= self._retry.attempts:
            return False
        if isinstance(exc, KrakenConnectError | InvalidNonce):
            return True  # nothing happened at Kraken
        if not idempotent:
            return False
        if isinstance(exc, KrakenError):
            return exc.retryable
        return isinstance(exc, KrakenTransportError)

    async def _backoff(self, path: str, attempt: int, exc: Exception) -> None:
        delay = min(self._retry.max_delay, self._retry.base_delay * 2 ** (attempt - 1))
        delay *= 1 + self._rng.random() / 2
        log.info("kraken.rest.retry", endpoint=path, attempt=attempt, delay=delay, error=str(exc))
        self._seen(path, exc, RETRY, attempt, delay)
        await trio.sleep(delay)

    def _seen(self, path: str, exc: Exception, action: str, attempt: int, delay: float) -> None:
        if self.on_error is not None:
            self.on_error(RestErrorSeen(path, _error_name(exc), action, attempt, delay))

    async def _send(
        self,
        path: str,
        verb: str,
        *,
        params: Mapping[str, str] | None = None,
        content: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        try:
            return await self._http.request(
                verb, path, params=params, content=content, headers=headers
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise KrakenConnectError(path, f"could not connect: {exc!r}") from exc
        except httpx.TimeoutException as exc:
            raise KrakenTimeout(path, f"no answer in time: {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise KrakenTransportError(path, f"transport failed: {exc!r}") from exc

    def _result(self, path: str, response: httpx.Response) -> dict[str, Any]:
        if response.status_code == 429:
            raise RateLimitExceeded("EAPI:Rate limit exceeded", "HTTP 429", path)
        try:
            payload = json.loads(response.content, parse_float=Decimal)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            if response.status_code >= 500:
                raise KrakenTransportError(path, f"HTTP {response.status_code}") from exc
            raise KrakenProtocolError(
                path, f"HTTP {response.status_code}, not JSON: {response.text[:80]!r}"
            ) from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("error", []), list):
            raise KrakenProtocolError(path, f"unexpected payload: {str(payload)[:80]}")
        messages = [str(m) for m in payload.get("error", [])]
        errors = [m for m in messages if not m.startswith("W")]
        self.last_warnings = tuple(m for m in messages if m.startswith("W"))
        if self.last_warnings:
            log.warning("kraken.rest.warning", endpoint=path, warnings=list(self.last_warnings))
        if errors:
            first = error_from_kraken(errors[0], path)
            log.warning("kraken.rest.error", endpoint=path, errors=errors)
            raise first
        result = payload.get("result")
        if not isinstance(result, dict):
            raise KrakenProtocolError(path, f"no error and no result object: {str(result)[:80]}")
        return result
