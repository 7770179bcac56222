"""The HTTP layer shared by the WooCommerce, Entra ID and Business Central clients.

Every request wcbc sends goes through :class:`HttpClient`. It owns:

* one ``requests.Session`` per thread (or the session the caller injected), a
  ``User-Agent: wcbc/<version>`` header and a timeout on every call;
* :func:`classify`, the ONE place that decides what a response or a transport exception means:

  ``ok``            2xx.
  ``retry``         429 (``Retry-After`` honoured, as seconds or an HTTP date, capped), 408, 500, 502, 503,
                    504, connection errors and read timeouts. Without ``Retry-After`` the wait is exponential
                    backoff with full jitter.
  ``refresh_auth``  401 when the caller can refresh its credentials (Business Central bearer tokens): the
                    caller's ``on_unauthorized`` runs once and the request is sent once more; a second 401 is
                    an :class:`~wcbc.core.errors.AuthError`.
  ``fail``          anything else: a typed error from :mod:`wcbc.core.errors` (400/409/412/413/422
                    ValidationError, 404/410 NotFoundError, 401/403 AuthError, others RemoteError).

* retries through tenacity, capped by ``max_retries`` and by ``max_total_wait`` (seconds of sleeping in
  total). Each retry is logged on logger ``wcbc.http`` at WARNING with the system, the call, the status or
  exception and the wait. When the cap is reached: :class:`~wcbc.core.errors.ThrottledError` for 429,
  :class:`~wcbc.core.errors.UnreachableError` for the rest.

Non-idempotent writes (a plain POST, unless the caller passes ``idempotent=True``)
--------------------------------------------------------------------------------
A POST that creates something must not be sent twice. It is retried only when the server certainly did
not act on it: 429 and 503 (refused/queued, not processed) and connection errors raised while
*connecting* (DNS, refused, connect timeout: nothing was sent). Any other transient failure of a POST
(read timeout, connection dropped after the request went out, 408, 500, 502, 504) may have created the
document: it raises :class:`AmbiguousWriteError` (an ``UnreachableError``) straight away, without retry.
The caller settles it with a lookup (for BC sales documents: ``$filter=externalDocumentNumber eq '...'``)
and re-sends only if nothing was created. Callers whose POST is safe to repeat (WooCommerce batch
*updates*, order notes) pass ``idempotent=True``. GET, HEAD, OPTIONS, PUT, PATCH and DELETE are treated as
idempotent (PATCH and DELETE on BC carry ``If-Match``: a repeat cannot apply twice).

Secrets: messages carry the method and the URL *path* only (never the query string), error bodies are
passed through :meth:`HttpClient.redact`, and request bodies and headers are never logged.
"""

from __future__ import annotations

import collections
import email.utils
import enum
import html
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import tenacity
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

import wcbc
from wcbc.core.errors import (
    AuthError,
    NotFoundError,
    RemoteError,
    ThrottledError,
    UnreachableError,
    ValidationError,
)
from wcbc.core.redact import Redactor

log = logging.getLogger("wcbc.http")

USER_AGENT = f"wcbc/{wcbc.__version__}"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Statuses after which the server has certainly not acted on the request: safe to repeat any method.
NOT_PROCESSED_STATUSES = frozenset({429, 503})
DEFAULT_RETRY_AFTER_CAP = 120.0
DEFAULT_MAX_TOTAL_WAIT = 300.0


class AmbiguousWriteError(UnreachableError):
    """A non-idempotent write may or may not have been applied.

    Raised when a POST was sent but its answer was lost (read timeout, connection dropped after sending)
    or was a 408/500/502/504. The document may exist: look it up (e.g. by externalDocumentNumber) before
    sending it again. ``exit_code`` is that of :class:`UnreachableError` (3).
    """


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
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
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


