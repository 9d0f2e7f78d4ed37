"""Scan the work tree and the whole git history for secrets; exit 1 on any finding.

Detectors: detect-secrets' specific plugins (private keys, AWS, GitHub, JWT, Slack, Stripe, ...)
plus our own for Kraken's key shapes (56-character API keys, 88-character base64 API secrets),
Fernet keys, and quoted token assignments. Findings print where they are (file, line, commit)
and a fingerprint (the first 12 hex digits of the secret's SHA-256), never the secret itself.

Known, deliberate values (Kraken's published signing example in the tests) are allowed by
fingerprint in ``ops/security/secret-allowlist.json``; each entry says why.

Usage: python scripts/security_scan.py [--repo DIR] [--allowlist FILE] [--no-history]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from detect_secrets.core.scan import scan_line
from detect_secrets.settings import transient_settings

DEFAULT_ALLOWLIST = Path("ops/security/secret-allowlist.json")
SKIPPED_FILES = frozenset({"uv.lock", "package-lock.json"})  # hashes of packages, not secrets
MAX_FILE_BYTES = 2_000_000

_DETECT_SECRETS_PLUGINS = [
    {"name": name}
    for name in (
        "ArtifactoryDetector",
        "AWSKeyDetector",
        "AzureStorageKeyDetector",
        "BasicAuthDetector",
        "DiscordBotTokenDetector",
        "GitHubTokenDetector",
        "GitLabTokenDetector",
        "JwtTokenDetector",
        "MailchimpDetector",
        "NpmDetector",
        "OpenAIDetector",
        "PrivateKeyDetector",
        "PypiTokenDetector",
        "SendGridDetector",
        "SlackDetector",
        "StripeDetector",
        "TelegramBotTokenDetector",
        "TwilioKeyDetector",
    )
]


@dataclass(frozen=True)
class Detector:
    """A regular expression for a secret's shape, optionally only on lines with context."""

    kind: str
    pattern: re.Pattern[str]
    context: re.Pattern[str] | None = None


_B64 = "A-Za-z0-9+/"
DETECTORS = (
    Detector("Kraken API secret", re.compile(rf"(?<![{_B64}])[{_B64}]{{86}}==(?![{_B64}=])")),
    Detector(
        "Kraken API key",
        re.compile(rf"(?<![{_B64}])[{_B64}]{{56}}(?![{_B64}=])"),
        re.compile(r"(?i)api[_-]?key|kraken"),
    ),
    Detector(
        "Fernet key",
        re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}=(?![A-Za-z0-9_=-])"),
        re.compile(r"(?i)fernet"),
    ),
    Detector(
        "token",
        re.compile(r"""(?i)token["']?\s*[:=]\s*["']([A-Za-z0-9+/_.-]{30,}={0,2})["']"""),
    ),
)


@dataclass(frozen=True)
class Finding:
    """One secret found: where, what kind, and a fingerprint (never the value)."""

    path: str
    line: int
    kind: str
    fingerprint: str
    commit: str = ""

    def describe(self) -> str:
        where = f"{self.path}:{self.line}"
        if self.commit:
            where += f" (commit {self.commit[:12]})"
        return f"{where}: {self.kind} fingerprint={self.fingerprint}"


def fingerprint(secret: str) -> str:
    """The first 12 hex digits of the secret's SHA-256: enough to allow-list, useless to steal."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def scan_text_line(text: str) -> Iterator[tuple[str, str]]:
    """(kind, secret) for every secret on one line."""
    for detector in DETECTORS:
        if detector.context is not None and not detector.context.search(text):
            continue
        for match in detector.pattern.finditer(text):
            yield detector.kind, match.group(match.lastindex or 0)
    for potential in scan_line(text):
        if potential.secret_value:
            yield potential.type, potential.secret_value


def _scan_lines(
    path: str, lines: Iterator[tuple[int, str]], allowed: frozenset[str], commit: str = ""
) -> Iterator[Finding]:
    for number, text in lines:
        if len(text) > 4000:
            continue
        for kind, secret in scan_text_line(text):
            mark = fingerprint(secret)
            if mark not in allowed:
                yield Finding(path, number, kind, mark, commit)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        errors="replace",
    ).stdout


def scan_work_tree(repo: Path, allowed: frozenset[str]) -> Iterator[Finding]:
    """Every tracked or untracked-but-not-ignored file of the work tree."""
    for name in _git(repo, "ls-files", "-co", "--exclude-standard").splitlines():
        path = repo / name
        if Path(name).name in SKIPPED_FILES or not path.is_file():
            continue
        if path.stat().st_size > MAX_FILE_BYTES:
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        text = data.decode("utf-8", "replace")
        yield from _scan_lines(name, enumerate(text.splitlines(), start=1), allowed)


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def scan_history(repo: Path, allowed: frozenset[str]) -> Iterator[Finding]:
    """Every line ever added in any commit reachable from any ref."""
    try:
        log = _git(repo, "log", "--all", "-p", "--no-color", "--unified=0", "--format=commit %H")
    except subprocess.CalledProcessError:
        return  # a repository with no commits has no history to scan
    commit = path = ""
    line_number = 0
    for raw in log.splitlines():
        if raw.startswith("commit ") and len(raw) == 47:
            commit = raw[7:]
        elif raw.startswith("+++ "):
            path = raw[6:] if raw.startswith("+++ b/") else ""
        elif raw.startswith("@@"):
            match = _HUNK.match(raw)
            line_number = int(match.group(1)) if match else 0
        elif raw.startswith("+") and path and Path(path).name not in SKIPPED_FILES:
            yield from _scan_lines(path, iter([(line_number, raw[1:])]), allowed, commit)
            line_number += 1


def load_allowlist(path: Path) -> frozenset[str]:
    """Fingerprints allowed by the allow-list file (missing file: none)."""
    if not path.is_file():
        return frozenset()
    entries = json.loads(path.read_text())
    return frozenset(entry["fingerprint"] for entry in entries["allowed"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path("."))
    parser.add_argument("--allowlist", type=Path, default=None)
    parser.add_argument("--no-history", action="store_true", help="scan the work tree only")
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    allowed = load_allowlist(args.allowlist or repo / DEFAULT_ALLOWLIST)
    with transient_settings({"plugins_used": _DETECT_SECRETS_PLUGINS}):
        findings = list(scan_work_tree(repo, allowed))
        if not args.no_history:
            findings.extend(scan_history(repo, allowed))
    unique = sorted(set(findings), key=lambda f: (f.commit != "", f.path, f.line, f.commit))
    for finding in unique:
        print(finding.describe())
    scope = "work tree" if args.no_history else "work tree and history"
    if unique:
        print(f"security scan: {len(unique)} finding(s) in the {scope}", file=sys.stderr)
        return 1
    print(f"security scan: no secrets found in the {scope}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
