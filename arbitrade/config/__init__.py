"""Typed settings: frozen attrs classes built with cattrs from defaults, TOML, .env and env."""

from arbitrade.config._errors import ConfigError as ConfigError
from arbitrade.config._load import load_settings as load_settings
from arbitrade.config._secret import Secret as Secret
from arbitrade.config._settings import Mode as Mode
from arbitrade.config._settings import Settings as Settings

__all__ = ["ConfigError", "Mode", "Secret", "Settings", "load_settings"]

from arbitrade.config._component import load_component as load_component
from arbitrade.config._component import structure_component as structure_component

__all__ += ["load_component", "structure_component"]
