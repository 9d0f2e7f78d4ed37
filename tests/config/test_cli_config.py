"""`arbitrade config check`: exit codes and output, run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SECRET = "c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1iZS1wcmludGVk"


def run_check(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KRAKEN_", "APP_", "MODE"))}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "arbitrade",
            "config",
            "check",
            "--config",
            str(tmp_path / "none.toml"),
            "--env-file",
            str(tmp_path / "none.env"),
        ],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_config_check_when_valid_prints_masked_settings_and_exits_zero(tmp_path: Path) -> None:
    """A good configuration is printed with secrets masked."""
    result = run_check(
        tmp_path,
        {
            "KRAKEN_API_KEY": "my-public-key",
            "KRAKEN_API_SECRET": SECRET,
            "KRAKEN_API_KEY_PERMISSIONS": "query,trade",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "configuration ok" in result.stdout
    assert SECRET not in result.stdout + result.stderr
    assert "my-public-key" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"KRAKEN_API_KEY": "my-public-key"}, "KRAKEN_API_SECRET"),
        (
            {
                "KRAKEN_API_KEY": "k-abcdef",
                "KRAKEN_API_SECRET": SECRET,
                "KRAKEN_API_KEY_PERMISSIONS": "query,trade,withdraw",
            },
            "KRAKEN_API_KEY_PERMISSIONS",
        ),
        ({"APP_PORT": "123456"}, "APP_PORT"),
        ({"MODE": "moon"}, "MODE"),
        ({"MODE": "live"}, "KRAKEN_API_KEY"),
    ],
)
def test_config_check_when_invalid_exits_nonzero_with_one_line(
    tmp_path: Path, env: dict[str, str], setting: str
) -> None:
    """A bad configuration gives exit 1 and one stderr line naming the setting."""
    result = run_check(tmp_path, env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"configuration error: {setting}: ")
    assert SECRET not in result.stdout + result.stderr
