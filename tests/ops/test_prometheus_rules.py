"""ops/prometheus and ops/grafana: the alert rules pass promtool's check and unit tests, and
every metric the rules and the dashboard read is exported by /metrics or listed as proposed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
RULES = ROOT / "ops/prometheus/alerts.yml"
RULE_TESTS = ROOT / "ops/prometheus/alerts_test.yml"
DASHBOARD = ROOT / "ops/grafana/arbitrade-dashboard.json"
EXPORTER = ROOT / "arbitrade/dashboard/_metrics.py"

PROPOSED: frozenset[str] = frozenset()
"""Metrics the rules and the dashboard use that /metrics does not export yet (see
docs/operations.md); rules on them stay quiet until they exist."""

_SUFFIXES = re.compile(r"_(total|bucket|sum|count|created)$")

promtool = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    promtool is None,
    reason="promtool not installed (Debian: apt-get install prometheus; .ci/run installs it)",
)


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert promtool is not None
    return subprocess.run([promtool, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def metric_names(text: str) -> set[str]:
    return set(re.findall(r"\barbitrade_[a-z_]+", text))


def exported_names() -> set[str]:
    """Family names the exporter registers, as they appear in the exposition."""
    source = EXPORTER.read_text()
    names = set(re.findall(r'"(arbitrade_[a-z_]+)"', source))
    counters = set(re.findall(r'Counter(?:MetricFamily)?\(\s*"(arbitrade_[a-z_]+)"', source))
    return names | {f"{name}_total" for name in counters}


def family(name: str) -> str:
    return name if name in PROPOSED else _SUFFIXES.sub("", name)


@needs_promtool
def test_promtool_check_rules_when_run_on_alerts_succeeds() -> None:
    """The alert rules are valid Prometheus rules."""
    result = run_promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_promtool_test_rules_when_run_on_cases_succeeds() -> None:
    """Every alert fires in its firing cases and stays quiet in its quiet ones."""
    result = run_promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_when_read_cover_every_alert_with_tests() -> None:
    """Each alert in the rules has at least one promtool test case naming it."""
    alerts = set(re.findall(r"- alert: (\w+)", RULES.read_text()))
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    assert alerts
    assert alerts <= tested


@pytest.mark.parametrize("path", [RULES, DASHBOARD], ids=["alerts", "dashboard"])
def test_metric_names_when_used_are_exported_or_proposed(path: Path) -> None:
    """A metric read by a rule or a panel is exported by /metrics or listed as proposed."""
    exported = {family(name) for name in exported_names()}
    used = {name for name in metric_names(path.read_text()) if name not in PROPOSED}
    unknown = {name for name in used if family(name) not in exported}
    assert not unknown, f"not exported by {EXPORTER.name}: {sorted(unknown)}"


def test_dashboard_when_loaded_is_valid_grafana_json() -> None:
    """The dashboard is one JSON object with a title, a uid and panels that all query."""
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"]
    assert dashboard["title"] == "Arbitrade"
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert all(p["targets"] and all(t["expr"] for t in p["targets"]) for p in panels)
