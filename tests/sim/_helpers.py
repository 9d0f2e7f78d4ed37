"""Test-side helpers written from Kraken's documentation, independent of arbitrade.sim's code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import urllib.parse
import zlib
from decimal import Decimal
from typing import Any

import httpx
import orjson
from trio_websocket import WebSocketConnection

_nonces = itertools.count(1_800_000_000_000)


def sign(secret_b64: str, path: str, nonce: str, body: str) -> str:
    """API-Sign as Kraken documents it."""
    message = path.encode() + hashlib.sha256((nonce + body).encode()).digest()
    mac = hmac.new(base64.b64decode(secret_b64), message, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


async def private(
    client: httpx.AsyncClient,
    method: str,
    key: str,
    secret: str,
    params: dict[str, Any] | None = None,
    *,
    nonce: int | None = None,
) -> dict[str, Any]:
    """A signed form-encoded POST to /0/private/<method>; returns the decoded answer."""
    nonce_text = str(nonce if nonce is not None else next(_nonces))
    body = urllib.parse.urlencode({"nonce": nonce_text, **(params or {})})
    path = f"/0/private/{method}"
    response = await client.post(
        path,
        content=body,
        headers={
            "API-Key": key,
            "API-Sign": sign(secret, path, nonce_text, body),
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        },
    )
    answer: dict[str, Any] = response.json()
    return answer


def checksum_of(asks: list[tuple[str, str]], bids: list[tuple[str, str]]) -> int:
    """Kraken's v2 checksum from already formatted price/qty strings (top 10 each side)."""
    text = "".join(
        price.replace(".", "").lstrip("0") + qty.replace(".", "").lstrip("0")
        for price, qty in asks[:10] + bids[:10]
    )
    return zlib.crc32(text.encode())


class ClientBook:
    """A client's L2 book per Kraken's rules: apply all levels, truncate to depth, check."""

    def __init__(self, depth: int, price_precision: int, qty_precision: int) -> None:
        self.depth = depth
        self.pp = price_precision
        self.qp = qty_precision
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def apply(self, item: dict[str, Any]) -> bool:
        """Apply one data item (snapshot or update); return whether its checksum matches."""
        for side, levels in ((self.bids, item["bids"]), (self.asks, item["asks"])):
            for level in levels:
                if level["qty"] == 0:
                    side.pop(level["price"], None)
                else:
                    side[level["price"]] = level["qty"]
        self.bids = dict(sorted(self.bids.items(), reverse=True)[: self.depth])
        self.asks = dict(sorted(self.asks.items())[: self.depth])
        return self.checksum() == item["checksum"]

    def checksum(self) -> int:
        def fmt(levels: dict[Decimal, Decimal]) -> list[tuple[str, str]]:
            return [(f"{p:.{self.pp}f}", f"{q:.{self.qp}f}") for p, q in levels.items()]

        return checksum_of(fmt(self.asks), fmt(self.bids))


def loads_exact(text: str) -> Any:
    """Decode a frame with JSON numbers as Decimal (never trust float formatting)."""
    return json.loads(text, parse_float=Decimal)


async def send(ws: WebSocketConnection, message: dict[str, Any]) -> None:
    await ws.send_message(orjson.dumps(message).decode())


async def receive(ws: WebSocketConnection) -> Any:
    return loads_exact(str(await ws.get_message()))


async def receive_until(ws: WebSocketConnection, predicate: Any, limit: int = 500) -> Any:
    """Read frames until one satisfies ``predicate``; fail after ``limit`` frames."""
    for _ in range(limit):
        message = await receive(ws)
        if predicate(message):
            return message
    raise AssertionError("no matching frame")
