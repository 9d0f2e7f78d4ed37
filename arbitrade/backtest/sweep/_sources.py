"""Where a sweep's points come from: a fixed list (grid, random) or Optuna's TPE, ask-and-tell.

The coordinator asks a source for the next point while it has room in flight, and tells it
each point's objective value when the point finishes (None when it failed or the figure is
undefined). A list source ignores what it is told. The TPE source asks Optuna's
``TPESampler`` (seeded; ``constant_liar`` so points asked while others run spread out) and
tells each trial its value; points already finished in an earlier session are added to the
study first, so a resumed search starts from what it knew.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from arbitrade.backtest.sweep._objective import Objective
from arbitrade.backtest.sweep._space import (
    Choice,
    Dimension,
    FloatRange,
    IntRange,
    ParameterSpace,
    Point,
    Scalar,
    grid_points,
    make_point,
    random_points,
)


class PointSource(Protocol):
    """Points to run, one at a time."""

    @property
    def total(self) -> int:
        """How many points the sweep has (or asks, for a search)."""

    def ask(self) -> Point | None:
        """The next point, or None when every point has been asked."""

    def tell(self, point: Point, value: float | None) -> None:
        """``point`` finished with ``value`` (None: failed, or no value)."""


class ListSource:
    """A fixed list of points (a grid, or seeded random draws)."""

    def __init__(self, points: Sequence[Point]) -> None:
        self._points = list(points)
        self._next = 0

    @property
    def total(self) -> int:
        """The number of points in the list."""
        return len(self._points)

    @property
    def points(self) -> tuple[Point, ...]:
        """Every point, in the order asked."""
        return tuple(self._points)

    def ask(self) -> Point | None:
        """The next point of the list, or None at its end."""
        if self._next >= len(self._points):
            return None
        point = self._points[self._next]
        self._next += 1
        return point

    def tell(self, point: Point, value: float | None) -> None:
        """Nothing: a list does not learn."""


def _distribution(dimension: Dimension) -> Any:
    import optuna

    if isinstance(dimension, Choice):
        return optuna.distributions.CategoricalDistribution(dimension.values)
    if isinstance(dimension, IntRange):
        return optuna.distributions.IntDistribution(
            dimension.low, dimension.high, log=dimension.log, step=dimension.step
        )
    return optuna.distributions.FloatDistribution(
        dimension.low, dimension.high, log=dimension.log, step=dimension.step
    )


def _clean(dimension: Dimension, value: Any) -> Scalar:
    """Optuna's value as the point's parameter: ints as ints, reals without float noise."""
    if isinstance(dimension, IntRange):
        return int(value)
    if isinstance(dimension, FloatRange):
        if dimension.step is not None:
            return round(float(value), 12)
        return float(f"{float(value):.6g}")
    scalar: Scalar = value
    return scalar


class TpeSource:
    """``samples`` points asked of an Optuna TPE study, told their values as they finish.

    A point the study asks twice runs once: a second ask of a finished point is told the
    stored value at once, of a running point when it finishes.
    """

    def __init__(
        self,
        space: ParameterSpace,
        objective: Objective,
        finished: Mapping[str, tuple[Mapping[str, Scalar], float | None]] | None = None,
    ) -> None:
        try:
            import optuna
        except ImportError as error:  # pragma: no cover - optuna is in the research extra
            raise RuntimeError("the tpe method needs optuna (uv sync --extra research)") from error
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._space = space
        self._distributions = {d.name: _distribution(d) for d in space.dimensions}
        finished = finished or {}
        # A resumed search seeds its sampler past the earlier session's draws: the same seed
        # would ask the earlier points again (its random start-up draws repeat).
        self._study = optuna.create_study(
            direction="maximize" if objective.maximise else "minimize",
            sampler=optuna.samplers.TPESampler(seed=space.seed + len(finished), constant_liar=True),
        )
        self._asked = 0
        self._waiting: dict[str, list[Any]] = {}
        self.primed = self._prime(finished)
        """Points of earlier sessions added to the study (each counts as a trial asked)."""

    @property
    def total(self) -> int:
        """The number of trials the search asks (``samples``)."""
        return self._space.samples

    def _prime(self, finished: Mapping[str, tuple[Mapping[str, Scalar], float | None]]) -> int:
        """Add points finished in an earlier session to the study; returns how many.

        Each counts as one of the ``samples`` trials. Points whose parameters no longer fit
        the space are left out.
        """
        import optuna

        added = 0
        for params, value in finished.values():
            try:
                trial = optuna.trial.create_trial(
                    params=dict(params),
                    distributions=self._distributions,
                    value=value,
                    state=(
                        optuna.trial.TrialState.COMPLETE
                        if value is not None
                        else optuna.trial.TrialState.FAIL
                    ),
                )
                self._study.add_trial(trial)
            except ValueError:
                continue
            added += 1
        self._asked = min(self.total, added)
        return added

    def ask(self) -> Point | None:
        """The study's next point, or None once ``samples`` trials have been asked."""
        if self._asked >= self.total:
            return None
        self._asked += 1
        trial = self._study.ask(self._distributions)
        point = make_point(
            {d.name: _clean(d, trial.params[d.name]) for d in self._space.dimensions}
        )
        self._waiting.setdefault(point.point_id, []).append(trial)
        return point

    def tell(self, point: Point, value: float | None) -> None:
        """Tell every trial that asked ``point`` its value (None: the trial failed)."""
        import optuna

        for trial in self._waiting.pop(point.point_id, []):
            if value is None or not math.isfinite(value):
                self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                self._study.tell(trial, value)


def source_for(
    space: ParameterSpace,
    objective: Objective,
    finished: Mapping[str, tuple[Mapping[str, Scalar], float | None]] | None = None,
) -> ListSource | TpeSource:
    """The source of ``space``'s points (a grid or random list, or a TPE search).

    ``finished`` (point id to parameters and value, None for a failure) primes a TPE search
    resumed; lists skip finished points in the coordinator.
    """
    if space.method == "grid":
        return ListSource(grid_points(space))
    if space.method == "random":
        return ListSource(random_points(space))
    return TpeSource(space, objective, finished)
