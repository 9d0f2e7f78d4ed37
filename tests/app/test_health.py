"""GET /health through Quart's test client."""

from __future__ import annotations

from arbitrade.config import load_settings
from arbitrade.dashboard.app import AppState, create_app


async def test_health_when_running_reports_ok_mode_version_and_uptime() -> None:
    """/health answers JSON with status, version, mode and uptime."""
    settings = load_settings(toml_path=None, dotenv_path=None, environ={})
    client = create_app(AppState(settings=settings)).test_client()
    response = await client.get("/health")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["status"] == "ok"
    assert body["mode"] == "sim"
    assert body["uptime_seconds"] >= 0
    assert body["version"]
