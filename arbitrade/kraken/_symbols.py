"""Names of pairs and assets: WebSocket v2 (``BTC/USD``) versus REST (``XXBTZUSD``, ``XBTUSD``).

REST's ``AssetPairs`` keys pairs by Kraken's own names and gives an ``altname`` and a v1-style
``wsname`` (``XBT/USD``). WebSocket v2 uses common names. We join them by normalising the
v1 name's assets (XBT to BTC, XDG to DOGE), never by trusting ``wsname`` as a v2 name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

__all__ = ["AssetPair", "SymbolMap", "normalize_asset", "v2_symbol"]

# Kraken's legacy four-letter asset codes (X for crypto, Z for fiat) and the two renamings.
_LEGACY: Final = {
    "XXBT": "XBT",
    "XETH": "ETH",
    "XXDG": "XDG",
    "XLTC": "LTC",
    "XXRP": "XRP",
    "XXLM": "XLM",
    "XXMR": "XMR",
    "XZEC": "ZEC",
    "XETC": "ETC",
    "XMLN": "MLN",
    "XREP": "REP",
    "ZUSD": "USD",
    "ZEUR": "EUR",
    "ZGBP": "GBP",
    "ZJPY": "JPY",
    "ZCAD": "CAD",
    "ZAUD": "AUD",
    "ZCHF": "CHF",
}
_RENAMED: Final = {"XBT": "BTC", "XDG": "DOGE"}


def normalize_asset(code: str) -> str:
    """The common name of an asset: ``XXBT`` and ``XBT`` give ``BTC``, ``ZUSD`` gives ``USD``."""
    code = _LEGACY.get(code, code)
    return _RENAMED.get(code, code)


def v2_symbol(v1_name: str) -> str:
    """A v2 symbol from a v1 ``wsname``: ``XBT/USD`` gives ``BTC/USD``, ``XDG/EUR`` ``DOGE/EUR``.

    Raises:
        ValueError: the name is not ``BASE/QUOTE``.
    """
    base, slash, quote = v1_name.partition("/")
    if not slash or not base or not quote or "/" in quote:
        raise ValueError(f"expected BASE/QUOTE, got {v1_name!r}")
    return f"{normalize_asset(base)}/{normalize_asset(quote)}"


@attrs.frozen
class AssetPair:
    """One pair from REST ``AssetPairs``, with its v2 symbol."""

    rest_name: str
    """Kraken's key (``XXBTZUSD``)."""
    altname: str
    """``XBTUSD``."""
    symbol: str
    """The v2 symbol (``BTC/USD``)."""
    base: str
    quote: str
    pair_decimals: int
    lot_decimals: int
    cost_decimals: int
    ordermin: Decimal | None
    costmin: Decimal | None
    tick_size: Decimal | None
    status: str

    @classmethod
    def from_rest(cls, rest_name: str, raw: Mapping[str, Any]) -> AssetPair:
        """Build from one entry of the ``AssetPairs`` result.

        Raises:
            ValueError: a required field is missing or malformed (the message names it).
        """

        if not isinstance(raw, Mapping):
            raise ValueError(f"AssetPairs[{rest_name}]: expected an object, got {raw!r:.40}")

        def decimal(key: str) -> Decimal | None:
            value = raw.get(key)
            return None if value is None else Decimal(str(value))

        try:
            wsname = raw.get("wsname") or f"{raw['base']}/{raw['quote']}"
            return cls(
                rest_name=rest_name,
                altname=str(raw["altname"]),
                symbol=v2_symbol(str(wsname)),
                base=normalize_asset(str(raw["base"])),
                quote=normalize_asset(str(raw["quote"])),
                pair_decimals=int(raw["pair_decimals"]),
                lot_decimals=int(raw["lot_decimals"]),
                cost_decimals=int(raw.get("cost_decimals", raw["pair_decimals"])),
                ordermin=decimal("ordermin"),
                costmin=decimal("costmin"),
                tick_size=decimal("tick_size"),
                status=str(raw.get("status", "online")),
            )
        except KeyError as exc:
            raise ValueError(f"AssetPairs[{rest_name}]: missing {exc.args[0]!r}") from None
        except (TypeError, ArithmeticError) as exc:
            raise ValueError(f"AssetPairs[{rest_name}]: {exc}") from None


class SymbolMap:
    """Look-ups between v2 symbols and REST names, built from ``AssetPairs``."""

    def __init__(self, pairs: Iterable[AssetPair]) -> None:
        self._by_symbol: dict[str, AssetPair] = {}
        self._by_rest: dict[str, AssetPair] = {}
        for pair in pairs:
            self._by_symbol[pair.symbol] = pair
            self._by_rest[pair.rest_name] = pair
            self._by_rest[pair.altname] = pair

    @classmethod
    def from_asset_pairs(cls, result: Mapping[str, Mapping[str, Any]]) -> SymbolMap:
        """From the ``result`` object of REST ``AssetPairs``.

        Raises:
            ValueError: an entry is malformed.
        """
        return cls(AssetPair.from_rest(name, raw) for name, raw in result.items())

    def pair(self, symbol: str) -> AssetPair:
        """The pair of a v2 symbol (``BTC/USD``). Raises KeyError if unknown."""
        return self._by_symbol[symbol]

    def rest_name(self, symbol: str) -> str:
        """``XXBTZUSD`` for ``BTC/USD``. Raises KeyError if unknown."""
        return self._by_symbol[symbol].rest_name

    def altname(self, symbol: str) -> str:
        """``XBTUSD`` for ``BTC/USD``. Raises KeyError if unknown."""
        return self._by_symbol[symbol].altname

    def symbol(self, rest_or_altname: str) -> str:
        """``BTC/USD`` for ``XXBTZUSD`` or ``XBTUSD``. Raises KeyError if unknown."""
        return self._by_rest[rest_or_altname].symbol

    def symbols(self) -> list[str]:
        """Every v2 symbol, sorted."""
        return sorted(self._by_symbol)

    def __len__(self) -> int:
        return len(self._by_symbol)
