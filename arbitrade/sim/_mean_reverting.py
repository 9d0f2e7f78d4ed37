"""Pairs whose log-price spread mean-reverts, so statistical arbitrage has something to find.

A :class:`MeanRevertingPair` ties the price of one pair to another's:
``log p_y = intercept + beta * log p_x + spread``, where ``spread`` is an Ornstein-Uhlenbeck
process with a set half-life. :class:`SpreadLinks` applies every configured link after the
market model's random walks, by moving the base asset of ``y``; the rest of the market (and
every cross-rate through that asset) follows, so triangles stay consistent.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, MutableMapping
from typing import Any

import attrs

from arbitrade.sim._errors import SimConfigError
from arbitrade.sim._universe import Universe

_FIELD = "market.mean_reverting"


def _finite(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value):
        raise SimConfigError(f"{_FIELD}.{attribute.name}", f"must be finite, got {value}")


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise SimConfigError(
            f"{_FIELD}.{attribute.name}", f"must be a finite number above zero, got {value}"
        )


def _not_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise SimConfigError(
            f"{_FIELD}.{attribute.name}", f"must be a finite number of zero or more, got {value}"
        )


@attrs.frozen
class MeanRevertingPair:
    """``log p_y = intercept + beta * log p_x + spread``, the spread reverting to zero.

    The intercept is fixed at the start so that the spread starts at zero. Each tick the
    spread moves as ``spread = phi * spread + shock`` with ``phi = 0.5 ** (1 / half_life_ticks)``
    (the exact discretisation of an Ornstein-Uhlenbeck process): left alone, a deviation
    halves in ``half_life_ticks`` ticks on average.
    """

    y: str
    """The pair whose price follows (v2 symbol); its base asset is the one the link moves."""
    x: str
    """The pair it follows; it keeps its own random walk."""
    beta: float = attrs.field(default=1.0, validator=_finite)
    """Hedge ratio of the log prices."""
    half_life_ticks: float = attrs.field(default=300.0, validator=_positive)
    """Ticks for a deviation of the spread to halve on average (0.1 s ticks: 300 = 30 s)."""
    sigma: float = attrs.field(default=0.004, validator=_not_negative)
    """Standard deviation of the spread in its steady state, in log units (0.004 = 0.4 %)."""

    def __attrs_post_init__(self) -> None:
        if not self.y or not self.x:
            raise SimConfigError(_FIELD, "a mean-reverting pair needs both symbols y and x")
        if self.y == self.x:
            raise SimConfigError(f"{_FIELD}.x", f"must differ from y, both are {self.y!r}")

    @property
    def persistence(self) -> float:
        """``phi``: the share of the spread left after one tick."""
        return float(0.5 ** (1.0 / self.half_life_ticks))

    @property
    def shock_sigma(self) -> float:
        """Per-tick standard deviation of the spread's shocks that keeps ``sigma`` steady."""
        return self.sigma * math.sqrt(1.0 - self.persistence**2)


DEFAULT_MEAN_REVERTING: tuple[MeanRevertingPair, ...] = (
    MeanRevertingPair("ETH/USD", "BTC/USD", beta=1.2, half_life_ticks=50.0, sigma=0.02),
)
"""On by default: ``config/stat_arb.toml``'s default pair, ETH/USD hedged by BTC/USD, reverts
with a 5-second half-life at the default 0.1 s tick, swinging about 2 %.

Wide and fast on purpose, so that ``arbitrade run`` shows stat-arb paying its way: a round
trip pays four taker fees (4 x 0.40 % of one leg's notional, about 1.6 % of the spread), so a
spread of 0.4 % could never be traded at a profit, and with a 30-second half-life the rolling
fit over a few minutes absorbed the spread into the hedge ratio. Measured with the default
``config/stat_arb.toml`` (``python -m tests.strategy.stat_arb_economics``: the strategy's pair
model on the model's books, taker fills at the touch, 30 simulated minutes, seeds 7-9): first
entry after 3-5 minutes (the fit's warm-up), 21-31 round trips, net of fees +5.79, +12.83 and
+27.83 USD on 200 USD of capital per position (the old 0.4 % / 30 s link with the old settings:
-39 to -58 USD, its gross about zero). On the whole tree on a virtual clock (risk gate,
executor, paper venue), 15 simulated minutes, seed 7: first entry at 277 s, 14 round trips,
+24.10 USD net of 22.78 USD of fees."""


