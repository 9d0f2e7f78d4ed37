"""Hedge-ratio and z-score estimators with a small, constant cost per observation.

Plain Python floats (statistics, not money). :class:`RollingOls` and :class:`RollingZScore`
keep running sums over a ring buffer, adding the new observation and removing the oldest, and
rebuild the sums from the buffer once per window of removals so rounding drift cannot grow.
Sums are kept relative to a reference value (the first observation) so that log prices near
11 do not cancel away the variation in their last digits. :class:`KalmanHedge` is the
two-state filter (ratio and intercept as a random walk) stepped in closed form.
"""

from __future__ import annotations

from collections import deque

import attrs

_RELATIVE_DEGENERACY = 1e-10
"""Below this share of its scale a variance counts as zero (a flat series has no ratio)."""


@attrs.frozen
class HedgeEstimate:
    """``log y ≈ intercept + ratio * log x``."""

    ratio: float
    intercept: float

    def spread(self, x: float, y: float) -> float:
        """The residual ``y - intercept - ratio * x``."""
        return y - self.intercept - self.ratio * x


class RollingOls:
    """Least squares of ``y`` on ``x`` (with intercept) over the last ``window`` observations.

    :meth:`update` is O(1) amortised. Before two observations, or while every ``x`` in the
    window is the same, there is no ratio and :meth:`estimate` is ``None``.
    """

    __slots__ = ("_buffer", "_pops", "_sx", "_sxx", "_sxy", "_sy", "_x0", "_y0", "window")

    def __init__(self, window: int) -> None:
        if window < 2:
            raise ValueError(f"window must be at least 2, got {window}")
        self.window = window
        self._buffer: deque[tuple[float, float]] = deque()
        self._x0 = self._y0 = 0.0
        self._sx = self._sy = self._sxx = self._sxy = 0.0
        self._pops = 0

    def __len__(self) -> int:
        return len(self._buffer)

    @property
    def full(self) -> bool:
        """True once ``window`` observations are held."""
        return len(self._buffer) == self.window

    def update(self, x: float, y: float) -> HedgeEstimate | None:
        """Add one observation (dropping the oldest when full); the fit over the window."""
        buffer = self._buffer
        if not buffer:
            self._x0, self._y0 = x, y
        dx, dy = x - self._x0, y - self._y0
        buffer.append((dx, dy))
        self._sx += dx
        self._sy += dy
        self._sxx += dx * dx
        self._sxy += dx * dy
        if len(buffer) > self.window:
            ox, oy = buffer.popleft()
            self._pops += 1
            if self._pops >= self.window:
                self._rebuild()
            else:
                self._sx -= ox
                self._sy -= oy
                self._sxx -= ox * ox
                self._sxy -= ox * oy
        return self.estimate()

    def _rebuild(self) -> None:
        self._pops = 0
        self._sx = sum(dx for dx, _ in self._buffer)
        self._sy = sum(dy for _, dy in self._buffer)
        self._sxx = sum(dx * dx for dx, _ in self._buffer)
        self._sxy = sum(dx * dy for dx, dy in self._buffer)

    def estimate(self) -> HedgeEstimate | None:
        """The fit over the observations held, or ``None`` when it is undefined."""
        n = len(self._buffer)
        if n < 2:
            return None
        denominator = n * self._sxx - self._sx * self._sx
        if denominator <= _RELATIVE_DEGENERACY * n * self._sxx or denominator <= 0.0:
            return None
        ratio = (n * self._sxy - self._sx * self._sy) / denominator
        shifted_intercept = (self._sy - ratio * self._sx) / n
        return HedgeEstimate(ratio, shifted_intercept + self._y0 - ratio * self._x0)


