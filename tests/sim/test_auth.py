"""API-Sign verification, nonces and rate counters, against Kraken's documented vector."""

from __future__ import annotations

import base64

from arbitrade.sim._auth import (
    DecayingCounter,
    NonceTracker,
    expected_signature,
    signature_matches,
)

SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
NONCE = "1616492376594"
PATH = "/0/private/AddOrder"
BODY = b"nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
EXPECTED = (
    "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
)


class TestSignature:
    def test_signature_when_computed_for_official_vector_matches_kraken(self) -> None:
        """The server's expected signature equals Kraken's documented API-Sign."""
        digest = expected_signature(base64.b64decode(SECRET), PATH, NONCE, BODY)
        assert base64.b64encode(digest).decode() == EXPECTED

    def test_signature_when_body_changed_is_rejected(self) -> None:
        """A signature of another body does not verify."""
        assert signature_matches(base64.b64decode(SECRET), PATH, NONCE, BODY, EXPECTED)
        assert not signature_matches(base64.b64decode(SECRET), PATH, NONCE, BODY + b"0", EXPECTED)

    def test_signature_when_not_base64_is_rejected(self) -> None:
        """Garbage in API-Sign is a failed verification, not an exception."""
        assert not signature_matches(b"k", PATH, NONCE, BODY, "%%%not base64")


class TestNonce:
    def test_nonce_when_not_increasing_is_refused(self) -> None:
        """Nonces must strictly increase per key; keys are independent."""
        nonces = NonceTracker()
        assert nonces.accept("a", "5")
        assert not nonces.accept("a", "5")
        assert not nonces.accept("a", "4")
        assert nonces.accept("b", "1")
        assert nonces.accept("a", "6")

    def test_nonce_when_not_an_unsigned_64_bit_integer_is_refused(self) -> None:
        """Text, negatives and values past 2**64 are invalid nonces."""
        nonces = NonceTracker()
        assert not nonces.accept("a", "abc")
        assert not nonces.accept("a", "-1")
        assert not nonces.accept("a", str(2**64))


class TestCounter:
    def test_counter_when_full_refuses_until_it_decays(self) -> None:
        """A counter refuses past its maximum and accepts again after decaying."""
        now = [0.0]
        counter = DecayingCounter(3.0, 1.0, lambda: now[0])
        assert all(counter.try_add(1.0) for _ in range(3))
        assert not counter.try_add(1.0)
        now[0] = 1.0
        assert counter.try_add(1.0)
