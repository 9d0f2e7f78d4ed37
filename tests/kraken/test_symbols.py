"""Joining v2 symbols (BTC/USD) with REST names (XXBTZUSD, XBTUSD)."""

from __future__ import annotations

import pytest

from arbitrade.kraken import SymbolMap, normalize_asset, v2_symbol

ASSET_PAIRS = {
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
    },
    "XDGUSD": {
        "altname": "XDGUSD",
        "wsname": "XDG/USD",
        "base": "XXDG",
        "quote": "ZUSD",
        "pair_decimals": 7,
        "lot_decimals": 8,
        "ordermin": "40",
    },
    "XETHXXBT": {
        "altname": "ETHXBT",
        "wsname": "ETH/XBT",
        "base": "XETH",
        "quote": "XXBT",
        "pair_decimals": 5,
        "lot_decimals": 8,
    },
}


@pytest.mark.parametrize(
    ("code", "common"),
    [
        ("XXBT", "BTC"),
        ("XBT", "BTC"),
        ("XXDG", "DOGE"),
        ("XDG", "DOGE"),
        ("ZUSD", "USD"),
        ("SOL", "SOL"),
    ],
)
def test_normalize_asset_when_legacy_or_renamed_gives_common_name(code: str, common: str) -> None:
    """Legacy X/Z prefixes go, and XBT/XDG become BTC/DOGE."""
    assert normalize_asset(code) == common


def test_v2_symbol_when_given_v1_wsname_normalises_both_sides() -> None:
    """XBT/USD is BTC/USD in v2; ETH/XBT is ETH/BTC."""
    assert v2_symbol("XBT/USD") == "BTC/USD"
    assert v2_symbol("ETH/XBT") == "ETH/BTC"


def test_v2_symbol_when_not_base_quote_raises() -> None:
    """Names without exactly one slash are refused."""
    with pytest.raises(ValueError, match="BASE/QUOTE"):
        v2_symbol("XBTUSD")


def test_symbol_map_when_built_from_asset_pairs_maps_both_ways() -> None:
    """REST name and altname lead to the v2 symbol, and back."""
    symbols = SymbolMap.from_asset_pairs(ASSET_PAIRS)
    assert symbols.symbols() == ["BTC/USD", "DOGE/USD", "ETH/BTC"]
    assert symbols.rest_name("BTC/USD") == "XXBTZUSD"
    assert symbols.altname("DOGE/USD") == "XDGUSD"
    assert symbols.symbol("XBTUSD") == "BTC/USD"
    assert symbols.symbol("XETHXXBT") == "ETH/BTC"
    assert symbols.pair("BTC/USD").pair_decimals == 1


def test_symbol_map_when_entry_lacks_field_names_it() -> None:
    """A malformed entry raises ValueError naming pair and field."""
    with pytest.raises(ValueError, match=r"XXBTZUSD.*altname"):
        SymbolMap.from_asset_pairs({"XXBTZUSD": {"wsname": "XBT/USD"}})
