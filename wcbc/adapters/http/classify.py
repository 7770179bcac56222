"""What one HTTP response or transport exception means: the ONE decision table (see the package doc)."""

from __future__ import annotations

import email.utils
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from wcbc.core.errors import (
    AuthError,
    NotFoundError,
    RemoteError,
    ThrottledError,
    UnreachableError,
    ValidationError,
)
from wcbc.core.time import utcnow

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Statuses after which the server has certainly not acted on the request: safe to repeat any method.
NOT_PROCESSED_STATUSES = frozenset({429, 503})
DEFAULT_RETRY_AFTER_CAP = 120.0
DEFAULT_MAX_TOTAL_WAIT = 300.0


class Outcome(enum.Enum):
    OK = "ok"
    RETRY = "retry"
    REFRESH_AUTH = "refresh_auth"
    FAIL = "fail"


@dataclass(frozen=True)
class Verdict:
    """What to do with one response or transport exception."""

    outcome: Outcome
    reason: str  # "HTTP 503", "connection refused", ... (for logs and messages; no secrets)
    status: int | None = None
    retry_after: float | None = None  # seconds the server asked us to wait (already capped)
    ambiguous: bool = False  # a non-idempotent write may have been applied


ErrorDecoder = Callable[[requests.Response], tuple[str | None, str, str | None]]
"""Turns an error response into (code, message, hint); one per remote system."""


def parse_retry_after(value: str | None, *, now: datetime | None = None, cap: float = DEFAULT_RETRY_AFTER_CAP
                      ) -> float | None:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or utcnow())).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, min(seconds, cap))


def _is_connect_phase(exc: BaseException) -> bool:
    """True when the exception happened while connecting, i.e. before any byte of the request was sent."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ProxyError | requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        inner: Any = exc.args[0] if exc.args else None
        if isinstance(inner, MaxRetryError):
            inner = inner.reason
        return isinstance(inner, NewConnectionError | ConnectTimeoutError)
    return False


def describe_exception(exc: BaseException) -> str:
    """A short, secret-free description of a transport exception (never the URL or its query)."""
    if isinstance(exc, requests.exceptions.SSLError):
        inner: Any = exc.args[0] if exc.args else exc
        if isinstance(inner, MaxRetryError):
            inner = inner.reason
        text = str(inner)
        match = re.search(r"certificate verify failed[^('\")]*", text)
        return f"TLS error: {match.group(0).strip(' :')}" if match else "TLS error"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "read timeout"
    if isinstance(exc, requests.exceptions.ConnectionError):
        if _is_connect_phase(exc):
            inner = exc.args[0].reason if exc.args and isinstance(exc.args[0], MaxRetryError) else exc.args[0]
            text = str(inner)
            if "Name or service not known" in text or "nodename nor servname" in text or "NameResolution" in (
                type(inner).__name__
            ):
                return "cannot resolve host name"
            if "refused" in text.lower():
                return "connection refused"
            return "cannot connect"
        return "connection dropped"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return "connection dropped while reading the answer"
    return type(exc).__name__


def classify(
    result: requests.Response | BaseException,
    *,
    idempotent: bool,
    can_refresh_auth: bool = False,
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP,
    now: datetime | None = None,
) -> Verdict:
    """The one decision table for every response and transport exception (see the module docstring)."""
    if isinstance(result, BaseException):
        reason = describe_exception(result)
        if isinstance(result, requests.exceptions.SSLError):
            return Verdict(Outcome.FAIL, reason)
        if _is_connect_phase(result):
            return Verdict(Outcome.RETRY, reason)
        if isinstance(
            result,
            requests.exceptions.ReadTimeout
            | requests.exceptions.ConnectionError
            | requests.exceptions.ChunkedEncodingError
            | requests.exceptions.ContentDecodingError,
        ):
            if idempotent:
                return Verdict(Outcome.RETRY, reason)
            return Verdict(Outcome.FAIL, reason, ambiguous=True)
        return Verdict(Outcome.FAIL, reason)

    status = result.status_code
    reason = f"HTTP {status}"
    if 200 <= status < 300:
        return Verdict(Outcome.OK, reason, status)
    if status == 401 and can_refresh_auth:
        return Verdict(Outcome.REFRESH_AUTH, reason, status)
    if status in RETRY_STATUSES:
        retry_after = parse_retry_after(result.headers.get("Retry-After"), now=now, cap=retry_after_cap)
        if idempotent or status in NOT_PROCESSED_STATUSES:
            return Verdict(Outcome.RETRY, reason, status, retry_after)
        return Verdict(Outcome.FAIL, reason, status, retry_after, ambiguous=True)
    return Verdict(Outcome.FAIL, reason, status)


def error_class(status: int | None) -> type[RemoteError]:
    """The wcbc.core.errors class for a final (non-retried) HTTP status."""
    if status in (401, 403):
        return AuthError
    if status in (404, 410):
        return NotFoundError
    if status in (400, 409, 412, 413, 415, 422):
        return ValidationError
    if status == 429:
        return ThrottledError
    if status is not None and status in RETRY_STATUSES:
        return UnreachableError
    return RemoteError
