"""REST endpoints under ``/0/public`` and ``/0/private``, with Kraken's shapes and errors.

Every answer is HTTP 200 with ``{"error": [...], "result": ...}`` (no ``result`` on failure),
as Kraken does. Private calls are checked in Kraken's order: key, signature, nonce, rate
counter, permission; fault knobs can force nonce and rate-limit errors.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import orjson
import structlog

from arbitrade.sim._auth import signature_matches
from arbitrade.sim._book import Side
from arbitrade.sim._engine import OrderRequest
from arbitrade.sim._fees import FeeProfile
from arbitrade.sim._numbers import decimal_to_json, units_to_fixed
from arbitrade.sim._orders import Order, OrderRejected
from arbitrade.sim._reports import describe, rest_order_info
from arbitrade.sim._simulator import Simulator
from arbitrade.sim._time import rfc1123, rfc3339
from arbitrade.sim._universe import Asset, Pair

log = structlog.get_logger(__name__)

Params = dict[str, str]


class RestError(Exception):
    """A Kraken error answer (``EGeneral:Invalid arguments`` ...)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _ok(result: Any) -> bytes:
    return orjson.dumps({"error": [], "result": result})


def _fail(error: str) -> bytes:
    return orjson.dumps({"error": [error]})


def _parse_params(content_type: str, body: bytes, query: bytes) -> Params:
    params: Params = {}
    if query:
        params.update(urllib.parse.parse_qsl(query.decode("latin-1"), keep_blank_values=True))
    if not body:
        return params
    if "json" in content_type:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise RestError("EGeneral:Invalid arguments") from None
        if not isinstance(data, dict):
            raise RestError("EGeneral:Invalid arguments")
        for name, value in data.items():
            if isinstance(value, list):
                params[name] = ",".join(str(v) for v in value)
            elif isinstance(value, bool):
                params[name] = "true" if value else "false"
            else:
                params[name] = str(value)
        return params
    params.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def handle_rest(
    sim: Simulator,
    http_method: str,
    path: str,
    query: bytes,
    headers: Mapping[str, str],
    body: bytes,
) -> tuple[int, bytes]:
    """Answer one REST request; returns (HTTP status, JSON body)."""
    try:
        params = _parse_params(headers.get("content-type", ""), body, query)
        if path.startswith("/0/public/"):
            handler = _PUBLIC.get(path.removeprefix("/0/public/"))
            if handler is None:
                return 404, _fail("EGeneral:Unknown method")
            return 200, _ok(handler(sim, params))
        if path.startswith("/0/private/"):
            if http_method != "POST":
                return 405, _fail("EGeneral:Invalid arguments")
            name = path.removeprefix("/0/private/")
            private = _PRIVATE.get(name)
            if private is None:
                return 404, _fail("EGeneral:Unknown method")
            permission, function = private
            key = _authenticate(sim, path, headers, body, params, counts=name not in _TRADING)
            if permission not in sim.keys[key].permissions:
                raise RestError("EGeneral:Permission denied")
            return 200, _ok(function(sim, key, params))
        return 404, _fail("EGeneral:Unknown method")
    except RestError as error:
        return 200, _fail(error.error)
    except OrderRejected as rejected:
        return 200, _fail(rejected.error)


def _authenticate(
    sim: Simulator,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    params: Params,
    *,
    counts: bool,
) -> str:
    key = headers.get("api-key", "")
    if key not in sim.keys:
        log.info("sim.rest.invalid_key", path=path)
        raise RestError("EAPI:Invalid key")
    if sim.take_fault("nonce_errors"):
        raise RestError("EAPI:Invalid nonce")
    if sim.take_fault("rate_limit_errors"):
        raise RestError("EAPI:Rate limit exceeded")
    nonce = params.get("nonce", "")
    secret = sim.keys[key].secret_bytes
    if not signature_matches(secret, path, nonce, body, headers.get("api-sign", "")):
        raise RestError("EAPI:Invalid signature")
    if not sim.nonces.accept(key, nonce):
        raise RestError("EAPI:Invalid nonce")
    if counts and not sim.rest_counter(key).try_add(1.0):
        raise RestError("EAPI:Rate limit exceeded")
    return key


