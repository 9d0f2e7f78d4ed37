"""Fuzzing the settings decoders: any environment or TOML text gives settings or a ConfigError."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arbitrade.config import ConfigError, Settings, load_settings
from arbitrade.config._settings import validate

SETTING_NAMES = [
    "APP_ENV",
    "APP_HOST",
    "APP_PORT",
    "LOG_LEVEL",
    "LOG_JSON",
    "DUCKDB_PATH",
    "MODE",
    "LIVE_TRADING_CONFIRMED",
    "FERNET_KEY",
    "KRAKEN_API_KEY",
    "KRAKEN_API_SECRET",
    "KRAKEN_API_KEY_PERMISSIONS",
    "KRAKEN_REST_URL",
    "OPERATOR_TOKEN",
    "SIM_SEED",
]
VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["0", "1", "65536", "-1", "true", "live", "sim", "query,trade", "withdraw"]),
    st.integers().map(str),
)


SECRET_NAMES = ["FERNET_KEY", "KRAKEN_API_SECRET", "OPERATOR_TOKEN"]
# Secret values carry a marker so the test can tell a leak from a coincidence.
SECRETS = st.text(min_size=1, max_size=20).map(lambda text: f"S3CR3T-{text}")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(SETTING_NAMES), VALUES, max_size=8),
    st.dictionaries(st.sampled_from(SECRET_NAMES), SECRETS, max_size=3),
)
def test_any_environment_gives_valid_settings_or_one_config_error(
    plain: dict[str, str], secrets: dict[str, str]
) -> None:
    """No environment crashes the loader: it returns valid settings or raises ConfigError."""
    env = {**plain, **secrets}
    try:
        loaded = load_settings(toml_path=None, dotenv_path=None, environ=env)
    except ConfigError as error:
        assert error.setting
        assert "\n" not in str(error)
        assert "S3CR3T" not in str(error)
    else:
        assert isinstance(loaded, Settings)
        assert validate(loaded) is loaded


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_any_toml_text_gives_settings_or_one_config_error(text: str) -> None:
    """Arbitrary TOML file contents never escape as anything but ConfigError."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "arbitrade.toml"
        path.write_text(text, encoding="utf-8", errors="replace")
        try:
            load_settings(toml_path=path, dotenv_path=None, environ={})
        except ConfigError as error:
            assert "\n" not in str(error).strip() or "TOML" in str(error)
