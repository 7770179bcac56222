"""Saving the master key where it came from, and rotating it (an interrupted rotation is completed)."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wcbc.core.errors import VaultError
from wcbc.core.files import write_private_file
from wcbc.core.vault import keys
from wcbc.core.vault.base import VaultBase
from wcbc.core.vault.keys import (
    _NEW_KEY_HINT,
    KEYRING_SERVICE,
    MASTER_KEY_ENV,
    _decode_key,
    _encode_key,
    _keyring_get,
)

log = logging.getLogger("wcbc.vault")
_PREVIOUS = "#previous"  # keyring user-name suffix / key-file suffix for an interrupted rotation


class KeyRotation(VaultBase):
    def _store_key(self, key: bytes, *, user_suffix: str = "", fallback: bool = False) -> None:
        """Save ``key`` in the current source (keyring or key file).

        With ``fallback`` (creating the first key) a keyring that refuses the key is replaced by
        the key file; otherwise (rotation) the refusal is a VaultError.
        """
        if self.key_source == "keyring":
            kr = keys._usable_keyring()
            if kr is not None:
                try:
                    kr.set_password(KEYRING_SERVICE, self._keyring_user + user_suffix, _encode_key(key))
                    return
                except Exception as exc:  # noqa: BLE001
                    if not fallback:
                        raise VaultError(f"the OS keyring refused the key ({type(exc).__name__})") from None
                    log.warning("the OS keyring refused the key (%s); using the key file %s instead",
                                type(exc).__name__, self.key_file)
            elif not fallback:
                raise VaultError("the OS keyring is no longer available; the master key was not changed")
            self.key_source = "file"
        if self.key_source == "env":
            raise VaultError(f"the master key comes from ${MASTER_KEY_ENV}; wcbc cannot change it")
        target = self.key_file.with_name(self.key_file.name + user_suffix)
        try:
            write_private_file(target, (_encode_key(key) + "\n").encode("ascii"))
        except OSError as exc:
            raise VaultError(f"the key file {target} cannot be written: {exc.strerror}") from None

    def _previous_key(self) -> bytes | None:
        if self.key_source == "keyring":
            stored = _keyring_get(self._keyring_user + _PREVIOUS)
            return _decode_key(stored, "the OS keyring") if stored else None
        if self.key_source == "file":
            prev = self.key_file.with_name(self.key_file.name + _PREVIOUS)
            return self._read_key_file(prev) if prev.exists() else None
        return None

    def _forget_previous_key(self) -> None:
        if self.key_source == "keyring":
            kr = keys._usable_keyring()
            if kr is not None:
                with contextlib.suppress(Exception):
                    kr.delete_password(KEYRING_SERVICE, self._keyring_user + _PREVIOUS)
        elif self.key_source == "file":
            with contextlib.suppress(FileNotFoundError):
                self.key_file.with_name(self.key_file.name + _PREVIOUS).unlink()

    def _recover_interrupted_rotation(self, doc: dict[str, Any]) -> dict[str, str] | None:
        """A rotation stopped between saving the new key and writing the vault: finish it."""
        previous = self._previous_key()
        if previous is None or self._key is None:
            return None
        try:
            values = self._decrypt_all(doc, previous)
        except VaultError:
            return None
        log.warning("completing an interrupted key rotation of the vault at %s", self.path)
        self._write(values, self._key)
        self._forget_previous_key()
        return values

    def rotate_key(self) -> None:
        """Generate a new master key, re-encrypt every secret and save the key where the old one was.

        Keyring and key-file sources are rotated in place. The old key is kept (keyring entry
        ``<vault path>#previous`` or ``<key file>#previous``) until the vault has been rewritten,
        so an interrupted rotation is completed on the next open. With ``$WCBC_MASTER_KEY`` the
        key cannot be changed by wcbc: VaultError tells the user what to do instead.
        """
        if self.key_source == "env":
            raise VaultError(
                f"the master key comes from ${MASTER_KEY_ENV}; wcbc cannot change an environment variable",
                hint=(f"{_NEW_KEY_HINT}, then re-enter the secrets with "
                      f"the new ${MASTER_KEY_ENV} set (or unset it to use the keyring or a key file)"),
            )
        if self._key is None or not self.path.exists():
            raise VaultError(f"there is no vault at {self.path} yet: nothing to rotate",
                             hint="store the credentials first with `wcbc credentials set <system>`")
        with self._file_lock():
            old_key = self._key
            values = self._load()
            new_key = AESGCM.generate_key(bit_length=256)
            self._store_key(old_key, user_suffix=_PREVIOUS)
            self._store_key(new_key)
            self._key = new_key
            try:
                self._write(values, new_key)
            except VaultError:
                self._store_key(old_key)
                self._key = old_key
                raise
            self._forget_previous_key()
            self._values = values
        log.info("the vault master key was rotated (%s)", self._source_text())
