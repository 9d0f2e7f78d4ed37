"""Arbitrade: a low-latency arbitrage bot for the Kraken spot exchange.

The trading system is built from supervised actors (see the top-level ``actors`` package)
that exchange immutable messages under Trio structured concurrency.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("arbitrade")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
