"""Configuration errors.

Exception tree::

    ValueError
    └── ConfigError          one violated rule, naming the setting (never its secret value)
"""


class ConfigError(ValueError):
    """A setting is missing, malformed or inconsistent.

    ``str(error)`` is one line: ``SETTING_NAME: what is wrong``. It never contains the value
    of a secret setting, so it is safe to print and to log.
    """

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")
