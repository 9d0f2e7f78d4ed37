"""Sink settings load like every component's: defaults, config/persistence.toml, env."""

from __future__ import annotations

from pathlib import Path

import pytest

from arbitrade.config import ConfigError, load_component
from arbitrade.persistence import SinkSettings


class TestSinkSettings:
    def test_load_when_nothing_is_configured_uses_defaults(self, tmp_path: Path) -> None:
        """A missing file and no environment give the documented defaults."""
        assert load_component(SinkSettings, "persistence", config_dir=tmp_path, environ={}) == (
            SinkSettings()
        )

    def test_load_when_env_overrides_batch_rows_uses_it(self, tmp_path: Path) -> None:
        """PERSISTENCE_BATCH_ROWS wins over the default."""
        settings = load_component(
            SinkSettings,
            "persistence",
            config_dir=tmp_path,
            environ={"PERSISTENCE_BATCH_ROWS": "250"},
        )
        assert settings.batch_rows == 250

    def test_load_when_batch_rows_is_zero_names_the_field(self, tmp_path: Path) -> None:
        """A batch needs at least one row."""
        (tmp_path / "persistence.toml").write_text("batch_rows = 0\n")
        with pytest.raises(ConfigError, match="batch_rows"):
            load_component(SinkSettings, "persistence", config_dir=tmp_path, environ={})
