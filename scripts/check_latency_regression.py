"""Latency regression guard: re-run the profile and compare each stage with a baseline.

    python scripts/check_latency_regression.py \\
        --baseline ops/performance/latency_baseline.json \\
        --thresholds ops/performance/latency_thresholds.json --iterations 600

Stages are compared as ratios to the calibration loop measured in the same run, so a baseline
made on one machine judges another. A stage regresses when, for a guarded quantile, its ratio
now divided by its ratio in the baseline exceeds the allowed growth in the thresholds file
(``default`` for every stage, ``stages`` per stage; ``null`` leaves a quantile unguarded).
A shared machine has bad moments, so a failing run is profiled again (``--attempts``, default
2) and each stage keeps its best ratio over the attempts: noise rarely repeats, a real (or
planted) slowdown does. Exit 0 when every stage is within its threshold, 1 naming each stage
that regressed, 2 when the baseline or thresholds cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import profile_latency


class GuardInputError(ValueError):
    """The baseline or thresholds file is missing, not JSON, or lacks what the guard needs."""


@attrs.frozen
class Verdict:
    """One stage and quantile compared with the baseline."""

    stage: str
    quantile: str
    baseline: float
    """The stage's ratio to the calibration loop in the baseline."""
    current: float
    """Its best ratio over this run's attempts."""
    allowed: float | None
    """Largest allowed ``current / baseline``; None when the quantile is not guarded."""

    @property
    def growth(self) -> float:
        """How many times the baseline ratio the current ratio is."""
        return self.current / self.baseline if self.baseline > 0 else float("inf")

    @property
    def regressed(self) -> bool:
        return self.allowed is not None and self.growth > self.allowed

    def describe(self) -> str:
        return (
            f"{self.stage} {self.quantile}: {self.current:.3f}x calibration vs baseline "
            f"{self.baseline:.3f}x = {self.growth:.2f}x the baseline (allowed {self.allowed}x)"
        )


def load_json(path: Path, what: str) -> dict[str, Any]:
    """Read a JSON object.

    Raises:
        GuardInputError: the file is missing or does not hold a JSON object.
    """
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise GuardInputError(f"cannot read the {what} {path}: {error}") from error
    if not isinstance(data, dict):
        raise GuardInputError(f"the {what} {path} must hold a JSON object")
    return data


def allowed_growth(thresholds: Mapping[str, Any], stage: str) -> dict[str, float | None]:
    """The allowed growth per quantile for ``stage``: its own entries over ``default``."""
    merged: dict[str, float | None] = dict(thresholds.get("default", {}))
    merged.update(thresholds.get("stages", {}).get(stage, {}))
    return merged


def compare(
    baseline: Mapping[str, Any],
    currents: Sequence[Mapping[str, Any]],
    thresholds: Mapping[str, Any],
) -> list[Verdict]:
    """Every guarded (stage, quantile) of the baseline against the best of ``currents``.

    Raises:
        GuardInputError: the baseline has no stages, or a baseline stage is missing from a
            current profile (renamed or removed: make a new baseline).
    """
    stages: Mapping[str, Any] = baseline.get("stages", {})
    if not stages:
        raise GuardInputError("the baseline has no stages")
    verdicts: list[Verdict] = []
    for stage, recorded in stages.items():
        for quantile, allowed in allowed_growth(thresholds, stage).items():
            ratios = []
            for current in currents:
                found = current.get("stages", {}).get(stage)
                if found is None:
                    raise GuardInputError(
                        f"stage {stage!r} is in the baseline but not in the profile; "
                        "if it was renamed or removed, make a new baseline"
                    )
                ratios.append(float(found["ratio"][quantile]))
            verdicts.append(
                Verdict(stage, quantile, float(recorded["ratio"][quantile]), min(ratios), allowed)
            )
    return verdicts


def format_verdicts(verdicts: Sequence[Verdict]) -> str:
    lines = [f"{'stage':<20} {'q':<4} {'baseline x':>10} {'now x':>9} {'growth':>7} {'allowed':>8}"]
    for v in verdicts:
        allowed = "-" if v.allowed is None else f"{v.allowed:g}"
        mark = "  REGRESSED" if v.regressed else ""
        lines.append(
            f"{v.stage:<20} {v.quantile:<4} {v.baseline:>10.3f} {v.current:>9.3f} "
            f"{v.growth:>7.2f} {allowed:>8}{mark}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--thresholds", type=Path, required=True)
    parser.add_argument(
        "--attempts", type=int, default=2, help="profile runs at most (best ratio counts)"
    )
    profile_latency.add_profile_arguments(parser)
    args = parser.parse_args(argv)
    try:
        baseline = load_json(args.baseline, "baseline")
        thresholds = load_json(args.thresholds, "thresholds")
        profile_latency.quiet_logs()
        delays = profile_latency.parse_injections(
            [profile_latency.environment_injections(), *args.inject_delay]
        )
        only = args.stage or None
        if only:  # compare just the profiled stages
            missing = [s for s in only if s not in baseline.get("stages", {})]
            if missing:
                raise GuardInputError(f"stage {missing[0]!r} is not in the baseline")
            baseline = {**baseline, "stages": {s: baseline["stages"][s] for s in only}}
        currents: list[dict[str, Any]] = []
        verdicts: list[Verdict] = []
        for attempt in range(1, max(1, args.attempts) + 1):
            current = profile_latency.profile(args.iterations, only=only, delays=delays)
            print(f"attempt {attempt}:\n{profile_latency.format_table(current)}\n")
            currents.append(current)
            verdicts = compare(baseline, currents, thresholds)
            if not any(v.regressed for v in verdicts):
                break
    except (GuardInputError, ValueError, KeyError) as error:
        print(f"check_latency_regression: {error}", file=sys.stderr)
        return 2
    print(format_verdicts(verdicts))
    regressed = [v for v in verdicts if v.regressed]
    if not regressed:
        print(f"\nlatency guard: every stage within its threshold ({len(currents)} attempt(s))")
        return 0
    print(f"\nlatency guard FAILED after {len(currents)} attempt(s):", file=sys.stderr)
    for verdict in regressed:
        print(f"  stage {verdict.describe()}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
