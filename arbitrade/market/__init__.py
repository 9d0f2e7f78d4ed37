"""Market data: L2 order books (and, later, the channel feed actors that keep them)."""

from arbitrade.market.book import BookNotSynced as BookNotSynced
from arbitrade.market.book import ChecksumMismatch as ChecksumMismatch
from arbitrade.market.book import Level as Level
from arbitrade.market.book import OrderBook as OrderBook

__all__ = ["BookNotSynced", "ChecksumMismatch", "Level", "OrderBook"]
