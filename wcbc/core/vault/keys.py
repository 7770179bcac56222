"""The master key: its sources (OS keyring, $WCBC_MASTER_KEY, key file), its encoding, its checks."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wcbc.core.errors import VaultError

log = logging.getLogger("wcbc.vault")

MASTER_KEY_ENV = "WCBC_MASTER_KEY"
KEYRING_SERVICE = "wcbc"


_NEW_KEY_HINT = ("generate a key as 32 random bytes in urlsafe base64, e.g. "
                 "`openssl rand -base64 32 | tr '+/' '-_'`")


def generate_master_key() -> str:
    """A fresh master key in the form $WCBC_MASTER_KEY expects (urlsafe base64 of 32 bytes)."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii")


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii") + b"=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        key = b""
    if len(key) != 32:
        raise VaultError(f"the master key in {where} is not urlsafe base64 of 32 bytes",
                         hint=_NEW_KEY_HINT)
    return key


def _encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def _usable_keyring() -> Any | None:
    """The keyring module when a real backend is configured, else None."""
    try:
        import keyring
        from keyring.backends import chainer, fail

        backend = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - any keyring failure means "no keyring"
        log.debug("keyring unavailable: %s", type(exc).__name__)
        return None
    if isinstance(backend, fail.Keyring):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    try:
        from keyring.backends import null

        if isinstance(backend, null.Keyring):
            return None
    except ImportError:  # pragma: no cover - old keyring
        pass
    return keyring


def _keyring_get(user: str) -> str | None:
    kr = _usable_keyring()
    if kr is None:
        return None
    try:
        return kr.get_password(KEYRING_SERVICE, user)
    except Exception as exc:  # noqa: BLE001
        log.warning("the OS keyring could not be read (%s); trying the other key sources", type(exc).__name__)
        return None
