"""The REST client through httpx.MockTransport: signing, nonces, errors, retries, pacing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import urllib.parse
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
import trio

from arbitrade.config import Secret
from arbitrade.kraken import (
    ApiCounterLimiter,
    ApiTier,
    InsufficientFunds,
    InvalidKey,
    KrakenConnectError,
    KrakenError,
    KrakenProtocolError,
    KrakenRestClient,
    KrakenTimeout,
    KrakenTransportError,
    NonceSource,
    RateLimitExceeded,
    RetryPolicy,
    error_from_kraken,
)
from tests.kraken.test_errors import CASES

SECRET = base64.b64encode(b"0123456789abcdef" * 4).decode()
Handler = Callable[[httpx.Request], httpx.Response]


def ok(result: Any, errors: list[str] | None = None) -> httpx.Response:
    return httpx.Response(200, content=orjson.dumps({"error": errors or [], "result": result}))


def failed(*errors: str) -> httpx.Response:
    return httpx.Response(200, content=orjson.dumps({"error": list(errors)}))


def make_client(handler: Handler, **kwargs: Any) -> KrakenRestClient:
    kwargs.setdefault("retry", RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02))
    return KrakenRestClient(
        "http://127.0.0.1:1",
        api_key=Secret("the-key"),
        api_secret=Secret(SECRET),
        transport=httpx.MockTransport(handler),
        **kwargs,
    )


def verify_signature(request: httpx.Request) -> dict[str, str]:
    """What a Kraken server does: recompute API-Sign from the body and compare."""
    body = request.content.decode()
    fields = dict(urllib.parse.parse_qsl(body))
    digest = hashlib.sha256((fields["nonce"] + body).encode()).digest()
    mac = hmac.new(base64.b64decode(SECRET), request.url.path.encode() + digest, hashlib.sha512)
    assert request.headers["API-Sign"] == base64.b64encode(mac.digest()).decode()
    assert request.headers["API-Key"] == "the-key"
    return fields


class TestSigning:
    async def test_private_call_when_sent_is_signed_like_kraken_checks(self) -> None:
        """The server-side recomputation of API-Sign matches, for the exact body sent."""
        seen: list[dict[str, str]] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(verify_signature(request))
            return ok({"ZUSD": "1000.5000", "XXBT": "0.0100000000"})

        async with make_client(handler) as client:
            balance = await client.balance()
        assert balance == {"ZUSD": Decimal("1000.5000"), "XXBT": Decimal("0.0100000000")}
        assert "nonce" in seen[0]

    async def test_add_order_when_sent_carries_exact_decimals(self) -> None:
        """Volumes and prices are written from Decimals, never through floats."""
        seen: list[dict[str, str]] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(verify_signature(request))
            return ok({"descr": {"order": "buy 1.25 XBTUSD @ limit 37500"}, "txid": ["OABC"]})

        async with make_client(handler) as client:
            result = await client.add_order(
                pair="XBTUSD",
                side="buy",
                order_type="limit",
                volume=Decimal("1.25"),
                price=Decimal("37500.1"),
                cl_ord_id="c-1",
            )
        assert result.txids == ("OABC",)
        assert seen[0]["volume"] == "1.25"
        assert seen[0]["price"] == "37500.1"
        assert seen[0]["cl_ord_id"] == "c-1"


class TestNonces:
    async def test_nonces_when_many_calls_strictly_increase(self) -> None:
        """Every private call carries a nonce above the previous one."""
        nonces: list[int] = []

        def handler(request: httpx.Request) -> httpx.Response:
            nonces.append(int(verify_signature(request)["nonce"]))
            return ok({"token": "t"})

        async with make_client(handler, nonce_source=NonceSource(clock_ms=lambda: 42)) as client:
            for _ in range(5):
                await client.get_websockets_token()
        assert nonces == sorted(set(nonces))
        assert len(nonces) == 5

    async def test_invalid_nonce_when_answered_retries_with_new_nonce(self) -> None:
        """EAPI:Invalid nonce means Kraken did nothing: even AddOrder is resent, higher nonce."""
        nonces: list[int] = []

        def handler(request: httpx.Request) -> httpx.Response:
            nonces.append(int(verify_signature(request)["nonce"]))
            if len(nonces) == 1:
                return failed("EAPI:Invalid nonce")
            return ok({"descr": {"order": "x"}, "txid": ["O1"]})

        async with make_client(handler) as client:
            result = await client.add_order(
                pair="XBTUSD", side="buy", order_type="market", volume=Decimal(1)
            )
        assert result.txids == ("O1",)
        assert nonces[1] > nonces[0]


class TestErrors:
    @pytest.mark.parametrize(("code", "cls"), CASES)
    async def test_error_string_when_answered_raises_its_class(
        self, code: str, cls: type[KrakenError]
    ) -> None:
        """HTTP 200 with an error list raises the typed exception (no result key needed)."""

        def handler(request: httpx.Request) -> httpx.Response:
            return failed(code)

        client = make_client(handler, retry=RetryPolicy(attempts=1))
        async with client:
            with pytest.raises(cls) as raised:
                await client.add_order(
                    pair="XBTUSD", side="buy", order_type="market", volume=Decimal(1)
                )
        assert raised.value.endpoint == "/0/private/AddOrder"
        assert type(raised.value) is type(error_from_kraken(code, "x"))

    async def test_warning_when_beside_result_is_kept_not_raised(self) -> None:
        """A W... entry next to a result is a warning: the result comes back."""

        def handler(request: httpx.Request) -> httpx.Response:
            return ok({"unixtime": 1, "rfc1123": "x"}, errors=["WGeneral:Something odd"])

        async with make_client(handler) as client:
            assert (await client.server_time())["unixtime"] == 1
            assert client.last_warnings == ("WGeneral:Something odd",)

    async def test_response_when_not_json_raises_protocol_error(self) -> None:
        """A non-JSON 200 is a KrakenProtocolError."""

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, content=b"<html>")

        async with make_client(handler) as client:
            with pytest.raises(KrakenProtocolError):
                await client.server_time()

    async def test_invalid_key_when_answered_is_not_retried(self) -> None:
        """Repeating a bad key earns a lockout: one attempt only."""
        calls = 0

        def handler(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            return failed("EAPI:Invalid key")

        async with make_client(handler) as client:
            with pytest.raises(InvalidKey):
                await client.balance()
        assert calls == 1

    async def test_private_call_when_no_credentials_raises(self) -> None:
        """Without a key the client refuses before sending anything."""
        client = KrakenRestClient("http://127.0.0.1:1", transport=httpx.MockTransport(ok))
        async with client:
            with pytest.raises(RuntimeError, match="API key"):
                await client.balance()


class TestTransport:
    async def test_connect_error_when_raised_is_translated_and_retried(self) -> None:
        """httpx.ConnectError becomes KrakenConnectError; nothing was sent, so it is retried."""
        calls = 0

        def handler(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            if calls < 3:
                raise httpx.ConnectError("refused", request=request)
            return ok({"ZUSD": "1"})

        async with make_client(handler) as client:
            assert await client.balance() == {"ZUSD": Decimal(1)}
        assert calls == 3

    async def test_connect_error_when_retries_exhausted_raises_from_original(self) -> None:
        """The translated exception keeps httpx's as its cause."""

        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

        async with make_client(handler) as client:
            with pytest.raises(KrakenConnectError) as raised:
                await client.server_time()
        assert isinstance(raised.value.__cause__, httpx.ConnectError)

    async def test_add_order_when_read_times_out_is_never_retried(self) -> None:
        """A timed-out AddOrder may have been placed: raise KrakenTimeout after one attempt."""
        calls = 0

        def handler(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            raise httpx.ReadTimeout("slow", request=request)

        async with make_client(handler) as client:
            with pytest.raises(KrakenTimeout):
                await client.add_order(
                    pair="XBTUSD", side="buy", order_type="market", volume=Decimal(1)
                )
        assert calls == 1

    async def test_balance_when_read_times_out_is_retried(self) -> None:
        """Read-only calls are safe to repeat after a timeout."""
        calls = 0

        def handler(request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise httpx.ReadTimeout("slow", request=request)
            return ok({"ZUSD": "2"})

        async with make_client(handler) as client:
            assert await client.balance() == {"ZUSD": Decimal(2)}

    async def test_server_error_when_not_json_is_transport_error(self) -> None:
        """A 502 page from a proxy is a transport failure, not a protocol error."""

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(502, content=b"bad gateway")

        async with make_client(handler, retry=RetryPolicy(attempts=1)) as client:
            with pytest.raises(KrakenTransportError):
                await client.server_time()


class TestRateLimiter:
    async def test_limiter_when_burst_exceeds_max_paces_at_decay_rate(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Starter tier (max 15, headroom 2): 13 calls go at once, then one per 1/0.33 s."""
        stamps: list[float] = []

        def handler(request: httpx.Request) -> httpx.Response:
            stamps.append(trio.current_time())
            return ok({"ZUSD": "1"})

        limiter = ApiCounterLimiter(ApiTier.STARTER, headroom=2.0, reserve=0.0)
        async with make_client(handler, limiter=limiter) as client:
            for _ in range(16):
                await client.balance()
        start = stamps[0]
        assert all(t - start < 1e-6 for t in stamps[:13])
        gaps = [b - a for a, b in itertools.pairwise(stamps[12:])]
        assert gaps == pytest.approx([1 / 0.33] * 3, rel=1e-6)
        assert limiter.statistics().waits == 3

    async def test_limiter_when_balances_poll_hard_keeps_the_reserve_for_a_token(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Routine calls stop 2 units short of the ceiling (13): 11 balances go at once and
        the 12th waits, while a WebSocket token (a reconnect) still goes at once, twice."""
        stamps: list[tuple[str, float]] = []

        def handler(request: httpx.Request) -> httpx.Response:
            method = request.url.path.rsplit("/", 1)[-1]
            stamps.append((method, trio.current_time()))
            if method == "GetWebSocketsToken":
                return ok({"token": "t", "expires": 900})
            return ok({"ZUSD": "1"})

        limiter = ApiCounterLimiter(ApiTier.STARTER, headroom=2.0)
        async with make_client(handler, limiter=limiter) as client:
            for _ in range(11):
                await client.balance()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(client.balance)  # waits for the counter to drain
                await trio.sleep(0.1)
                await client.get_websockets_token()
                await client.get_websockets_token()
        assert [m for m, _ in stamps].count("Balance") == 12
        tokens = [t for m, t in stamps if m == "GetWebSocketsToken"]
        last_balance = [t for m, t in stamps if m == "Balance"][-1]
        assert tokens == pytest.approx([0.1, 0.1])
        assert last_balance > 0.1
        assert limiter.statistics().waits == 1

    async def test_limiter_when_urgent_calls_wait_they_queue_apart_from_routine_ones(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """With the counter full, a token waits only for its own unit to drain, never
        behind the balances queued before it."""
        stamps: list[tuple[str, float]] = []

        def handler(request: httpx.Request) -> httpx.Response:
            method = request.url.path.rsplit("/", 1)[-1]
            stamps.append((method, trio.current_time()))
            return ok({"token": "t", "expires": 900} if "Token" in method else {"ZUSD": "1"})

        limiter = ApiCounterLimiter(ApiTier.STARTER, headroom=2.0)
        async with make_client(handler, limiter=limiter) as client:
            limiter.penalize()  # Kraken said we are over: the counter is full (13)
            async with trio.open_nursery() as nursery:
                for _ in range(3):
                    nursery.start_soon(client.balance)
                await trio.sleep(0.01)
                await client.get_websockets_token()
        token = next(t for m, t in stamps if m == "GetWebSocketsToken")
        balances = [t for m, t in stamps if m == "Balance"]
        assert token == pytest.approx(1 / 0.33)  # one unit drained
        assert min(balances) > token  # routine calls need the reserve (2 more units) too

    async def test_limiter_when_reserve_leaves_no_room_raises(self) -> None:
        """A reserve that would starve routine calls is refused at construction."""
        with pytest.raises(ValueError, match="reserve"):
            ApiCounterLimiter(ApiTier.STARTER, headroom=2.0, reserve=12.5)

    async def test_limiter_when_kraken_says_exceeded_backs_off(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """EAPI:Rate limit exceeded fills our counter, so the retry waits for it to drain."""
        stamps: list[float] = []

        def handler(request: httpx.Request) -> httpx.Response:
            stamps.append(trio.current_time())
            if len(stamps) == 1:
                return failed("EAPI:Rate limit exceeded")
            return ok({"ZUSD": "1"})

        limiter = ApiCounterLimiter(ApiTier.PRO, headroom=0.0, reserve=0.0)
        async with make_client(handler, limiter=limiter) as client:
            await client.balance()
        assert stamps[1] - stamps[0] == pytest.approx(1.0)  # a full counter drains 1 at 1/s
        assert limiter.statistics().penalties == 1

    async def test_limiter_when_add_order_costs_nothing_here(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """AddOrder counts in the engine's trading limiter, not the REST counter."""

        def handler(request: httpx.Request) -> httpx.Response:
            return ok({"descr": {"order": "x"}, "txid": ["O"]})

        limiter = ApiCounterLimiter(ApiTier.STARTER)
        async with make_client(handler, limiter=limiter) as client:
            for _ in range(30):
                await client.add_order(
                    pair="XBTUSD", side="buy", order_type="market", volume=Decimal(1)
                )
        assert limiter.statistics().waits == 0


async def test_asset_pairs_when_read_maps_symbols() -> None:
    """AssetPairs entries come back typed, with v2 symbols normalised from XBT and XDG."""

    def handler(request: httpx.Request) -> httpx.Response:
        return ok(
            {
                "XXBTZUSD": {
                    "altname": "XBTUSD",
                    "wsname": "XBT/USD",
                    "base": "XXBT",
                    "quote": "ZUSD",
                    "pair_decimals": 1,
                    "lot_decimals": 8,
                    "cost_decimals": 5,
                    "ordermin": "0.0001",
                    "costmin": "0.5",
                    "tick_size": "0.1",
                    "status": "online",
                }
            }
        )

    async with make_client(handler) as client:
        pairs = await client.asset_pairs()
    pair = pairs["XXBTZUSD"]
    assert pair.symbol == "BTC/USD"
    assert pair.ordermin == Decimal("0.0001")


async def test_rate_limit_when_http_429_raises_typed() -> None:
    """A bare HTTP 429 is the same RateLimitExceeded."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, content=b"")

    async with make_client(handler, retry=RetryPolicy(attempts=1)) as client:
        with pytest.raises(RateLimitExceeded):
            await client.server_time()


async def test_insufficient_funds_when_answered_has_context() -> None:
    """The exception names code, message and endpoint for the log."""

    def handler(request: httpx.Request) -> httpx.Response:
        return failed("EOrder:Insufficient funds")

    async with make_client(handler) as client:
        with pytest.raises(InsufficientFunds) as raised:
            await client.add_order(
                pair="XBTUSD", side="buy", order_type="market", volume=Decimal(1)
            )
    assert raised.value.message == "Insufficient funds"
    assert str(raised.value) == "/0/private/AddOrder: EOrder:Insufficient funds"
