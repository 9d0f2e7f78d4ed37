"""Secrets at rest: Fernet key creation, encryption round trip, clear errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import structlog
from cryptography.fernet import Fernet

from arbitrade.config import Secret
from arbitrade.vault import (
    VaultError,
    decrypt_secret,
    encrypt_secret,
    load_or_create_key,
    resolve_api_secret,
)


def test_key_file_when_no_key_configured_is_created_0600_and_reused(tmp_path: Path) -> None:
    """Without FERNET_KEY or keyring, one key file is created with 0600 and then reused."""
    with structlog.testing.capture_logs() as logs:
        first = load_or_create_key(Secret(""), tmp_path, use_keyring=False)
        second = load_or_create_key(Secret(""), tmp_path, use_keyring=False)
    key_file = tmp_path / "fernet.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first == second
    assert [entry["event"] for entry in logs] == ["vault.key_created", "vault.key_loaded"]
    assert logs[0]["source"] == "file"


def test_encrypt_then_decrypt_returns_the_secret(tmp_path: Path) -> None:
    """A secret encrypted with a key decrypts with the same key."""
    key = Secret(Fernet.generate_key().decode())
    token = encrypt_secret(key, "api-secret-value")
    assert "api-secret-value" not in token
    assert decrypt_secret(key, token).reveal() == "api-secret-value"
    assert decrypt_secret(key, f"fernet:{token}").reveal() == "api-secret-value"


def test_decrypt_with_wrong_key_raises_clear_error() -> None:
    """Another key gives a VaultError that says what to do, with no bytes in it."""
    token = encrypt_secret(Secret(Fernet.generate_key().decode()), "api-secret-value")
    with pytest.raises(VaultError, match="encrypted with another FERNET_KEY") as caught:
        decrypt_secret(Secret(Fernet.generate_key().decode()), token)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_decrypt_corrupted_token_raises_clear_error() -> None:
    """A truncated token is a VaultError, not a traceback."""
    key = Secret(Fernet.generate_key().decode())
    token = encrypt_secret(key, "api-secret-value")
    with pytest.raises(VaultError, match="corrupted"):
        decrypt_secret(key, token[:-10])


def test_malformed_configured_key_is_rejected_without_echo() -> None:
    """A FERNET_KEY that is not a Fernet key is named, and its value not shown."""
    with pytest.raises(VaultError, match="FERNET_KEY is not a valid key") as caught:
        load_or_create_key(Secret("not-a-real-key-value"), Path("."), use_keyring=False)
    assert "not-a-real-key-value" not in str(caught.value)


def test_resolve_api_secret_decrypts_prefixed_value(tmp_path: Path) -> None:
    """KRAKEN_API_SECRET given as fernet:<token> resolves to the plain secret."""
    key = Secret(Fernet.generate_key().decode())
    stored = Secret("fernet:" + encrypt_secret(key, "plain-api-secret"))
    assert resolve_api_secret(stored, key, tmp_path).reveal() == "plain-api-secret"
    plain = Secret("plain-api-secret")
    assert resolve_api_secret(plain, key, tmp_path) is plain
