"""The README's run command path: `arbitrade run` serves /health and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_run_serves_health_then_stops_on_sigterm(tmp_path: Path) -> None:
    """`arbitrade run` with no configuration becomes healthy (feeds live) and exits 0 on SIGTERM."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KRAKEN_", "APP_", "MODE"))},
        "APP_PORT": str(port),
        "DUCKDB_PATH": str(tmp_path / "arbitrade.duckdb"),
        "LOG_JSON": "true",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "arbitrade",
            "run",
            "--config",
            str(tmp_path / "none.toml"),
            "--env-file",
            str(tmp_path / "none.env"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,  # the README command runs from the checkout (config/ holds the defaults)
    )
    try:
        body = None
        # /health answers 503 until every feed is live (the simulator, then the subscriptions)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()
            except httpx.HTTPError:
                body = None
            if body is not None and body["status"] == "ok":
                break
            time.sleep(0.2)
        assert body is not None, (
            process.stderr.read() if process.poll() is not None else "no answer"
        )
        assert body["status"] == "ok"
        assert body["mode"] == "sim"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "app.stopped" in stderr


def test_run_when_a_component_file_is_missing_exits_1_with_one_line(tmp_path: Path) -> None:
    """Started outside the checkout, the fee schedule `config/fees.toml` cannot be read: the
    command prints one `configuration error:` line naming the field and exits 1, no traceback."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KRAKEN_", "APP_", "MODE"))},
        "APP_PORT": str(free_port()),
        "DUCKDB_PATH": str(tmp_path / "arbitrade.duckdb"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "arbitrade", "run", "--env-file", str(tmp_path / "none.env")],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("configuration error")]
    assert len(errors) == 1
    assert "graph.fees_path" in errors[0]
