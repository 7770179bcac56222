"""Masking secrets out of text before it is logged, journaled or printed.

A :class:`Redactor` knows the secret values of this installation (from the vault and the
environment) and, whatever it was given, always masks the usual carriers of credentials:
``Authorization`` headers of any scheme (also escaped, in reprs and in PHP dumps), ``Basic``/``Bearer``
tokens, WooCommerce ``ck_``/``cs_`` keys, credential query parameters and form fields, credential
fields in JSON or Python reprs, and base64 text that decodes to a WooCommerce key.

A known secret is also masked in its URL-encoded and JSON-escaped forms and inside any base64 text
(standard or URL-safe alphabet, padded or not) that contains it, such as the HTTP Basic credential
``base64(key:secret)``: every base64 run holding the secret's bytes, at any of the three byte
alignments, is masked whole.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LENGTH = 4
_MIN_B64_CORE = 8  # base64 characters fully determined by a secret (6 bytes) before they are searched for

# names of query parameters / form fields / JSON keys that always carry a credential
_SECRET_FIELDS = (
    "consumer_key", "consumer_secret", "client_secret", "client_assertion", "access_token",
    "refresh_token", "id_token", "password", "passwd", "secret", "clientState", "client_state",
    "oauth_signature", "api_key", "apikey", "token",
)
_FIELDS = "|".join(re.escape(f) for f in _SECRET_FIELDS)
_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # a header line "Authorization: <scheme> <anything>": the rest of the line, whatever the scheme
    (re.compile(r"(?i)(?<![a-z\"'])((?:proxy-)?authorization\s*(?:=>|[:=])[ \t]*)(?!\\?[\"'\[])[^\r\n]+"),
     r"\1" + MASK),
    # Authorization / Proxy-Authorization / HTTP_AUTHORIZATION, any scheme, in headers, JSON (also
    # escaped), Python reprs and PHP dumps: the whole value up to the end of the line or the quote
    (re.compile(r"(?i)(?<![a-z])((?:proxy-)?authorization(?:\\?[\"'\]])*\s*(?:=>|[:=])\s*(?:\\?[\"'\[])*)"
                r"[^\r\n\"'\\,}\]]+"), r"\1" + MASK),
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

# a base64 run short enough to be a credential; it is decoded and masked when it holds a WooCommerce key
_B64_RUN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{20,512}={0,2}(?![A-Za-z0-9+/_=-])")
_WOO_KEY = re.compile(rb"c[ks]_[0-9a-fA-F]{20,64}")


class Redactor:
    """Replaces every known secret (and every credential-looking field) with ``***``.

    Secrets shorter than :data:`MIN_SECRET_LENGTH` are ignored: masking "1" would mask everything.
    Each secret is also matched in its URL-encoded and JSON-escaped forms and inside base64 text.
    Thread-safe.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._cores: set[str] = set()
        self._regex: re.Pattern[str] | None = None
        self._b64_regex: re.Pattern[str] | None = None
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
                cores = _base64_cores(secret) - self._cores
                if cores:
                    self._cores |= cores
                    changed = True
            if changed:
                ordered = sorted(self._secrets, key=len, reverse=True)
                self._regex = re.compile("|".join(re.escape(s) for s in ordered))
                if self._cores:
                    ordered = sorted(self._cores, key=len, reverse=True)
                    self._b64_regex = re.compile("|".join(re.escape(s) for s in ordered))

    def __call__(self, text: str) -> str:
        if not text:
            return text
        regex = self._regex
        if regex is not None:
            text = regex.sub(MASK, text)
        b64_regex = self._b64_regex
        if b64_regex is not None:
            text = _mask_runs(text, b64_regex)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return _B64_RUN.sub(_mask_woo_key, text)

    def __len__(self) -> int:
        return len(self._secrets)

    def __repr__(self) -> str:  # never show the secrets
        return f"<Redactor with {len(self._secrets)} secret forms>"


def _forms(secret: str) -> set[str]:
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe=""), json.dumps(secret)[1:-1]}
    return forms


def _base64_cores(secret: str) -> set[str]:
    """The base64 characters that every encoding of a text containing ``secret`` contains, whatever
    surrounds it: for each of the three byte alignments, the groups made of the secret's bytes only,
    in the standard and the URL-safe alphabet."""
    data = secret.encode("utf-8")
    cores: set[str] = set()
    for shift in range(3):
        first = 1 if shift else 0  # the group holding the unknown bytes before the secret is skipped
        last = (shift + len(data)) // 3  # groups after this one hold unknown bytes after it
        if (last - first) * 4 < _MIN_B64_CORE:
            continue
        encoded = base64.b64encode(b"\0" * shift + data).decode("ascii")
        core = encoded[first * 4:last * 4]
        cores.add(core)
        cores.add(core.replace("+", "-").replace("/", "_"))
    return cores


def _mask_runs(text: str, cores: re.Pattern[str]) -> str:
    """Mask, whole, every base64 run (with its padding) that contains one of ``cores``."""
    out: list[str] = []
    pos = 0
    for match in cores.finditer(text):
        start, end = match.start(), match.end()
        if start < pos:
            continue
        while start > pos and text[start - 1] in _B64_CHARS:
            start -= 1
        while end < len(text) and text[end] in _B64_CHARS:
            end += 1
        while end < len(text) and text[end] == "=":
            end += 1
        out += [text[pos:start], MASK]
        pos = end
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _mask_woo_key(match: re.Match[str]) -> str:
    """A base64 run that decodes to text holding a WooCommerce key (a Basic credential nobody told us)."""
    run = match.group(0)
    body = run.rstrip("=")
    padded = body + "=" * (-len(body) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            data = decode(padded)
        except (binascii.Error, ValueError):
            continue
        if _WOO_KEY.search(data):
            return MASK
    return run