# -- public ----------------------------------------------------------------------------------
def _time(sim: Simulator, _: Params) -> Any:
    now = sim.clock()
    return {"unixtime": int(now), "rfc1123": rfc1123(now)}


def _system_status(sim: Simulator, _: Params) -> Any:
    return {"status": sim.faults.system_status, "timestamp": rfc3339(sim.clock())[:19] + "Z"}


def _asset_info(asset: Asset) -> dict[str, Any]:
    return {
        "aclass": "currency",
        "altname": asset.altname,
        "decimals": asset.decimals,
        "display_decimals": asset.display_decimals,
        "collateral_value": 1 if asset.kind.value in ("fiat", "stable") else 0.5,
        "status": "enabled",
    }


def _assets(sim: Simulator, params: Params) -> Any:
    wanted = [n for n in params.get("asset", "").split(",") if n]
    if not wanted:
        return {a.rest_name: _asset_info(a) for a in sim.universe.assets}
    result = {}
    for name in wanted:
        asset = sim.universe.asset(name)
        if asset is None:
            raise RestError("EQuery:Unknown asset")
        result[asset.rest_name] = _asset_info(asset)
    return result


def _selected_pairs(
    sim: Simulator, params: Params, *, required: bool = False
) -> list[tuple[str, Pair]]:
    names = [n for n in params.get("pair", "").split(",") if n]
    if not names:
        if required:
            raise RestError("EGeneral:Invalid arguments")
        return [(pair.rest_name, pair) for pair in sim.universe.pairs]
    selected = []
    for name in names:
        pair = sim.universe.find_pair(name)
        if pair is None:
            raise RestError("EQuery:Unknown asset pair")
        # Kraken keys the answer by the name asked for when it is a slash name.
        selected.append((name if "/" in name else pair.rest_name, pair))
    return selected


def _fee_rows(profile: FeeProfile, *, maker: bool) -> list[list[Any]]:
    return [
        [int(tier.volume), decimal_to_json(tier.maker_percent if maker else tier.taker_percent)]
        for tier in profile.tiers
    ]


def _pair_info(sim: Simulator, pair: Pair) -> dict[str, Any]:
    profile = sim.fees.stable if pair.stable_fees else sim.fees.default
    return {
        "altname": pair.altname,
        "wsname": pair.wsname,
        "aclass_base": "currency",
        "base": pair.base.rest_name,
        "aclass_quote": "currency",
        "quote": pair.quote.rest_name,
        "lot": "unit",
        "cost_decimals": pair.cost_precision,
        "pair_decimals": pair.price_precision,
        "lot_decimals": pair.qty_precision,
        "lot_multiplier": 1,
        "leverage_buy": [],
        "leverage_sell": [],
        "fees": _fee_rows(profile, maker=False),
        "fees_maker": _fee_rows(profile, maker=True),
        "fee_volume_currency": profile.volume_currency,
        "margin_call": 80,
        "margin_stop": 40,
        "ordermin": format(pair.ordermin, "f"),
        "costmin": format(pair.costmin, "f"),
        "tick_size": format(pair.price_increment, "f"),
        "status": pair.status,
    }


def _asset_pairs(sim: Simulator, params: Params) -> Any:
    return {name: _pair_info(sim, pair) for name, pair in _selected_pairs(sim, params)}


