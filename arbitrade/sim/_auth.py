"""Server side of Kraken's REST authentication: API-Sign verification, nonces, rate counters.

Written from Kraken's documentation, independently of the client side (``arbitrade.kraken``),
so that a misreading cannot hide in both: API-Sign = base64(HMAC-SHA512(base64-decoded secret,
URI path + SHA256(nonce + POST body))).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable

import attrs


def expected_signature(secret: bytes, path: str, nonce: str, body: bytes) -> bytes:
    """The raw HMAC-SHA512 that a correct API-Sign header decodes to."""
    digest = hashlib.sha256(nonce.encode() + body).digest()
    return hmac.new(secret, path.encode() + digest, hashlib.sha512).digest()


def signature_matches(secret: bytes, path: str, nonce: str, body: bytes, api_sign: str) -> bool:
    """True when ``api_sign`` (base64) is the signature of this request; constant time."""
    try:
        given = base64.b64decode(api_sign, validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(given, expected_signature(secret, path, nonce, body))


@attrs.define
class DecayingCounter:
    """Kraken's rate counter: each call adds to it, it decays linearly, it may not exceed max."""

    maximum: float
    decay_per_second: float
    clock: Callable[[], float]
    value: float = 0.0
    _updated: float | None = None

    def _decay(self) -> None:
        now = self.clock()
        if self._updated is not None:
            self.value = max(0.0, self.value - (now - self._updated) * self.decay_per_second)
        self._updated = now

    def try_add(self, amount: float) -> bool:
        """Add ``amount`` unless that would exceed the maximum; return whether it was added."""
        self._decay()
        if self.value + amount > self.maximum:
            return False
        self.value += amount
        return True

    def force_add(self, amount: float) -> None:
        """Add even past the maximum (Kraken charges the fixed part of a rejected order)."""
        self._decay()
        self.value += amount

    def current(self) -> float:
        self._decay()
        return self.value


@attrs.define
class NonceTracker:
    """Strictly increasing nonces per key (Kraken's default, with no nonce window)."""

    _last: dict[str, int] = attrs.field(factory=dict)

    def accept(self, key: str, nonce_text: str) -> bool:
        """Record the nonce and return True if it is an unsigned 64-bit integer above the last."""
        # isdigit() alone also passes "²" and other digits int() refuses; 2**64 has 20 digits.
        if not (nonce_text.isascii() and nonce_text.isdigit()) or len(nonce_text) > 20:
            return False
        nonce = int(nonce_text)
        if nonce >= 2**64 or nonce <= self._last.get(key, 0):
            return False
        self._last[key] = nonce
        return True
