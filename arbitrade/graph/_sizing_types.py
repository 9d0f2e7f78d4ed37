"""The value types of sizing, shared by the exact walk and its fast path."""

from __future__ import annotations

from fractions import Fraction

import attrs

from arbitrade.messages import Side

Levels = tuple[tuple[int, int], ...]
"""Book levels as ``(price_ticks, qty_lots)``, best first."""


@attrs.frozen
class LegBook:
    """What the sizing needs about one leg: its side of the book and the pair's rules."""

    side: Side
    levels: Levels
    """The side this leg takes from, best first: asks for a buy, bids for a sell."""
    price_precision: int
    qty_precision: int
    fee_rate: Fraction
    qty_step: int
    """Order quantities are multiples of this many lots."""
    price_step: int
    """Limit prices are multiples of this many ticks."""
    qty_min: Fraction
    cost_min: Fraction
