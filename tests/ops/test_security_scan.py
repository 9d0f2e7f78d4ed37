"""scripts/security_scan.py: planted secrets are found in the work tree and in old commits."""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).parents[2] / "scripts" / "security_scan.py"
# A made-up Kraken-shaped secret (64 random-looking bytes, base64): never a real key.
PLANTED_SECRET = base64.b64encode(bytes(range(7, 71))).decode()
PLANTED_FERNET = base64.urlsafe_b64encode(bytes(range(100, 132))).decode()


def load_scanner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("security_scan", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "test@example.invalid")
    git(tmp_path, "config", "user.name", "test")
    (tmp_path / "clean.py").write_text("x = 1\n")
    git(tmp_path, "add", "clean.py")
    git(tmp_path, "commit", "-qm", "clean")
    return tmp_path


def test_scan_when_clean_exits_zero(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A repository without secrets passes."""
    assert load_scanner().main(["--repo", str(repo)]) == 0
    assert "no secrets found" in capsys.readouterr().out


def test_secret_in_work_tree_is_found_without_printing_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Kraken-shaped secret in an uncommitted file fails the scan, naming file and line."""
    (repo / "settings.env").write_text(f"# config\nKRAKEN_API_SECRET={PLANTED_SECRET}\n")
    assert load_scanner().main(["--repo", str(repo)]) == 1
    out = capsys.readouterr()
    assert "settings.env:2: Kraken API secret" in out.out
    assert PLANTED_SECRET not in out.out + out.err


def test_secret_removed_from_tree_is_still_found_in_history(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Fernet key committed once and deleted later is reported with its commit."""
    (repo / "keys.py").write_text(f'FERNET_KEY = "{PLANTED_FERNET}"\n')
    git(repo, "add", "keys.py")
    git(repo, "commit", "-qm", "oops")
    git(repo, "rm", "-q", "keys.py")
    git(repo, "commit", "-qm", "remove")
    scanner = load_scanner()
    assert scanner.main(["--repo", str(repo), "--no-history"]) == 0
    capsys.readouterr()
    assert scanner.main(["--repo", str(repo)]) == 1
    out = capsys.readouterr().out
    assert "keys.py:1 (commit " in out
    assert "Fernet key" in out
    assert PLANTED_FERNET not in out


def test_private_key_is_found_by_detect_secrets_plugin(repo: Path) -> None:
    """detect-secrets' own plugins run too (a PEM private key header)."""
    (repo / "id.pem").write_text("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n")
    assert load_scanner().main(["--repo", str(repo), "--no-history"]) == 1


def test_allow_listed_fingerprint_passes(repo: Path) -> None:
    """A deliberate fixture value is allowed by its fingerprint, and only that value."""
    scanner = load_scanner()
    (repo / "vector.txt").write_text(f"secret = {PLANTED_SECRET}\n")
    allowlist = repo / "allow.json"
    entry = {"fingerprint": scanner.fingerprint(PLANTED_SECRET), "reason": "test vector"}
    allowlist.write_text(json.dumps({"allowed": [entry]}))
    assert scanner.main(["--repo", str(repo), "--allowlist", str(allowlist)]) == 0