def to_mean_reverting_pairs(value: Iterable[Any]) -> tuple[MeanRevertingPair, ...]:
    """Accept :class:`MeanRevertingPair` values or plain ``(y, x, beta, half_life, sigma)``.

    Raises:
        SimConfigError: an entry is neither, or its values break a rule.
    """
    pairs: list[MeanRevertingPair] = []
    for index, item in enumerate(value):
        if isinstance(item, MeanRevertingPair):
            pairs.append(item)
        elif isinstance(item, tuple | list) and 2 <= len(item) <= 5:
            y, x, *numbers = item
            try:
                floats = [float(number) for number in numbers]
            except (TypeError, ValueError):
                raise SimConfigError(
                    f"{_FIELD}[{index}]", f"beta, half_life_ticks and sigma are numbers: {item!r}"
                ) from None
            pairs.append(MeanRevertingPair(str(y), str(x), *floats))
        else:
            raise SimConfigError(
                f"{_FIELD}[{index}]",
                f"expected (y, x, beta, half_life_ticks, sigma), got {item!r}",
            )
    return tuple(pairs)


@attrs.define
class _Link:
    spec: MeanRevertingPair
    driven: str
    """The base asset of ``y``: its log price is set by the link."""
    y_quote: str
    x_base: str
    x_quote: str
    intercept: float
    spread: float = 0.0


class SpreadLinks:
    """The configured links that the universe can hold, applied in order each tick.

    Links whose symbols are not both in the universe are left out, so a restricted universe
    (``SimConfig.symbols``) works with the defaults. The shocks come from a random generator
    of their own, seeded from the market's seed, so the same seed gives the same spreads.

    Raises:
        SimConfigError: a link would move USD, move an asset its own ``x`` is priced in, or
            move an asset that another link already moves.
    """

    def __init__(
        self,
        universe: Universe,
        specs: Iterable[MeanRevertingPair],
        *,
        seed: int,
        log_price: MutableMapping[str, float],
    ) -> None:
        self._random = random.Random(f"{seed}/mean-reverting")  # noqa: S311 - a market model
        self._links: list[_Link] = []
        driven: set[str] = set()
        for spec in specs:
            y, x = universe.find_pair(spec.y), universe.find_pair(spec.x)
            if y is None or x is None:
                continue
            asset = y.base.name
            if asset == "USD" or asset in (x.base.name, x.quote.name):
                raise SimConfigError(
                    f"{_FIELD}.y",
                    f"{spec.y} cannot follow {spec.x}: its base {asset} would move itself or USD",
                )
            if asset in driven:
                raise SimConfigError(f"{_FIELD}.y", f"{asset} is already moved by another link")
            driven.add(asset)
            log_y = log_price[asset] - log_price[y.quote.name]
            log_x = log_price[x.base.name] - log_price[x.quote.name]
            self._links.append(
                _Link(
                    spec=spec,
                    driven=asset,
                    y_quote=y.quote.name,
                    x_base=x.base.name,
                    x_quote=x.quote.name,
                    intercept=log_y - spec.beta * log_x,
                )
            )

    @property
    def active(self) -> tuple[MeanRevertingPair, ...]:
        """The links in effect (those whose symbols the universe holds)."""
        return tuple(link.spec for link in self._links)

    def spread(self, y: str, x: str) -> float:
        """The current spread of the link ``y`` ~ ``x``.

        Raises:
            KeyError: no active link joins these symbols.
        """
        for link in self._links:
            if (link.spec.y, link.spec.x) == (y, x):
                return link.spread
        raise KeyError(f"{y}~{x}")

    def step(self, log_price: MutableMapping[str, float]) -> None:
        """Move every link's spread one tick and set its driven asset's log price."""
        gauss = self._random.gauss
        for link in self._links:
            spec = link.spec
            link.spread = spec.persistence * link.spread + gauss(0.0, spec.shock_sigma)
            log_x = log_price[link.x_base] - log_price[link.x_quote]
            log_price[link.driven] = (
                log_price[link.y_quote] + link.intercept + spec.beta * log_x + link.spread
            )
