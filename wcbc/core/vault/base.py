"""Opening the vault file: finding the key, reading, decrypting, encrypting and writing the document."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wcbc.core.errors import VaultError
from wcbc.core.files import write_private_file
from wcbc.core.vault import keys
from wcbc.core.vault.document import VERSION, decrypt_all, encrypt_all
from wcbc.core.vault.keys import MASTER_KEY_ENV, _decode_key, _keyring_get

log = logging.getLogger("wcbc.vault")


class VaultBase:
    """Key discovery and file io; the public API is :class:`~wcbc.core.vault.Vault`."""

    def __init__(self, path: Path, key_file: Path) -> None:
        self.path = path
        self.key_file = key_file
        self.key_source: str = "file"
        self._key: bytes | None = None
        self._values: dict[str, str] = {}

    @property
    def _keyring_user(self) -> str:
        return str(self.path)

    def _source_text(self) -> str:
        return {"keyring": "the OS keyring", "env": f"${MASTER_KEY_ENV}"}.get(
            self.key_source, f"the key file {self.key_file}"
        )

    def _find_key(self) -> None:
        stored = _keyring_get(self._keyring_user)
        if stored:
            self.key_source = "keyring"
            self._key = _decode_key(stored, "the OS keyring")
            return
        env = os.environ.get(MASTER_KEY_ENV)
        if env:
            self.key_source = "env"
            self._key = _decode_key(env, f"${MASTER_KEY_ENV}")
            return
        if self.key_file.exists():
            self.key_source = "file"
            self._key = self._read_key_file(self.key_file)
            return
        # no key yet: it will be created on the first set()
        self.key_source = "keyring" if keys._usable_keyring() is not None else "file"
        self._key = None

    def _read_key_file(self, path: Path) -> bytes:
        """The key in ``path``; refused (VaultError, exit 2) when group or others have any access to it."""
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise VaultError(
                    f"the key file {path} is open to other users (mode {mode:o}): whoever can read it can "
                    "decrypt the vault, so wcbc refuses to use it",
                    hint=(f"run: chmod 600 {path}; if others may have read it, "
                          "also: wcbc credentials rotate-key"),
                )
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise VaultError(f"the key file {path} cannot be read: {getattr(exc, 'strerror', exc)}") from None
        return _decode_key(text, f"the key file {path}")

    # ------------------------------------------------------------------ file io

    def _read_document(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise VaultError(f"the vault at {self.path} cannot be read: {exc.strerror}") from None
        try:
            doc = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise VaultError(f"the vault at {self.path} is damaged (not a wcbc vault file)") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("secrets"), dict):
            raise VaultError(f"the vault at {self.path} is damaged (not a wcbc vault file)")
        if doc.get("version") != VERSION:
            raise VaultError(f"the vault at {self.path} has format version {doc.get('version')!r}; "
                             f"this wcbc reads version {VERSION}", hint="upgrade wcbc")
        return doc

    def _load(self, key: bytes | None = None) -> dict[str, str]:
        doc = self._read_document()
        key = key if key is not None else self._key
        if key is None:
            raise VaultError(
                f"the vault at {self.path} exists but no master key was found "
                f"(OS keyring, ${MASTER_KEY_ENV}, key file {self.key_file})",
                hint="restore the key, or delete the vault and set the secrets again",
            )
        try:
            return self._decrypt_all(doc, key)
        except VaultError:
            recovered = self._recover_interrupted_rotation(doc)
            if recovered is not None:
                return recovered
            raise

    def _decrypt_all(self, doc: dict[str, Any], key: bytes) -> dict[str, str]:
        wrong = VaultError(
            f"the vault at {self.path} cannot be decrypted with the key from {self._source_text()}: "
            "wrong key or tampered file"
        )
        return decrypt_all(doc, key, wrong)

    def _encrypt_all(self, values: dict[str, str], key: bytes) -> bytes:
        return encrypt_all(values, key)

    def _write(self, values: dict[str, str], key: bytes) -> None:
        try:
            write_private_file(self.path, self._encrypt_all(values, key))
        except OSError as exc:
            raise VaultError(f"the vault at {self.path} cannot be written: {exc.strerror}") from None

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Serialise writers (two `wcbc credentials set` at once) with a lock file next to the vault."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        lock_path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
