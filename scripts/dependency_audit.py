"""Audit the locked runtime dependencies for known vulnerabilities with pip-audit.

Exports the runtime set from ``uv.lock`` (no dev tools), asks pip-audit about each pinned
version, and prints a table. Exit codes: 0 no known vulnerability (or, with ``--allow-offline``,
the vulnerability database could not be reached: it says so); 1 vulnerabilities found;
2 the audit could not run.

Usage: python scripts/dependency_audit.py [--allow-offline] [--service pypi|osv]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def export_requirements(target: Path) -> None:
    """Write the locked runtime dependencies (pinned, no hashes) to ``target``."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "uv",
            "export",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-emit-project",
            "--quiet",
            "--output-file",
            str(target),
        ],
        cwd=ROOT,
        check=True,
    )


def run_pip_audit(requirements: Path, service: str) -> dict[str, object]:
    """pip-audit's JSON report for the requirements file."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "-r",
            str(requirements),
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "--format",
            "json",
            "--vulnerability-service",
            service,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if not result.stdout.strip():
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr else "no output")
    report: dict[str, object] = json.loads(result.stdout)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--allow-offline",
        action="store_true",
        help="exit 0 when the vulnerability database cannot be reached",
    )
    parser.add_argument("--service", default="pypi", choices=["pypi", "osv"])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        requirements = Path(folder) / "requirements.txt"
        try:
            export_requirements(requirements)
            report = run_pip_audit(requirements, args.service)
        except (subprocess.SubprocessError, RuntimeError, json.JSONDecodeError) as error:
            print(f"dependency audit: could not run: {error}", file=sys.stderr)
            return 0 if args.allow_offline else 2
    dependencies = report.get("dependencies", [])
    assert isinstance(dependencies, list)
    audited = [d for d in dependencies if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    if not audited:
        print(
            f"dependency audit: the vulnerability database ({args.service}) could not be "
            f"reached; none of {len(dependencies)} packages was audited"
        )
        return 0 if args.allow_offline else 2
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            print(f"{dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixes})")
    skipped = len(dependencies) - len(audited)
    print(
        f"dependency audit: {len(audited)} audited, {skipped} skipped, "
        f"{len(vulnerable)} with known vulnerabilities"
    )
    return 1 if vulnerable else 0


if __name__ == "__main__":
    raise SystemExit(main())
