"""Settings: sources, precedence, and one clear line per bad configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from arbitrade.config import ConfigError, Mode, Secret, load_settings
from arbitrade.config._load import masked

GOOD_KEY = {
    "KRAKEN_API_KEY": "public-key-abcdef",
    "KRAKEN_API_SECRET": "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1uZXZlci1sZWFr",
    "KRAKEN_API_KEY_PERMISSIONS": "query,trade",
}


def load(env: dict[str, str], tmp_path: Path, toml: str | None = None, dotenv: str | None = None):
    toml_path = tmp_path / "arbitrade.toml"
    env_path = tmp_path / ".env"
    if toml is not None:
        toml_path.write_text(toml)
    if dotenv is not None:
        env_path.write_text(dotenv)
    return load_settings(toml_path=toml_path, dotenv_path=env_path, environ=env)


class TestDefaults:
    def test_load_when_nothing_configured_gives_sim_mode_on_port_9090(self, tmp_path: Path) -> None:
        """With no configuration at all the bot runs the simulator on port 9090."""
        settings = load({}, tmp_path)
        assert settings.mode is Mode.SIM
        assert settings.app_port == 9090
        assert settings.duckdb_path == Path("data/arbitrade.duckdb")
        assert not settings.has_credentials


class TestPrecedence:
    def test_environment_beats_dotenv_beats_toml(self, tmp_path: Path) -> None:
        """Each source overrides the one before it, field by field."""
        settings = load(
            {"APP_PORT": "9300"},
            tmp_path,
            toml='app_port = 9100\nlog_level = "DEBUG"\napp_env = "toml"\n',
            dotenv="APP_PORT=9200\nAPP_ENV=dotenv\n",
        )
        assert settings.app_port == 9300
        assert settings.app_env == "dotenv"
        assert settings.log_level == "DEBUG"

    def test_unknown_toml_key_is_rejected_by_name(self, tmp_path: Path) -> None:
        """A typo in the TOML file is an error naming the key, not silently ignored."""
        with pytest.raises(ConfigError, match=r"^APP_PROT: is not a known setting"):
            load({}, tmp_path, toml="app_prot = 1\n")


class TestBadConfiguration:
    @pytest.mark.parametrize(
        ("env", "setting", "fragment"),
        [
            ({"APP_PORT": "70000"}, "APP_PORT", "between 1 and 65535"),
            ({"APP_PORT": "0"}, "APP_PORT", "between 1 and 65535"),
            ({"APP_PORT": "nine"}, "APP_PORT", "whole number"),
            ({"MODE": "yolo"}, "MODE", "one of sim, paper, live, backtest"),
            ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL", "must be one of"),
            ({"LOG_JSON": "perhaps"}, "LOG_JSON", "true or false"),
            ({"KRAKEN_API_KEY": "public-key-abcdef"}, "KRAKEN_API_SECRET", "required"),
            ({"KRAKEN_API_SECRET": "c2VjcmV0LXZhbHVl"}, "KRAKEN_API_KEY", "required"),
            (
                {**GOOD_KEY, "KRAKEN_API_KEY_PERMISSIONS": ""},
                "KRAKEN_API_KEY_PERMISSIONS",
                "declare",
            ),
            (
                {**GOOD_KEY, "KRAKEN_API_KEY_PERMISSIONS": "query"},
                "KRAKEN_API_KEY_PERMISSIONS",
                "lacks trade",
            ),
            (
                {**GOOD_KEY, "KRAKEN_API_KEY_PERMISSIONS": "trade"},
                "KRAKEN_API_KEY_PERMISSIONS",
                "lacks query",
            ),
            (
                {**GOOD_KEY, "KRAKEN_API_KEY_PERMISSIONS": "query,trade,withdraw"},
                "KRAKEN_API_KEY_PERMISSIONS",
                "withdrawal scope",
            ),
            ({"MODE": "live"}, "KRAKEN_API_KEY", "live mode needs"),
            ({**GOOD_KEY, "MODE": "live"}, "LIVE_TRADING_CONFIRMED", "real money"),
        ],
    )
    def test_bad_setting_raises_one_line_naming_it(
        self, tmp_path: Path, env: dict[str, str], setting: str, fragment: str
    ) -> None:
        """Each bad configuration fails with ``SETTING: problem`` on one line."""
        with pytest.raises(ConfigError) as caught:
            load(env, tmp_path)
        message = str(caught.value)
        assert message.startswith(f"{setting}: ")
        assert fragment in message
        assert "\n" not in message
        for secret in (GOOD_KEY["KRAKEN_API_SECRET"], GOOD_KEY["KRAKEN_API_KEY"]):
            assert secret not in message

    def test_live_mode_with_confirmed_key_loads(self, tmp_path: Path) -> None:
        """Live mode with a query+trade key and the explicit flag is accepted."""
        settings = load({**GOOD_KEY, "MODE": "live", "LIVE_TRADING_CONFIRMED": "true"}, tmp_path)
        assert settings.mode is Mode.LIVE
        assert settings.kraken_api_key_permissions == ("query", "trade")


class TestSecrets:
    def test_secret_repr_and_str_are_masked(self) -> None:
        """A Secret never shows its value through repr or str."""
        secret = Secret("hunter2-is-a-bad-password")
        assert "hunter2" not in repr(secret)
        assert "hunter2" not in str(secret)
        assert secret.reveal() == "hunter2-is-a-bad-password"

    def test_masked_view_hides_every_secret(self, tmp_path: Path) -> None:
        """What `config check` prints holds no secret value."""
        settings = load({**GOOD_KEY, "FERNET_KEY": "fernet-key-value-xyz"}, tmp_path)
        shown = " ".join(masked(settings).values())
        for value in (*GOOD_KEY.values(), "fernet-key-value-xyz"):
            if value != "query,trade":
                assert value not in shown
        assert masked(settings)["KRAKEN_API_KEY_PERMISSIONS"] == "query,trade"
