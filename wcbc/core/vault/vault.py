"""The vault's public API: get, require, set, delete, status and the secrets known to the redactor."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wcbc.core.errors import VaultError
from wcbc.core.vault.names import _NAME_RE, SECRET_NAMES, _system_of, env_var_for
from wcbc.core.vault.rotation import KeyRotation

log = logging.getLogger("wcbc.vault")


class Vault(KeyRotation):
    """Encrypted secrets; see :mod:`wcbc.core.vault`. Open with :meth:`Vault.open`."""

    @classmethod
    def open(cls, path: Path, *, key_file: Path | None = None) -> Vault:
        """Open (or prepare to create) the vault at ``path``; decrypts it when it exists.

        Raises VaultError for a wrong key, a tampered or unreadable file, or a vault that exists
        while no key can be found.
        """
        path = Path(path).expanduser().absolute()
        vault = cls(path, Path(key_file).expanduser().absolute() if key_file else path.with_suffix(".key"))
        vault._find_key()
        if path.exists():
            vault._values = vault._load()
        return vault

    def _check_name(self, name: str) -> None:
        if not _NAME_RE.match(name):
            raise VaultError(f"{name!r} is not a valid secret name",
                             hint=f"known secrets: {', '.join(SECRET_NAMES)}")

    def get(self, name: str) -> str | None:
        """The secret ``name``: its environment variable wins over the vault; None if missing."""
        self._check_name(name)
        env = os.environ.get(env_var_for(name))
        if env:
            return env
        return self._values.get(name)

    def require(self, name: str) -> str:
        """Like :meth:`get` but raises VaultError naming the secret (never a value) if missing."""
        value = self.get(name)
        if value is None:
            raise VaultError(
                f"the secret {name} is not set",
                hint=f"run `wcbc credentials set {_system_of(name)}` or set ${env_var_for(name)}",
            )
        return value

    def set(self, name: str, value: str) -> None:
        """Store ``value`` under ``name`` (creates the key and the vault on first use)."""
        self._check_name(name)
        if not isinstance(value, str) or not value:
            raise VaultError(f"the secret {name} must be a non-empty string")
        with self._file_lock():
            if self._key is None:
                self._find_key()  # another process may have created it meanwhile
            if self._key is None and self.path.exists():
                self._load()  # raises: a vault exists but its key is gone; never overwrite it
            if self._key is None:
                key = AESGCM.generate_key(bit_length=256)
                self._store_key(key, fallback=True)
                self._key = key
                log.info("created a new vault master key in %s", self._source_text())
            values = self._load() if self.path.exists() else {}
            values[name] = value
            self._write(values, self._key)
            self._values = values

    def delete(self, name: str) -> bool:
        """Remove ``name`` from the vault; returns whether it was there."""
        self._check_name(name)
        if not self.path.exists() or self._key is None:
            return False
        with self._file_lock():
            values = self._load()
            if name not in values:
                return False
            del values[name]
            self._write(values, self._key)
            self._values = values
            return True

    def status(self) -> dict[str, str]:
        """name -> "env" | "vault" | "missing", for every known secret and every stored one."""
        out: dict[str, str] = {}
        for name in (*SECRET_NAMES, *sorted(set(self._values) - set(SECRET_NAMES))):
            if os.environ.get(env_var_for(name)):
                out[name] = "env"
            elif name in self._values:
                out[name] = "vault"
            else:
                out[name] = "missing"
        return out

    def secrets(self) -> list[str]:
        """Every secret value known (environment and vault), for the redactor."""
        found = {v for v in self._values.values() if v}
        for name in set(SECRET_NAMES) | set(self._values):
            env = os.environ.get(env_var_for(name))
            if env:
                found.add(env)
        return sorted(found)

    def __repr__(self) -> str:
        return f"<Vault {self.path} key from {self.key_source}, {len(self._values)} secrets>"
