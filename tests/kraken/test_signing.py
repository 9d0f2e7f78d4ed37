"""API-Sign against Kraken's official vector, and nonces that survive restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from arbitrade.kraken import NonceSource, api_sign

SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
BODY = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
EXPECTED = (
    "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
)


def test_api_sign_when_given_kraken_official_vector_matches() -> None:
    """Kraken's documented example signs to the documented value."""
    assert api_sign("/0/private/AddOrder", 1616492376594, BODY, SECRET) == EXPECTED


def test_api_sign_when_body_changes_differs() -> None:
    """Any change of the body changes the signature."""
    assert api_sign("/0/private/AddOrder", 1616492376594, BODY + "0", SECRET) != EXPECTED


def test_api_sign_when_secret_not_base64_raises() -> None:
    """A mangled secret is a clear ValueError, not a wrong signature."""
    with pytest.raises(ValueError, match="base64"):
        api_sign("/0/private/Balance", 1, "nonce=1", "not base64!!")


class TestNonceSource:
    def test_next_when_clock_stands_still_still_increases(self) -> None:
        """Two nonces in the same millisecond differ."""
        source = NonceSource(clock_ms=lambda: 1000)
        assert [source.next() for _ in range(3)] == [1000, 1001, 1002]

    def test_next_when_clock_goes_backwards_keeps_increasing(self) -> None:
        """A clock stepped back does not make nonces fall."""
        times = iter([5000, 4000])
        source = NonceSource(clock_ms=lambda: next(times))
        assert source.next() == 5000
        assert source.next() == 5001

    def test_next_when_restarted_continues_above_persisted(self, tmp_path: Path) -> None:
        """A new source on the same file starts above the last nonce, whatever the clock says."""
        path = tmp_path / "nonce"
        first = NonceSource(path, clock_ms=lambda: 9000)
        first.next()
        first.next()
        second = NonceSource(path, clock_ms=lambda: 100)
        assert second.next() == 9002

    def test_load_when_file_is_garbage_falls_back_to_clock(self, tmp_path: Path) -> None:
        """An unreadable file counts as zero: the clock decides."""
        path = tmp_path / "nonce"
        path.write_text("garbage")
        assert NonceSource(path, clock_ms=lambda: 77).next() == 77
