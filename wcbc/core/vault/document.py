"""The vault file's format: every value AES-256-GCM encrypted with its name as associated data."""

from __future__ import annotations

import base64
from typing import Any

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
