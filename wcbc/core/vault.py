"""The encrypted credential vault.

File format (JSON, mode 0600, written atomically)::

    {"version": 1,
     "manifest": {"nonce": "...", "ciphertext": "..."},
     "secrets": {"<name>": {"nonce": "...", "ciphertext": "..."}, ...}}

Every value is AES-256-GCM encrypted under the master key with a fresh 96-bit nonce; the
secret's name is bound as associated data (a ciphertext moved to another name does not decrypt).
The manifest is the encrypted, sorted list of names: removing or adding an entry is detected,
and a wrong key is detected even in a vault holding a single secret. Names are visible, values
never are.

The master key (32 random bytes) comes from, in this order:

1. the OS keyring (``keyring``; service ``wcbc``, user name = the absolute vault path), when a
   usable backend exists;
2. ``$WCBC_MASTER_KEY`` (urlsafe base64 of 32 bytes; see :func:`generate_master_key`);
3. a key file (default: the vault path with suffix ``.key``, mode 0600).

A new key is created on the first :meth:`Vault.set`, in the keyring when usable, else in the key
file. :attr:`Vault.key_source` says which source is (or will be) used: "keyring", "env" or "file".

Environment variables (:data:`ENV_VARS`) win over values stored in the vault.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import logging
import os
import re
import secrets as _secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wcbc.core.errors import VaultError
from wcbc.core.files import write_private_file

log = logging.getLogger("wcbc.vault")

SECRET_NAMES = ("woo_consumer_key", "woo_consumer_secret", "woo_webhook_secret", "bc_client_secret",
                "bc_client_state")
ENV_VARS = {
    "woo_consumer_key": "WCBC_WOO_CONSUMER_KEY",
    "woo_consumer_secret": "WCBC_WOO_CONSUMER_SECRET",
    "woo_webhook_secret": "WCBC_WOO_WEBHOOK_SECRET",
    "bc_client_secret": "WCBC_BC_CLIENT_SECRET",
    "bc_client_state": "WCBC_BC_CLIENT_STATE",
}
MASTER_KEY_ENV = "WCBC_MASTER_KEY"
KEYRING_SERVICE = "wcbc"
VERSION = 1

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_MANIFEST = "\x00manifest"
_PREVIOUS = "#previous"  # keyring user-name suffix / key-file suffix for an interrupted rotation


_NEW_KEY_HINT = ("generate a key as 32 random bytes in urlsafe base64, e.g. "
                 "`openssl rand -base64 32 | tr '+/' '-_'`")


def _system_of(name: str) -> str:
    return {"woo": "woocommerce", "bc": "business-central"}.get(name.split("_", 1)[0], "<system>")


def generate_client_state() -> str:
    """A fresh clientState for BC subscriptions (a shared secret echoed in every notification)."""
    return _secrets.token_urlsafe(32)


def generate_master_key() -> str:
    """A fresh master key in the form $WCBC_MASTER_KEY expects (urlsafe base64 of 32 bytes)."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii")


def env_var_for(name: str) -> str:
    """The environment variable that overrides the secret ``name``."""
    return ENV_VARS.get(name, "WCBC_" + name.upper())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a string")
    return base64.b64decode(text, validate=True)


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


def _aad(name: str) -> bytes:
    return f"wcbc-vault:v{VERSION}:{name}".encode()


# --------------------------------------------------------------------------- keyring


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


# --------------------------------------------------------------------------- vault


class Vault:
    """Encrypted secrets; see the module docstring. Open with :meth:`Vault.open`."""

    def __init__(self, path: Path, key_file: Path) -> None:
        self.path = path
        self.key_file = key_file
        self.key_source: str = "file"
        self._key: bytes | None = None
        self._values: dict[str, str] = {}

    # ------------------------------------------------------------------ opening

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
        self.key_source = "keyring" if _usable_keyring() is not None else "file"
        self._key = None

    def _read_key_file(self, path: Path) -> bytes:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise VaultError(f"the key file {path} cannot be read: {getattr(exc, 'strerror', exc)}") from None
        if mode & 0o077:
            log.warning("the key file %s is readable by other users (mode %o); run: chmod 600 %s",
                        path, mode, path)
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
        aes = AESGCM(key)
        wrong = VaultError(
            f"the vault at {self.path} cannot be decrypted with the key from {self._source_text()}: "
            "wrong key or tampered file"
        )

        def decrypt(entry: Any, name: str) -> bytes:
            try:
                return aes.decrypt(_unb64(entry["nonce"]), _unb64(entry["ciphertext"]), _aad(name))
            except (InvalidTag, KeyError, TypeError, ValueError, binascii.Error):
                raise wrong from None

        manifest = doc.get("manifest")
        if manifest is None:
            raise wrong
        try:
            names = json.loads(decrypt(manifest, _MANIFEST))
        except json.JSONDecodeError:
            raise wrong from None
        if sorted(names) != sorted(doc["secrets"]):
            raise wrong
        return {name: decrypt(doc["secrets"][name], name).decode("utf-8") for name in names}

    def _encrypt_all(self, values: dict[str, str], key: bytes) -> bytes:
        aes = AESGCM(key)

        def encrypt(plain: bytes, name: str) -> dict[str, str]:
            nonce = os.urandom(12)
            return {"nonce": _b64(nonce), "ciphertext": _b64(aes.encrypt(nonce, plain, _aad(name)))}

        doc = {
            "version": VERSION,
            "manifest": encrypt(json.dumps(sorted(values)).encode(), _MANIFEST),
            "secrets": {name: encrypt(values[name].encode("utf-8"), name) for name in sorted(values)},
        }
        return (json.dumps(doc, indent=1) + "\n").encode("ascii")

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

    # ------------------------------------------------------------------ key storage

    def _store_key(self, key: bytes, *, user_suffix: str = "", fallback: bool = False) -> None:
        """Save ``key`` in the current source (keyring or key file).

        With ``fallback`` (creating the first key) a keyring that refuses the key is replaced by
        the key file; otherwise (rotation) the refusal is a VaultError.
        """
        if self.key_source == "keyring":
            kr = _usable_keyring()
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
            kr = _usable_keyring()
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

    # ------------------------------------------------------------------ public API

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
