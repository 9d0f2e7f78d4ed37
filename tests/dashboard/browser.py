"""What the browser tests share: Chromium's path, a free port, the demo server in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's Chromium (scripts/setup-browser.sh); Playwright never downloads a browser here."""
REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def artifacts_folder(request: pytest.FixtureRequest, label: str) -> Path:
    """Where screenshots go (``ARBITRADE_TEST_ARTIFACTS`` or ``test-artifacts``), printed once."""
    folder = Path(os.environ.get("ARBITRADE_TEST_ARTIFACTS", REPO / "test-artifacts")) / "dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"{label} screenshots: {folder}")
    return folder


@contextmanager
def serve_demo(
    token: str, *, cwd: Path = REPO, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """The demo dashboard on a free loopback port until the block ends; yields its base URL.

    Fails the test with the demo's stderr if it is not healthy within 90 s; stops it with
    SIGTERM (then SIGKILL after 20 s).
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "arbitrade.dashboard.demo", "--port", str(port), "--token", token],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=None if env is None else dict(env),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            process.kill()
            _, stderr = process.communicate(timeout=10)
            pytest.fail(f"the demo did not become healthy: {stderr[-2000:]}")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
