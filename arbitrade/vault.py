"""Secrets at rest: Fernet encryption of the Kraken API secret.

The key comes from ``FERNET_KEY``. When that is empty, a key is generated once and kept by
the OS keyring where a usable one exists, else in a key file created with mode 0600 beside the
database; the log says which. Errors are :class:`VaultError` with a sentence, never bytes.

Exception tree::

    ValueError
    └── VaultError      wrong key, corrupted token, unreadable key file
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import structlog
from cryptography.fernet import Fernet, InvalidToken

from arbitrade.config import Secret

log = structlog.get_logger(__name__)

KEYRING_SERVICE: Final = "arbitrade"
KEYRING_USERNAME: Final = "fernet_key"
KEY_FILE_NAME: Final = "fernet.key"
ENCRYPTED_PREFIX: Final = "fernet:"


class VaultError(ValueError):
    """A secret could not be encrypted or decrypted; the message says why and what to do."""


def _valid_key(raw: str, source: str) -> Secret:
    try:
        Fernet(raw.encode())
    except (ValueError, TypeError):
        raise VaultError(
            f"the Fernet key from {source} is not a valid key "
            "(32 url-safe base64-encoded bytes; make one with Fernet.generate_key())"
        ) from None
    return Secret(raw)


def _keyring_usable() -> bool:
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:  # pragma: no cover - keyring is a dependency
        return False
    backend = keyring.get_keyring()
    return not isinstance(backend, fail.Keyring) and getattr(backend, "priority", 0) > 0


def load_or_create_key(
    configured: Secret, key_dir: Path, *, use_keyring: bool | None = None
) -> Secret:
    """Return the Fernet key, creating and keeping one when none is configured.

    Args:
        configured: ``FERNET_KEY``; used as is when set.
        key_dir: the folder for the key file (the database's folder).
        use_keyring: force the keyring on or off; by default it is used when usable.

    Raises:
        VaultError: the configured or stored key is malformed, or the key file is unreadable.
    """
    if configured:
        return _valid_key(configured.reveal(), "FERNET_KEY")
    if use_keyring is None:
        use_keyring = _keyring_usable()
    if use_keyring:
        import keyring

        stored = keyring.get_password(KEYRING_SERVICE, KEYRING_USERNAME)
        if stored:
            log.info("vault.key_loaded", source="keyring")
            return _valid_key(stored, "the OS keyring")
        new_key = Fernet.generate_key().decode()
        keyring.set_password(KEYRING_SERVICE, KEYRING_USERNAME, new_key)
        log.info("vault.key_created", source="keyring")
        return Secret(new_key)
    return _key_from_file(key_dir / KEY_FILE_NAME)


def _key_from_file(path: Path) -> Secret:
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("vault.key_file_too_open", path=str(path), mode=oct(mode))
        try:
            stored = path.read_text().strip()
        except OSError as error:
            raise VaultError(f"cannot read the key file {path}: {error.strerror}") from None
        log.info("vault.key_loaded", source="file", path=str(path))
        return _valid_key(stored, f"the key file {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    new_key = Fernet.generate_key()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(new_key + b"\n")
    log.info("vault.key_created", source="file", path=str(path))
    return Secret(new_key.decode())


def encrypt_secret(key: Secret, plaintext: str) -> str:
    """Encrypt ``plaintext`` with ``key``; return the Fernet token as text."""
    return Fernet(key.reveal().encode()).encrypt(plaintext.encode()).decode()


def decrypt_secret(key: Secret, token: str) -> Secret:
    """Decrypt a Fernet token (with or without the ``fernet:`` prefix).

    Raises:
        VaultError: the token was made with another key, or is corrupted or truncated.
    """
    text = token.removeprefix(ENCRYPTED_PREFIX)
    try:
        return Secret(Fernet(key.reveal().encode()).decrypt(text.encode()).decode())
    except InvalidToken:
        raise VaultError(
            "cannot decrypt the secret: it was encrypted with another FERNET_KEY, or the token "
            "is corrupted; re-encrypt it with `arbitrade secrets encrypt`"
        ) from None


def resolve_api_secret(api_secret: Secret, fernet_key: Secret, key_dir: Path) -> Secret:
    """The usable Kraken API secret: decrypted when stored as ``fernet:<token>``."""
    if not api_secret.reveal().startswith(ENCRYPTED_PREFIX):
        return api_secret
    return decrypt_secret(load_or_create_key(fernet_key, key_dir), api_secret.reveal())
