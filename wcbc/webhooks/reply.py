"""The small WSGI vocabulary of the webhook receiver: a reply, the request's headers and body."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping
from typing import Any

from wcbc.core.errors import StateError

log = logging.getLogger("wcbc.server")

RETRY_AFTER_S = 60
# what the state DB raises when it cannot store (core wraps sqlite's errors in StateError; a raw sqlite3
# error is caught as well, whatever path it came by)
STATE_ERRORS: tuple[type[Exception], ...] = (StateError, sqlite3.Error)
REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           405: "Method Not Allowed", 411: "Length Required", 413: "Content Too Large",
           500: "Internal Server Error", 503: "Service Unavailable"}


class Reply:
    """One answer: status, body and headers (never cached, never sniffed)."""

    __slots__ = ("status", "body", "headers")

    def __init__(self, status: int, body: bytes = b"", content_type: str = "text/plain; charset=utf-8",
                 headers: list[tuple[str, str]] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = [("Content-Type", content_type), ("X-Content-Type-Options", "nosniff"),
                        ("Cache-Control", "no-store"), *(headers or [])]

    @classmethod
    def json(cls, status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
        return cls(status, json.dumps(data).encode(), "application/json", headers)

    @classmethod
    def text(cls, status: int, text: str, headers: list[tuple[str, str]] | None = None) -> Reply:
        return cls(status, text.encode("utf-8"), headers=headers)

    @classmethod
    def backlog_full(cls) -> Reply:
        """503 with ``Retry-After``: the inbox is at ``max_backlog``."""
        return cls.text(503, "backlog full\n", [("Retry-After", str(RETRY_AFTER_S))])

    @classmethod
    def state_unavailable(cls) -> Reply:
        """503 with ``Retry-After``: the state DB could not store the delivery (disk full, read-only...)."""
        return cls.text(503, "state unavailable\n", [("Retry-After", str(RETRY_AFTER_S))])

    @classmethod
    def method_not_allowed(cls, allow: str) -> Reply:
        return cls.text(405, "method not allowed\n", [("Allow", allow)])


def printable(value: str | None, limit: int = 120) -> str:
    """A header value made safe for a log line (attackers choose these)."""
    if value is None:
        return "-"
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in value[:limit])
    return cleaned + ("..." if len(value) > limit else "")


def request_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request's headers, names lower-cased with dashes."""
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = str(value)
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


def read_body(environ: Mapping[str, Any], limit: int) -> bytes | Reply:
    """The raw body, or the reply refusing it: 411 without Content-Length, 413 above ``limit``, 400 when
    the length is garbled or the body shorter than announced."""
    raw_length = str(environ.get("CONTENT_LENGTH", "") or "").strip()
    if not raw_length:
        return Reply.text(411, "Content-Length required\n")
    if not raw_length.isdigit() or not raw_length.isascii():
        return Reply.text(400, "bad Content-Length\n")
    length = int(raw_length)
    if length > limit:
        log.warning("refused a %d-byte body on %s from %s (limit %d)", length,
                    environ.get("PATH_INFO"), environ.get("REMOTE_ADDR", "?"), limit)
        return Reply.text(413, "body too large\n")
    stream = environ.get("wsgi.input")
    body = stream.read(length) if (stream is not None and length) else b""
    if len(body) != length:
        return Reply.text(400, "incomplete body\n")
    return body
