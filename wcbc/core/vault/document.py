"""The vault file's format: every value AES-256-GCM encrypted with its name as associated data."""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from wcbc.core.errors import VaultError

VERSION = 1
_MANIFEST = "\x00manifest"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a string")
    return base64.b64decode(text, validate=True)


def _aad(name: str) -> bytes:
    return f"wcbc-vault:v{VERSION}:{name}".encode()


def decrypt_all(doc: dict[str, Any], key: bytes, wrong: VaultError) -> dict[str, str]:
    """Every secret of ``doc``; raises ``wrong`` for a wrong key, a tampered value or a changed manifest."""
    aes = AESGCM(key)

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


def encrypt_all(values: dict[str, str], key: bytes) -> bytes:
    """The vault document holding ``values``, each under a fresh nonce, as the bytes written to disk."""
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
