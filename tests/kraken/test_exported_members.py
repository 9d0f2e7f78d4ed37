"""The public names of arbitrade.kraken and arbitrade.market are pinned (httpx's habit)."""

from __future__ import annotations

import arbitrade.kraken
import arbitrade.market


def test_kraken_exports_when_listed_all_exist_and_are_public() -> None:
    """Every name in __all__ exists and none comes from an underscore-named object."""
    for name in arbitrade.kraken.__all__:
        assert hasattr(arbitrade.kraken, name), name
        assert not name.startswith("_")


def test_kraken_exports_when_compared_match_the_pinned_core() -> None:
    """The names other engineers build on stay exported."""
    core = {
        "Decoder",
        "BookMessage",
        "DecodeError",
        "KrakenRestClient",
        "KrakenWsClient",
        "ReplayTransport",
        "TrioWebsocketTransport",
        "Transport",
        "Connection",
        "KrakenError",
        "KrakenTransportError",
        "SymbolMap",
        "ApiCounterLimiter",
        "NonceSource",
        "api_sign",
        "AddOrder",
        "CancelOrder",
        "Execution",
    }
    assert core <= set(arbitrade.kraken.__all__)


def test_market_exports_when_listed_match() -> None:
    """The book's public face, and the feeds' settings."""
    assert set(arbitrade.market.__all__) == {
        "BookNotSynced",
        "ChecksumMismatch",
        "Level",
        "MarketSettings",
        "OrderBook",
    }
