"""Market data: L2 order books (``book``), the supervised feed actors that keep them
(``feeds``), and their place in the supervision tree (``wiring``).

Only the book and the settings are re-exported here: the protocol layer (``arbitrade.kraken``)
imports the book, and the feeds import the protocol layer.
"""

from arbitrade.market._settings import MarketSettings as MarketSettings
from arbitrade.market.book import BookNotSynced as BookNotSynced
from arbitrade.market.book import ChecksumMismatch as ChecksumMismatch
from arbitrade.market.book import Level as Level
from arbitrade.market.book import OrderBook as OrderBook

__all__ = ["BookNotSynced", "ChecksumMismatch", "Level", "MarketSettings", "OrderBook"]
