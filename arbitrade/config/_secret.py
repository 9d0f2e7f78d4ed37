"""A string that refuses to show itself.

``Secret`` wraps API keys, API secrets, Fernet keys and tokens. Its ``repr`` and ``str`` are
masked, so a secret that ends up in a log line, a traceback or a template shows ``**********``.
Every secret created is registered with :mod:`arbitrade.logging`'s redactor, which also masks
the raw value wherever it appears inside another string.
"""

from __future__ import annotations

from typing import Final

MASK: Final = "**********"

# Values of every non-empty Secret created in this process; the log redactor reads it.
_REGISTERED: set[str] = set()


def registered_secret_values() -> frozenset[str]:
    """Every non-empty secret value created so far (for the log redactor)."""
    return frozenset(_REGISTERED)


class Secret:
    """An opaque secret string. Use :meth:`reveal` only at the point of use."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        if len(value) >= 4:  # very short values would mask unrelated text
            _REGISTERED.add(value)

    def reveal(self) -> str:
        """The raw value. Never log or display what this returns."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return f"Secret({MASK!r})" if self._value else "Secret('')"

    def __str__(self) -> str:
        return MASK if self._value else ""
