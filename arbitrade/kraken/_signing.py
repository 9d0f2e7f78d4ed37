"""REST authentication: Kraken's API-Sign and nonces that only ever go up.

API-Sign = base64(HMAC-SHA512(base64decode(secret), path + SHA256(nonce + body))). The nonce
must rise strictly per key, across restarts too: :class:`NonceSource` hands out
``max(last + 1, now in ms)`` and remembers the last one in a small file, so a clock stepped
backwards or two quick restarts cannot reuse one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["NonceSource", "api_sign"]


def api_sign(path: str, nonce: int | str, body: str | bytes, secret: str) -> str:
    """Kraken's API-Sign header for a private REST call.

    Args:
        path: the URI path, starting at ``/0/private/``.
        nonce: the nonce that is also inside ``body``.
        body: the exact bytes sent (url-encoded form, or the JSON text for JSON bodies).
        secret: the API secret as Kraken shows it (base64).

    Raises:
        ValueError: ``secret`` is not valid base64.
    """
    try:
        key = base64.b64decode(secret, validate=True)
    except binascii.Error as exc:
        raise ValueError("the API secret is not valid base64") from exc
    body_bytes = body.encode() if isinstance(body, str) else body
    digest = hashlib.sha256(str(nonce).encode() + body_bytes).digest()
    mac = hmac.new(key, path.encode() + digest, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class NonceSource:
    """Strictly increasing nonces (milliseconds since the epoch, bumped when needed).

    With a ``path`` the last nonce is written there (atomically: a temporary file renamed
    over it) before each nonce is handed out, and read back when the source is made, so a
    restart continues above it. A missing or unreadable file counts as 0: the clock then
    decides, which is right unless the clock went backwards while the file was lost.
    Thread-safe.
    """

    def __init__(
        self, path: Path | None = None, *, clock_ms: Callable[[], int] = _wall_clock_ms
    ) -> None:
        self._path = path
        self._clock_ms = clock_ms
        self._lock = threading.Lock()
        self._last = self._load()

    def _load(self) -> int:
        if self._path is None:
            return 0
        try:
            return int(self._path.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    @property
    def last(self) -> int:
        """The last nonce handed out (or loaded), 0 if none."""
        return self._last

    def next(self) -> int:
        """The next nonce: above every earlier one, and at least the clock in milliseconds.

        Raises:
            OSError: the nonce file could not be written (the nonce is then not used up).
        """
        with self._lock:
            nonce = max(self._last + 1, self._clock_ms())
            if self._path is not None:
                temporary = self._path.with_name(self._path.name + ".tmp")
                temporary.write_text(str(nonce))
                os.replace(temporary, self._path)
            self._last = nonce
            return nonce
