"""Masking secrets out of text before it is logged, journaled or printed.

A :class:`Redactor` knows the secret values of this installation (from the vault and the
environment) and, whatever it was given, always masks the usual carriers of credentials:
``Authorization`` headers, ``Basic``/``Bearer`` tokens, WooCommerce ``ck_``/``cs_`` keys,
credential query parameters and form fields, and credential fields in JSON or Python reprs.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LENGTH = 4

# names of query parameters / form fields / JSON keys that always carry a credential
_SECRET_FIELDS = (
    "consumer_key", "consumer_secret", "client_secret", "client_assertion", "access_token",
    "refresh_token", "id_token", "password", "passwd", "secret", "clientState", "client_state",
    "oauth_signature", "api_key", "apikey", "token",
)
_FIELDS = "|".join(re.escape(f) for f in _SECRET_FIELDS)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: <anything up to the end of the line / quote / comma>
    (re.compile(r"(?i)\b((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)[^\r\n\"',}]+"), r"\1" + MASK),
    # Basic/Bearer credentials anywhere (at least 8 token characters, so prose survives)
    (re.compile(r"(?i)\b(basic|bearer)(\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1\2" + MASK),
    # WooCommerce REST keys
    (re.compile(r"\b(ck|cs)_[0-9a-fA-F]{20,64}\b"), r"\1_" + MASK),
    # JSON / repr fields: "access_token": "...", 'client_secret': '...'
    (re.compile(r"(?i)([\"'](?:" + _FIELDS + r")[\"']\s*:\s*)\"(?:[^\"\\]|\\.)*\""), r'\1"' + MASK + '"'),
    (re.compile(r"(?i)([\"'](?:" + _FIELDS + r")[\"']\s*:\s*)'(?:[^'\\]|\\.)*'"), r"\1'" + MASK + "'"),
    # query strings and form bodies: consumer_secret=...&
    (re.compile(r"(?i)(?<![A-Za-z0-9_])((?:" + _FIELDS + r")=)[^&\s\"'#]+"), r"\1" + MASK),
)


class Redactor:
    """Replaces every known secret (and every credential-looking field) with ``***``.

    Secrets shorter than :data:`MIN_SECRET_LENGTH` are ignored: masking "1" would mask everything.
    Each secret is also matched in its URL-encoded and JSON-escaped forms. Thread-safe.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._regex: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Learn more secret values (e.g. once the vault is open)."""
        with self._lock:
            changed = False
            for secret in secrets:
                if not secret or len(secret) < MIN_SECRET_LENGTH:
                    continue
                for form in _forms(secret):
                    if len(form) >= MIN_SECRET_LENGTH and form not in self._secrets:
                        self._secrets.add(form)
                        changed = True
            if changed:
                ordered = sorted(self._secrets, key=len, reverse=True)
                self._regex = re.compile("|".join(re.escape(s) for s in ordered))

    def __call__(self, text: str) -> str:
        if not text:
            return text
        regex = self._regex
        if regex is not None:
            text = regex.sub(MASK, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def __len__(self) -> int:
        return len(self._secrets)

    def __repr__(self) -> str:  # never show the secrets
        return f"<Redactor with {len(self._secrets)} secret forms>"


def _forms(secret: str) -> set[str]:
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe=""), json.dumps(secret)[1:-1]}
    return forms


def redact_none(text: str) -> str:
    """The identity redactor (for tests and tools that have no secrets)."""
    return text
