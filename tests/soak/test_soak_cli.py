"""``arbitrade soak --advisory``: timing checks may be reported without failing the run;
correctness checks always count."""

from __future__ import annotations

import argparse

import pytest

from arbitrade.cli._soak import _advisory, failed_checks
from arbitrade.soak._checks import Check, Verdict


def _check(name: str, verdict: Verdict) -> Check:
    return Check(name, verdict, "-")


def test_failed_checks_when_timing_check_is_advisory_only_correctness_counts() -> None:
    """A slow recovery is reported apart; a doubled order still fails the run."""
    checks = [
        _check("recover p50 / p99", Verdict.FAIL),
        _check("orders doubled", Verdict.FAIL),
        _check("rows lost", Verdict.PASS),
    ]
    assert failed_checks(checks, ("recovery",)) == (["orders doubled"], ["recover p50 / p99"])
    assert failed_checks(checks, ()) == (["recover p50 / p99", "orders doubled"], [])


def test_advisory_when_name_unknown_is_refused_naming_the_choices() -> None:
    """Only timing checks can be made advisory: 'rows' is not one of them."""
    assert _advisory("recovery, memory") == ("recovery", "memory")
    with pytest.raises(argparse.ArgumentTypeError, match=r"rows.*recovery, visibility"):
        _advisory("rows")
