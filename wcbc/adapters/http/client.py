"""``HttpClient``: every request wcbc sends (sessions, timeouts, retries, counters, redaction)."""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import tenacity

import wcbc
from wcbc.adapters.http.classify import (
    DEFAULT_MAX_TOTAL_WAIT,
    DEFAULT_RETRY_AFTER_CAP,
    IDEMPOTENT_METHODS,
    ErrorDecoder,
    Outcome,
    Verdict,
    classify,
    error_class,
)
from wcbc.adapters.http.decode import default_error_decoder, default_route, path_of
from wcbc.core.errors import AmbiguousWriteError, RemoteError, UnreachableError
from wcbc.core.redact import Redactor
from wcbc.core.time import utcnow

log = logging.getLogger("wcbc.http")

USER_AGENT = f"wcbc/{wcbc.__version__}"


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


def skew_from(last_date: tuple[str, float, float] | None) -> float | None:
    """Remote clock minus this host's, in seconds, from (a Date header, this host's time when the request
    was sent, when its answer came). A Date has a resolution of one second: the remote time is taken as
    Date + 0.5 s at the middle of the request (error: half a second plus half the round trip)."""
    if not last_date:
        return None
    header, sent, received = last_date
    try:
        remote = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    if remote.tzinfo is None:  # HTTP dates are GMT; one without a zone is not trusted
        return None
    return round(remote.timestamp() + 0.5 - (sent + received) / 2, 1)


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
        self._now = now or utcnow
        self._rng = rng
        self._default_headers = dict(default_headers or {})
        self._shared_session = session
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self.calls: collections.Counter[str] = collections.Counter()
        self.retries: collections.Counter[str] = collections.Counter()
        # the last answer's Date header, with this host's clock (epoch s) when it was asked and answered
        self.last_date: tuple[str, float, float] | None = None
        self._last_date_mono = 0.0  # time.monotonic() in the middle of the request that brought last_date

    # ----------------------------------------------------------------- plumbing
    def add_secret(self, value: str) -> None:
        """Register one more value that must never appear in a message (e.g. a fresh token)."""
        self._redactor.add(value)

    def redact(self, text: str) -> str:
        """The secrets (also inside base64: the Basic credential) and every credential carrier masked."""
        return self._redactor(text)

    def clock_skew(self) -> float | None:
        """The remote clock minus this host's, in seconds, from the last answer's Date header (None
        without one): see :func:`skew_from`."""
        return skew_from(self.last_date)

    def remote_now(self) -> datetime | None:
        """The remote system's current time: the last answer's Date (+0.5 s, see :func:`skew_from`) plus
        the time elapsed here since, on the monotonic clock (a jump of this host's clock does not move it);
        None without a Date."""
        reading = self.last_date
        if not reading:
            return None
        try:
            remote = parsedate_to_datetime(reading[0])
        except (TypeError, ValueError, IndexError):
            return None
        if remote.tzinfo is None:
            return None
        return remote.astimezone(UTC) + timedelta(seconds=0.5 + time.monotonic() - self._last_date_mono)

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
        label: str | None = None,
    ) -> requests.Response:
        """Send one logical call (with retries) and return the final response.

        ``check=False`` returns a final 4xx response instead of raising (retryable statuses are still
        retried, and still raise when the cap is reached). ``on_unauthorized`` makes a 401 refreshable once.
        ``label`` replaces the URL's path in logs, messages and counters, for URLs whose path is itself a
        credential (chat webhooks, heartbeat URLs).
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        call = f"{method} {label or path_of(url)}"
        key = route or (call if label else self.route(method, url))
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
                    sent_at, sent_mono = time.time(), time.monotonic()
                    result = self._send(method, url, headers, timeout, kwargs)
            else:
                sent_at, sent_mono = time.time(), time.monotonic()
                result = self._send(method, url, headers, timeout, kwargs)
        except requests.exceptions.RequestException as exc:
            result = exc
        if isinstance(result, requests.Response) and result.headers.get("Date"):
            self.last_date = (result.headers["Date"], sent_at, time.time())
            self._last_date_mono = (sent_mono + time.monotonic()) / 2
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