def default_error_decoder(response: requests.Response) -> tuple[str | None, str, str | None]:
    """(code, message, hint) from the usual JSON error envelopes, else the HTTP reason and a short snippet."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict) and ("code" in inner or "message" in inner):
            return _s(inner.get("code")), _s(inner.get("message")) or response.reason or "error", None
        if "code" in body or "message" in body:
            return _s(body.get("code")), html.unescape(_s(body.get("message")) or "error"), None
        if isinstance(inner, str):  # OAuth style {"error": "...", "error_description": "..."}
            return inner, _s(body.get("error_description")) or inner, None
    snippet = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text or "")).strip()[:160]
    message = response.reason or "error"
    if snippet:
        message = f"{message}: {snippet}"
    return None, message, None


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def path_of(url: str) -> str:
    """The path of a URL: what error messages and logs show (never the query string)."""
    return urlsplit(url).path or "/"


def default_route(method: str, url: str) -> str:
    """Counter key for a call: method and path with numeric ids and OData keys replaced by {id}."""
    path = re.sub(r"\(([^()]*)\)", "({id})", path_of(url))
    path = re.sub(r"/\d+(?=/|$)", "/{id}", path)
    return f"{method} {path}"


class _Retry(Exception):
    """Internal: one attempt failed in a retryable way."""

    def __init__(self, verdict: Verdict, error: RemoteError) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict
        self.error = error


class _Unauthorized(Exception):
    def __init__(self, response: requests.Response) -> None:
        super().__init__("401")
        self.response = response


class HttpClient:
    """Sends requests for one remote system, with classification, retries, counters and redaction.

    Thread-safe: each thread gets its own ``requests.Session`` unless one was injected (then it is shared).
    ``calls`` and ``retries`` are ``collections.Counter`` objects keyed by "METHOD /route" (see ``route``);
    ``calls.total()`` is the number of HTTP requests sent.
    """

    def __init__(
        self,
        system: str,
        *,
        verify: str | bool = True,
        timeout: float = 30.0,
        max_retries: int = 5,
        max_total_wait: float = DEFAULT_MAX_TOTAL_WAIT,
        retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        session: requests.Session | None = None,
        auth: requests.auth.AuthBase | tuple[str, str] | None = None,
        error_decoder: ErrorDecoder = default_error_decoder,
        route: Callable[[str, str], str] = default_route,
        secrets: Iterable[str] = (),
        sleep: Callable[[float], None] | None = None,
        now: Callable[[], datetime] | None = None,
        limiter: Any = None,
        rng: Callable[[], float] = random.random,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.system = system
        self.verify = verify
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        self.max_total_wait = float(max_total_wait)
        self.retry_after_cap = float(retry_after_cap)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.auth = auth
        self.error_decoder = error_decoder
        self.route = route
        self.limiter = limiter
        self._redactor = Redactor(secrets)
        self._sleep = sleep if sleep is not None else time.sleep
        self._now = now or (lambda: datetime.now(UTC))
        self._rng = rng
        self._default_headers = dict(default_headers or {})
        self._shared_session = session
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self.calls: collections.Counter[str] = collections.Counter()
        self.retries: collections.Counter[str] = collections.Counter()

    # ----------------------------------------------------------------- plumbing
    def add_secret(self, value: str) -> None:
        """Register one more value that must never appear in a message (e.g. a fresh token)."""
        self._redactor.add(value)

    def redact(self, text: str) -> str:
        """The secrets (also inside base64: the Basic credential) and every credential carrier masked."""
        return self._redactor(text)

    def session(self) -> requests.Session:
        if self._shared_session is not None:
            return self._shared_session
        current = getattr(self._local, "session", None)
        if current is None:
            current = requests.Session()
            current.headers["User-Agent"] = USER_AGENT
            self._local.session = current
            with self._lock:
                self._sessions.append(current)
        return current

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for s in sessions:
            s.close()
        self._local = threading.local()

    def _count(self, counter: collections.Counter[str], key: str) -> None:
        with self._lock:
            counter[key] += 1

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** max(0, attempt - 1)))
        return self._rng() * ceiling

    # ----------------------------------------------------------------- errors
    def error_for(self, verdict: Verdict, call: str, response: requests.Response | None,
                  *, exhausted: bool = False) -> RemoteError:
        """The typed exception for a failed (or given-up) call. Messages are redacted."""
        if response is None:
            cls: type[RemoteError] = AmbiguousWriteError if verdict.ambiguous else UnreachableError
            message = verdict.reason
            hint = None
            if verdict.reason.startswith("TLS error"):
                hint = "the server certificate was not trusted: set [tls] ca_bundle (or REQUESTS_CA_BUNDLE)"
            elif verdict.ambiguous:
                message = f"{verdict.reason} after the request was sent: it may have been applied"
                hint = "look the record up before sending it again"
            elif exhausted:
                message = f"{verdict.reason} (gave up after {self.max_retries} retries)"
            return cls(self.redact(message), system=self.system, call=call, hint=hint)
        code, message, hint = self.error_decoder(response)
        message = self.redact(message)
        if exhausted:
            message = f"{message} (gave up after {self.max_retries} retries)"
        cls = AmbiguousWriteError if verdict.ambiguous else error_class(response.status_code)
        if verdict.ambiguous:
            hint = hint or "the request may have been applied: look the record up before sending it again"
        elif 300 <= response.status_code < 400:
            where = path_of(response.headers.get("Location", ""))
            message = f"unexpected redirect to {where}"
            hint = "check the configured URL (https, www, sub-directory): wcbc does not follow redirects"
        return cls(message, system=self.system, call=call, status=response.status_code, code=code,
                   hint=self.redact(hint) if hint else None)

    # ----------------------------------------------------------------- sending
    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        check: bool = True,
        on_unauthorized: Callable[[requests.Response], None] | None = None,
        route: str | None = None,
        timeout: float | None = None,
    ) -> requests.Response:
        """Send one logical call (with retries) and return the final response.

        ``check=False`` returns a final 4xx response instead of raising (retryable statuses are still
        retried, and still raise when the cap is reached). ``on_unauthorized`` makes a 401 refreshable once.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        call = f"{method} {path_of(url)}"
        key = route or self.route(method, url)
        kwargs: dict[str, Any] = {"params": params, "headers": headers, "json_body": json_body, "data": data,
                                  "timeout": timeout}
        try:
            return self._with_retries(method, url, call, key, idempotent, check,
                                      on_unauthorized is not None, kwargs)
        except _Unauthorized as first:
            assert on_unauthorized is not None
            log.warning("%s %s: HTTP 401; refreshing credentials and retrying once", self.system, call,
                        extra={"system": self.system, "call": call, "status": 401, "wait": 0.0})
            self._count(self.retries, key)
            on_unauthorized(first.response)
            try:
                return self._with_retries(method, url, call, key, idempotent, check, False, kwargs)
            except _Unauthorized as second:  # pragma: no cover - can_refresh is False on the second round
                raise self.error_for(Verdict(Outcome.FAIL, "HTTP 401", 401), call, second.response) from None

    def _with_retries(self, method: str, url: str, call: str, key: str, idempotent: bool, check: bool,
                      can_refresh: bool, kwargs: dict[str, Any]) -> requests.Response:
        def attempt() -> requests.Response:
            return self._attempt(method, url, call, key, idempotent, check, can_refresh, kwargs)

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Retry) and exc.verdict.retry_after is not None:
                return exc.verdict.retry_after
            return self._backoff(state.attempt_number)

        def stop(state: tenacity.RetryCallState) -> bool:
            return (state.attempt_number > self.max_retries
                    or state.idle_for + state.upcoming_sleep > self.max_total_wait)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            verdict = exc.verdict if isinstance(exc, _Retry) else None
            self._count(self.retries, key)
            log.warning(
                "%s %s: %s; retry %d/%d in %.1f s", self.system, call,
                verdict.reason if verdict else "error", state.attempt_number, self.max_retries,
                state.upcoming_sleep,
                extra={"system": self.system, "call": call, "status": verdict.status if verdict else None,
                       "reason": verdict.reason if verdict else "error", "wait": state.upcoming_sleep},
            )

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retry),
            wait=wait,
            stop=stop,
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=False,
        )
        try:
            return retrying(attempt)
        except tenacity.RetryError as gave_up:
            last = gave_up.last_attempt.exception()
            if isinstance(last, _Retry):
                raise last.error from None
            raise  # pragma: no cover - only _Retry is retried

    def _attempt(self, method: str, url: str, call: str, key: str, idempotent: bool, check: bool,
                 can_refresh: bool, kwargs: dict[str, Any]) -> requests.Response:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **self._default_headers}
        if kwargs["headers"]:
            headers.update(kwargs["headers"])
        timeout = kwargs["timeout"] or self.timeout
        self._count(self.calls, key)
        started = time.monotonic()
        result: requests.Response | BaseException
        try:
            if self.limiter is not None:
                with self.limiter.slot():
                    result = self._send(method, url, headers, timeout, kwargs)
            else:
                result = self._send(method, url, headers, timeout, kwargs)
        except requests.exceptions.RequestException as exc:
            result = exc
        verdict = classify(result, idempotent=idempotent, can_refresh_auth=can_refresh,
                           retry_after_cap=self.retry_after_cap, now=self._now())
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s (%.0f ms)", self.system, call, verdict.reason,
                      (time.monotonic() - started) * 1000,
                      extra={"system": self.system, "call": call, "status": verdict.status})
        response = result if isinstance(result, requests.Response) else None
        if verdict.outcome is Outcome.OK:
            assert response is not None
            return response
        if verdict.outcome is Outcome.REFRESH_AUTH:
            assert response is not None
            raise _Unauthorized(response)
        if verdict.outcome is Outcome.RETRY:
            raise _Retry(verdict, self.error_for(verdict, call, response, exhausted=True))
        if response is not None and not check and not verdict.ambiguous:
            return response
        raise self.error_for(verdict, call, response) from None

    def _send(self, method: str, url: str, headers: dict[str, str], timeout: float,
              kwargs: dict[str, Any]) -> requests.Response:
        return self.session().request(
            method,
            url,
            params=kwargs["params"],
            json=kwargs["json_body"],
            data=kwargs["data"],
            headers=headers,
            auth=self.auth,
            timeout=(min(timeout, 15.0), timeout),
            verify=self.verify,
            allow_redirects=False,
        )


def json_of(response: requests.Response, *, system: str, call: str) -> Any:
    """The JSON body of a successful response, or a RemoteError that says what came instead."""
    if response.status_code == 204 or not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        kind = response.headers.get("Content-Type", "unknown content type")
        raise RemoteError(
            f"the answer was not JSON ({kind})", system=system, call=call, status=response.status_code,
            hint="a PHP notice, a maintenance page, a security plugin or a proxy may be answering instead",
        ) from None
