"""The cointegration screen: Engle-Granger p-value and mean-reversion half-life of a pair.

:func:`screen_pair` is blocking numpy/statsmodels work (milliseconds for a few hundred
points). :class:`StatArbScreener` runs it in a worker thread (``trio.to_thread.run_sync``)
and sends the :class:`ScreenResult` back to whoever asked, so the strategy's mailbox never
waits for it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
import trio

from actors import Actor, ActorNotFound
from arbitrade.strategy._stat_messages import ScreenRequest, ScreenResult
from arbitrade.strategy._stat_settings import StatArbSettings


@attrs.frozen
class ScreenStatistics:
    """p-value and half-life (in observations and seconds) of one window."""

    p_value: float
    half_life_observations: float
    half_life_seconds: float


def half_life(spread: np.ndarray[Any, np.dtype[np.float64]]) -> float:
    """Observations for a deviation of the spread to halve: ``-ln 2 / b`` from the fit
    ``Δs_t = a + b * s_{t-1}``. ``inf`` when ``b >= 0`` (no reversion) or the fit is undefined.
    """
    lagged = spread[:-1]
    change = np.diff(spread)
    if lagged.size < 2:
        return math.inf
    design = np.column_stack([np.ones_like(lagged), lagged])
    (_, slope), *_ = np.linalg.lstsq(design, change, rcond=None)
    if not math.isfinite(slope) or slope >= 0:
        return math.inf
    return -math.log(2.0) / float(slope)


def screen_statistics(
    log_y: np.ndarray[Any, np.dtype[np.float64]],
    log_x: np.ndarray[Any, np.dtype[np.float64]],
    times: np.ndarray[Any, np.dtype[np.float64]],
) -> ScreenStatistics:
    """The Engle-Granger test of ``log_y`` on ``log_x`` and the OLS spread's half-life.

    A degenerate window (constant prices, too few points) gives a p-value of 1 and an
    infinite half-life, which never passes.
    """
    from statsmodels.tsa.stattools import coint  # slow import, only on the worker thread

    if log_y.size < 10 or np.ptp(log_x) == 0.0 or np.ptp(log_y) == 0.0:
        return ScreenStatistics(1.0, math.inf, math.inf)
    design = np.column_stack([np.ones_like(log_x), log_x])
    coefficients, *_ = np.linalg.lstsq(design, log_y, rcond=None)
    spread = log_y - design @ coefficients
    p_value = float(coint(log_y, log_x)[1])
    if not math.isfinite(p_value):
        p_value = 1.0
    observations = half_life(spread)
    spacing = float(times[-1] - times[0]) / (times.size - 1) if times.size > 1 else 0.0
    return ScreenStatistics(p_value, observations, observations * spacing)


def request_statistics(request: ScreenRequest) -> ScreenStatistics:
    """:func:`screen_statistics` of a request's window."""
    return screen_statistics(
        np.asarray(request.log_y, dtype=np.float64),
        np.asarray(request.log_x, dtype=np.float64),
        np.asarray(request.times, dtype=np.float64),
    )


def screen_pair(
    request: ScreenRequest,
    *,
    max_p_value: float,
    min_half_life_seconds: float,
    max_half_life_seconds: float,
    at: float,
    statistics: Callable[[ScreenRequest], ScreenStatistics] = request_statistics,
) -> ScreenResult:
    """Screen one request: passed when ``p < max_p_value`` and the half-life is in range."""
    stats = statistics(request)
    passed = (
        stats.p_value < max_p_value
        and min_half_life_seconds <= stats.half_life_seconds <= max_half_life_seconds
    )
    return ScreenResult(request.pair, stats.p_value, stats.half_life_seconds, passed, at)


@attrs.frozen
class ScreenJob:
    """A request and the path of the actor to send its result to."""

    request: ScreenRequest
    reply_to: str


class StatArbScreener(Actor[ScreenJob]):
    """Runs screens one at a time in a worker thread and sends each result to ``reply_to``.

    A screen that raises crashes this actor (its supervisor restarts it); the strategy keeps
    its last result meanwhile. If ``reply_to`` has stopped, or its mailbox is full, the result
    is dropped (the next screen replaces it).
    """

    def __init__(
        self,
        *,
        max_p_value: float,
        min_half_life_seconds: float,
        max_half_life_seconds: float,
        statistics: Callable[[ScreenRequest], ScreenStatistics] = request_statistics,
    ) -> None:
        """``statistics`` is the blocking computation (a seam for tests: statsmodels takes
        seconds to import)."""
        self._bounds = (max_p_value, min_half_life_seconds, max_half_life_seconds)
        self._statistics = statistics

    @classmethod
    def from_settings(
        cls,
        settings: StatArbSettings,
        statistics: Callable[[ScreenRequest], ScreenStatistics] = request_statistics,
    ) -> StatArbScreener:
        """A screener with the bounds of ``settings``."""
        return cls(
            max_p_value=settings.screen_max_pvalue,
            min_half_life_seconds=settings.screen_min_half_life_seconds,
            max_half_life_seconds=settings.screen_max_half_life_seconds,
            statistics=statistics,
        )

    async def receive(self, message: ScreenJob) -> object:
        max_p, low, high = self._bounds
        request = message.request
        screened = await trio.to_thread.run_sync(
            functools.partial(
                screen_pair,
                request,
                max_p_value=max_p,
                min_half_life_seconds=low,
                max_half_life_seconds=high,
                at=0.0,
                statistics=self._statistics,
            )
        )
        result = attrs.evolve(screened, at=trio.current_time())
        self.context.log.debug(
            "stat_arb.screened",
            pair=request.pair,
            p_value=round(result.p_value, 6),
            half_life_s=result.half_life_seconds,
            passed=result.passed,
        )
        try:
            self.context.lookup(message.reply_to).send_nowait(result)
        except (ActorNotFound, trio.WouldBlock, trio.BrokenResourceError):
            self.context.log.info("stat_arb.screen_dropped", pair=request.pair)
        return result
