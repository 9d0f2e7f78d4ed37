"""The inputs of ``GET /health`` and the verdict drawn from them.

The app declares what must hold for the bot to be healthy: which feeds must be live
(:meth:`HealthInputs.expect_feeds`), how to ask the persistence sink whether it is writing
(:meth:`HealthInputs.watch_sink`), and any other named condition
(:meth:`HealthInputs.set_condition`). Nothing declared means nothing can fail: a bot that
runs no feeds yet is healthy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import attrs


@attrs.frozen
class FeedStatus:
    """The last state a feed actor reported, and whether it counts as live."""

    channel: str
    state: str
    reason: str
    at: float
    live: bool


@attrs.frozen
class SinkStatus:
    """What the persistence sink says about itself when asked."""

    lag_seconds: float
    """Age of the oldest event not yet committed (0 when nothing is pending)."""
    error: str = ""
    """Why the sink cannot write ('' when it can)."""


@attrs.frozen
class HealthReport:
    """The verdict: healthy when every check passed; ``reasons`` say what failed."""

    ok: bool
    reasons: tuple[str, ...]
    checks: Mapping[str, str]
    """Each check's name and its result text ('ok' or the reason it failed)."""
    sink_lag_seconds: float | None
    """The sink's lag as last asked (None when no sink is watched)."""


@attrs.frozen
class _Condition:
    ok: bool
    reason: str


class HealthInputs:
    """What must hold for ``/health`` to answer 200; fed by the app, read by the dashboard."""

    def __init__(self) -> None:
        self._feeds: tuple[str, ...] = ()
        self._sink_probe: Callable[[], SinkStatus] | None = None
        self._max_sink_lag = 0.0
        self._conditions: dict[str, _Condition] = {}

    def expect_feeds(self, channels: Iterable[str]) -> None:
        """Require these feed channels to be live (per their last ``FeedStateChanged``).

        A channel that has reported nothing yet counts as not live.
        """
        self._feeds = tuple(dict.fromkeys(channels))

    def watch_sink(self, probe: Callable[[], SinkStatus], *, max_lag: float = 5.0) -> None:
        """Ask ``probe`` at each health check; unhealthy when it reports an error, when its
        lag exceeds ``max_lag`` seconds, or when the probe itself raises."""
        self._sink_probe = probe
        self._max_sink_lag = max_lag

    def set_condition(self, name: str, ok: bool, reason: str = "") -> None:
        """Set a named condition (e.g. ``supervisor``); a failing one makes /health 503."""
        self._conditions[name] = _Condition(ok, reason)

    def sink_status(self) -> SinkStatus | None:
        """The sink's status now, or None when no sink is watched.

        A probe that raises is reported as an error status rather than propagated: a health
        check must answer, and its answer is "unhealthy".
        """
        if self._sink_probe is None:
            return None
        try:
            return self._sink_probe()
        except Exception as error:
            return SinkStatus(lag_seconds=float("inf"), error=f"probe failed: {error!r}")

    def evaluate(self, feeds: Mapping[str, FeedStatus], now: float) -> HealthReport:
        """Check every declared input; ``feeds`` are the last states seen per channel."""
        del now  # part of the signature so time-based checks can be added without churn
        checks: dict[str, str] = {}
        reasons: list[str] = []

        def record(name: str, failure: str) -> None:
            checks[name] = failure or "ok"
            if failure:
                reasons.append(f"{name}: {failure}")

        for channel in self._feeds:
            status = feeds.get(channel)
            if status is None:
                record(f"feed.{channel}", "no state reported yet")
            elif not status.live:
                why = f" ({status.reason})" if status.reason else ""
                record(f"feed.{channel}", f"{status.state}{why}")
            else:
                record(f"feed.{channel}", "")
        sink = self.sink_status()
        if sink is not None:
            if sink.error:
                record("sink", sink.error)
            elif sink.lag_seconds > self._max_sink_lag:
                record(
                    "sink",
                    f"lag {sink.lag_seconds:.1f}s exceeds {self._max_sink_lag:g}s",
                )
            else:
                record("sink", "")
        for name, condition in sorted(self._conditions.items()):
            record(name, "" if condition.ok else (condition.reason or "failing"))
        return HealthReport(
            ok=not reasons,
            reasons=tuple(reasons),
            checks=checks,
            sink_lag_seconds=None if sink is None else sink.lag_seconds,
        )
