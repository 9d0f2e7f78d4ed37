"""scripts/check_latency_regression.py: stages compared as calibration ratios, planted slowdowns
fail the guard naming the stage, noise (a bad attempt) does not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
SCRIPTS = ROOT / "scripts"
BASELINE = ROOT / "ops/performance/latency_baseline.json"
THRESHOLDS = ROOT / "ops/performance/latency_thresholds.json"
sys.path.insert(0, str(SCRIPTS))

import check_latency_regression as guard  # noqa: E402
import latency_stages  # noqa: E402
import profile_latency  # noqa: E402

THRESHOLDS_P50 = {"default": {"p50": 2.0, "p95": None}, "stages": {"slow_stage": {"p50": 3.0}}}


def report(**p50_ratios: float) -> dict[str, Any]:
    """A profile report whose stages have these p50 ratios (p95 ten times that)."""
    return {
        "stages": {
            name: {"ratio": {"p50": ratio, "p95": ratio * 10, "p99": ratio * 20}}
            for name, ratio in p50_ratios.items()
        }
    }


def run_guard(*args: str, inject: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, profile_latency.INJECT_ENV: inject}
    return subprocess.run(
        [sys.executable, str(SCRIPTS / "check_latency_regression.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


class TestCompare:
    def test_compare_when_ratio_grows_less_than_allowed_passes(self) -> None:
        """A stage whose ratio grew by less than its threshold has not regressed."""
        verdicts = guard.compare(report(a=1.0), [report(a=1.9)], THRESHOLDS_P50)
        assert [v.regressed for v in verdicts] == [False, False]

    def test_compare_when_ratio_grows_past_allowed_names_the_stage(self) -> None:
        """A stage whose ratio grew past its threshold is reported, with its name."""
        verdicts = guard.compare(report(a=1.0, b=1.0), [report(a=1.0, b=2.5)], THRESHOLDS_P50)
        regressed = [v for v in verdicts if v.regressed]
        assert [(v.stage, v.quantile) for v in regressed] == [("b", "p50")]
        assert "b p50" in regressed[0].describe()

    def test_compare_when_stage_has_own_threshold_uses_it_over_default(self) -> None:
        """A per-stage threshold replaces the default for that stage only."""
        verdicts = guard.compare(
            report(slow_stage=1.0, other=1.0),
            [report(slow_stage=2.5, other=2.5)],
            THRESHOLDS_P50,
        )
        assert {v.stage: v.regressed for v in verdicts if v.quantile == "p50"} == {
            "slow_stage": False,
            "other": True,
        }

    def test_compare_when_quantile_threshold_is_null_never_regresses(self) -> None:
        """A quantile whose threshold is null is shown but not guarded."""
        verdicts = guard.compare(report(a=1.0), [report(a=1.0)], THRESHOLDS_P50)
        p95 = next(v for v in verdicts if v.quantile == "p95")
        assert p95.allowed is None
        assert not p95.regressed

    def test_compare_when_one_attempt_was_noisy_keeps_the_best_ratio(self) -> None:
        """Each stage keeps its best ratio over the attempts: one bad attempt is forgiven."""
        verdicts = guard.compare(report(a=1.0), [report(a=5.0), report(a=1.1)], THRESHOLDS_P50)
        assert not any(v.regressed for v in verdicts)

    def test_compare_when_baseline_stage_is_missing_from_profile_raises(self) -> None:
        """A stage renamed or removed since the baseline asks for a new baseline."""
        with pytest.raises(guard.GuardInputError, match="make a new baseline"):
            guard.compare(report(gone=1.0), [report(a=1.0)], THRESHOLDS_P50)


class TestInjections:
    def test_parse_injections_when_well_formed_returns_seconds(self) -> None:
        """``STAGE=MICROSECONDS`` pairs, comma separated or repeated, become seconds."""
        delays = profile_latency.parse_injections(["risk_check=200, book_apply=5", "x=0"])
        assert delays == {"risk_check": 0.0002, "book_apply": 0.000005, "x": 0.0}

    @pytest.mark.parametrize("spec", ["risk_check", "=5", "risk_check=-1", "risk_check=fast"])
    def test_parse_injections_when_malformed_raises(self, spec: str) -> None:
        """Anything but a stage name and a non-negative number is refused."""
        with pytest.raises(ValueError, match="STAGE=MICROSECONDS"):
            profile_latency.parse_injections([spec])

    def test_profile_when_injection_names_unknown_stage_raises(self) -> None:
        """A planted slowdown in a stage that does not exist is an error, not a no-op."""
        with pytest.raises(profile_latency.UnknownStage, match="no_such_stage"):
            profile_latency.profile(10, only=["book_apply"], delays={"no_such_stage": 0.001})


class TestProfile:
    def test_profile_when_run_reports_each_stage_as_ratio_to_calibration(self) -> None:
        """Each stage has p50/p95/p99 in microseconds and as ratios to the calibration p50."""
        result = profile_latency.profile(40, only=["frame_decode", "book_apply"], delays={})
        assert set(result["stages"]) == {"frame_decode", "book_apply"}
        calibration_p50 = result["calibration"]["p50_us"]
        for stage in result["stages"].values():
            assert stage["p50_us"] <= stage["p95_us"] <= stage["p99_us"]
            assert stage["ratio"]["p50"] == pytest.approx(
                stage["p50_us"] / calibration_p50, rel=0.01, abs=1e-3
            )

    def test_committed_baseline_when_read_covers_every_stage(self) -> None:
        """The committed baseline has every stage the profile measures, and thresholds."""
        baseline = json.loads(BASELINE.read_text())
        expected = {*latency_stages.STAGE_NAMES, "tick_to_opportunity", "tick_to_order"}
        assert set(baseline["stages"]) == expected
        assert json.loads(THRESHOLDS.read_text())["default"]["p50"] >= 2.0


class TestGuardEndToEnd:
    def test_guard_when_stage_has_planted_slowdown_fails_naming_it(self) -> None:
        """A busy-wait planted in risk_check fails the guard, and stderr names risk_check."""
        result = run_guard(
            "--baseline",
            str(BASELINE),
            "--thresholds",
            str(THRESHOLDS),
            "--iterations",
            "30",
            "--stage",
            "risk_check",
            "--stage",
            "book_apply",
            inject="risk_check=3000",
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert "stage risk_check p50" in result.stderr
        assert "book_apply" not in result.stderr

    def test_guard_when_tick_to_order_has_planted_slowdown_fails_naming_it(self) -> None:
        """A slowdown planted between detection and the actors regresses tick_to_order."""
        baseline = json.loads(BASELINE.read_text())
        baseline["stages"] = {"tick_to_order": baseline["stages"]["tick_to_order"]}
        current = profile_latency.profile(
            20, only=["tick_to_order"], delays={"tick_to_order": 0.02}
        )
        verdicts = guard.compare(baseline, [current], json.loads(THRESHOLDS.read_text()))
        assert [(v.stage, v.quantile) for v in verdicts if v.regressed][:1] == [
            ("tick_to_order", "p50")
        ]

    def test_guard_when_baseline_is_missing_exits_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An unreadable baseline is a usage error (2), not a regression (1)."""
        code = guard.main(
            ["--baseline", str(tmp_path / "none.json"), "--thresholds", str(THRESHOLDS)]
        )
        assert code == 2
        assert "cannot read the baseline" in capsys.readouterr().err