class KalmanHedge:
    """Kalman filter for ``y_t = ratio_t * x_t + intercept_t + v_t``, ``v_t ~ N(0, R)``.

    The state ``(ratio, intercept)`` is a random walk with covariance ``delta / (1 - delta)``
    times identity per step. Each :meth:`update` predicts (adds that covariance), measures the
    innovation ``e = y - (ratio * x + intercept)`` with variance ``Q = F P Fᵀ + R``
    (``F = [x, 1]``), then corrects with gain ``K = P Fᵀ / Q``. The last innovation and its
    variance are kept as :attr:`innovation` and :attr:`innovation_variance`.
    """

    __slots__ = (
        "innovation",
        "innovation_variance",
        "intercept",
        "observation_noise",
        "p00",
        "p01",
        "p11",
        "ratio",
        "state_noise",
    )

    def __init__(
        self,
        delta: float,
        observation_noise: float,
        *,
        ratio: float = 0.0,
        intercept: float = 0.0,
        covariance: tuple[float, float, float] = (0.0, 0.0, 0.0),
    ) -> None:
        """Start from ``(ratio, intercept)`` with covariance ``(p00, p01, p11)`` (symmetric)."""
        if not 0.0 < delta < 1.0:
            raise ValueError(f"delta must be strictly between 0 and 1, got {delta}")
        if not observation_noise > 0.0:
            raise ValueError(f"observation noise must be above zero, got {observation_noise}")
        self.state_noise = delta / (1.0 - delta)
        self.observation_noise = observation_noise
        self.ratio, self.intercept = ratio, intercept
        self.p00, self.p01, self.p11 = covariance
        self.innovation = 0.0
        self.innovation_variance = 0.0

    def update(self, x: float, y: float) -> HedgeEstimate:
        """Predict and correct with one observation; the new state estimate."""
        w = self.state_noise
        p00, p01, p11 = self.p00 + w, self.p01, self.p11 + w
        error = y - (self.ratio * x + self.intercept)
        pf0 = p00 * x + p01  # P Fᵀ
        pf1 = p01 * x + p11
        q = x * pf0 + pf1 + self.observation_noise
        k0, k1 = pf0 / q, pf1 / q
        self.ratio += k0 * error
        self.intercept += k1 * error
        self.p00 = p00 - k0 * pf0
        self.p01 = p01 - k0 * pf1
        self.p11 = p11 - k1 * pf1
        self.innovation, self.innovation_variance = error, q
        return HedgeEstimate(self.ratio, self.intercept)


class RollingZScore:
    """``(s - mean) / sd`` of the last ``window`` values, ``sd`` with ``n - 1`` (as pandas).

    The newest value is part of its own window. :meth:`update` returns ``None`` until the
    window is full, and while the window has no spread (a constant series).
    """

    __slots__ = ("_buffer", "_pops", "_s0", "_sum", "_sumsq", "mean", "sd", "window")

    def __init__(self, window: int) -> None:
        if window < 2:
            raise ValueError(f"window must be at least 2, got {window}")
        self.window = window
        self._buffer: deque[float] = deque()
        self._s0 = self._sum = self._sumsq = 0.0
        self._pops = 0
        self.mean = self.sd = 0.0

    def __len__(self) -> int:
        return len(self._buffer)

    def update(self, value: float) -> float | None:
        """Add ``value`` (dropping the oldest when full); its z-score in the window."""
        buffer = self._buffer
        if not buffer:
            self._s0 = value
        shifted = value - self._s0
        buffer.append(shifted)
        self._sum += shifted
        self._sumsq += shifted * shifted
        if len(buffer) > self.window:
            old = buffer.popleft()
            self._pops += 1
            if self._pops >= self.window:
                self._pops = 0
                self._sum = sum(buffer)
                self._sumsq = sum(v * v for v in buffer)
            else:
                self._sum -= old
                self._sumsq -= old * old
        n = len(buffer)
        if n < self.window:
            return None
        mean = self._sum / n
        variance = (self._sumsq - self._sum * mean) / (n - 1)
        if variance <= _RELATIVE_DEGENERACY * (self._sumsq / n) or variance <= 0.0:
            return None
        self.mean = mean + self._s0
        self.sd = variance**0.5
        return (shifted - mean) / self.sd