def _ticker_info(sim: Simulator, pair: Pair) -> dict[str, Any]:
    book = sim.model.book(pair.symbol)
    stats = sim.model.stats(pair.symbol)
    pp, qp = pair.price_precision, pair.qty_precision

    def level(side: Side) -> list[str]:
        best = book.best(side)
        if best is None:
            return ["0", "0", "0.000"]
        lots = book.quantity(side, best)
        whole = max(1, lots // 10**qp)
        return [units_to_fixed(best, pp), str(whole), units_to_fixed(lots, qp)]

    volume = units_to_fixed(stats.lots, qp)
    vwap = units_to_fixed(stats.vwap, pp)
    return {
        "a": level(Side.ASK),
        "b": level(Side.BID),
        "c": [units_to_fixed(stats.last_price, pp), units_to_fixed(stats.last_lots, qp)],
        "v": [volume, volume],
        "p": [vwap, vwap],
        "t": [stats.trades, stats.trades],
        "l": [units_to_fixed(stats.low, pp)] * 2,
        "h": [units_to_fixed(stats.high, pp)] * 2,
        "o": units_to_fixed(stats.open_price, pp),
    }


def _ticker(sim: Simulator, params: Params) -> Any:
    return {name: _ticker_info(sim, pair) for name, pair in _selected_pairs(sim, params)}


def _depth(sim: Simulator, params: Params) -> Any:
    selected = _selected_pairs(sim, params, required=True)
    try:
        count = int(params.get("count", "100"))
    except ValueError:
        raise RestError("EGeneral:Invalid arguments") from None
    count = max(1, min(500, count))
    now = int(sim.clock())
    result = {}
    for name, pair in selected:
        book = sim.model.book(pair.symbol)

        def rows(side: Side, pair: Pair = pair, book: Any = book) -> list[list[Any]]:
            return [
                [
                    units_to_fixed(p, pair.price_precision),
                    units_to_fixed(q, pair.qty_precision),
                    now,
                ]
                for p, q in book.top(side, count)
            ]

        result[name] = {"asks": rows(Side.ASK), "bids": rows(Side.BID)}
    return result


_PUBLIC: dict[str, Callable[[Simulator, Params], Any]] = {
    "Time": _time,
    "SystemStatus": _system_status,
    "Assets": _assets,
    "AssetPairs": _asset_pairs,
    "Ticker": _ticker,
    "Depth": _depth,
}


# -- private ---------------------------------------------------------------------------------
def _balance(sim: Simulator, key: str, _: Params) -> Any:
    account = sim.engine.accounts[key]
    result = {}
    for name, amount in account.balances.items():
        asset = sim.universe.asset(name)
        if asset is None:
            continue
        result[asset.rest_name] = format(amount.quantize(Decimal(1).scaleb(-asset.decimals)), "f")
    return result


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes")


def _add_order(sim: Simulator, key: str, params: Params) -> Any:
    userref_text = params.get("userref")
    try:
        userref = int(userref_text) if userref_text else None
    except ValueError:
        raise RestError("EGeneral:Invalid arguments") from None
    oflags = {flag.strip() for flag in params.get("oflags", "").split(",") if flag.strip()}
    request = OrderRequest(
        symbol=params.get("pair", ""),
        side=params.get("type", ""),
        order_type=params.get("ordertype", ""),
        qty=params.get("volume", ""),
        limit_price=params.get("price"),
        time_in_force=params.get("timeinforce", "GTC").lower(),
        post_only="post" in oflags,
        cl_ord_id=params.get("cl_ord_id") or None,
        userref=userref,
        validate=_flag(params.get("validate")),
    )
    public_params = {k: v for k, v in params.items() if k not in ("nonce", "otp")}
    order = sim.place_order(key, request, transport="rest", method="AddOrder", params=public_params)
    if order is None:
        pair = sim.universe.pair(request.symbol)
        lots = int(Decimal(str(request.qty)).scaleb(pair.qty_precision))
        text = f"{request.side} {units_to_fixed(lots, pair.qty_precision)} {pair.altname}"
        price = request.limit_price
        return {"descr": {"order": f"{text} @ {request.order_type} {price or ''}".rstrip()}}
    pair = sim.universe.pair(order.symbol)
    return {"descr": {"order": describe(order, pair)}, "txid": [order.order_id]}


_USERREF = re.compile(r"-?[0-9]{1,19}")


def _orders_for(sim: Simulator, key: str, ident: str) -> list[Order]:
    idents = [i for i in ident.split(",") if i]
    userrefs = [int(i) for i in idents if _USERREF.fullmatch(i)]
    return sim.engine.find_orders(key, order_ids=idents, cl_ord_ids=idents, userrefs=userrefs)


def _cancel_order(sim: Simulator, key: str, params: Params) -> Any:
    ident = params.get("txid") or params.get("cl_ord_id") or ""
    if not ident:
        raise RestError("EGeneral:Invalid arguments")
    orders = [o for o in _orders_for(sim, key, ident) if o.is_open]
    if not orders:
        raise RestError("EOrder:Unknown order")
    for order in orders:
        sim.cancel_order(key, order)
    return {"count": len(orders)}


def _filtered(sim: Simulator, key: str, params: Params, *, closed: bool) -> list[Order]:
    """Orders of ``key`` (open or closed ones) that carry the ``cl_ord_id`` and ``userref``
    asked for (each filter applies only when given, as Kraken's do)."""
    cl_ord_id = params.get("cl_ord_id") or None
    userref_text = params.get("userref") or None
    if userref_text is not None and not _USERREF.fullmatch(userref_text):
        raise RestError("EGeneral:Invalid arguments")
    userref = int(userref_text) if userref_text is not None else None
    return [
        order
        for order in sim.engine.orders.values()
        if order.key == key
        and order.is_open != closed
        and (cl_ord_id is None or order.cl_ord_id == cl_ord_id)
        and (userref is None or order.userref == userref)
    ]


def _open_orders(sim: Simulator, key: str, params: Params) -> Any:
    trades = _flag(params.get("trades"))
    return {
        "open": {
            order.order_id: rest_order_info(order, sim.universe.pair(order.symbol), trades=trades)
            for order in _filtered(sim, key, params, closed=False)
        }
    }


_CLOSED_PAGE = 50


def _closed_orders(sim: Simulator, key: str, params: Params) -> Any:
    """Closed orders, newest first, 50 a page from ``ofs`` (``start``/``end`` not modelled)."""
    trades = _flag(params.get("trades"))
    try:
        offset = int(params.get("ofs") or "0")
    except ValueError:
        raise RestError("EGeneral:Invalid arguments") from None
    if offset < 0:
        raise RestError("EGeneral:Invalid arguments")
    closed = sorted(
        _filtered(sim, key, params, closed=True),
        key=lambda order: order.close_time or order.open_time,
        reverse=True,
    )
    page = closed[offset : offset + _CLOSED_PAGE]
    return {
        "closed": {
            order.order_id: rest_order_info(order, sim.universe.pair(order.symbol), trades=trades)
            for order in page
        },
        "count": len(closed),
    }


def _query_orders(sim: Simulator, key: str, params: Params) -> Any:
    ids = [i for i in params.get("txid", "").split(",") if i]
    if not ids or len(ids) > 50:
        raise RestError("EGeneral:Invalid arguments")
    trades = _flag(params.get("trades"))
    found = {o.order_id: o for o in sim.engine.find_orders(key, order_ids=ids)}
    result = {}
    for order_id in ids:
        order = found.get(order_id)
        if order is None:
            raise RestError("EOrder:Invalid order")
        result[order_id] = rest_order_info(order, sim.universe.pair(order.symbol), trades=trades)
    return result


def _websockets_token(sim: Simulator, key: str, _: Params) -> Any:
    return {"token": sim.issue_token(key), "expires": int(sim.config.token_ttl_seconds)}


_TRADING = frozenset({"AddOrder", "CancelOrder"})
_PRIVATE: dict[str, tuple[str, Callable[[Simulator, str, Params], Any]]] = {
    "Balance": ("query", _balance),
    "OpenOrders": ("query", _open_orders),
    "ClosedOrders": ("query", _closed_orders),
    "QueryOrders": ("query", _query_orders),
    "AddOrder": ("trade", _add_order),
    "CancelOrder": ("trade", _cancel_order),
    "GetWebSocketsToken": ("websocket", _websockets_token),
}
