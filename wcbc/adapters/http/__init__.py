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

from wcbc.adapters.http.classify import (
    DEFAULT_MAX_TOTAL_WAIT,
    DEFAULT_RETRY_AFTER_CAP,
    IDEMPOTENT_METHODS,
    NOT_PROCESSED_STATUSES,
    RETRY_STATUSES,
    ErrorDecoder,
    Outcome,
    Verdict,
    classify,
    describe_exception,
    error_class,
    parse_retry_after,
)
from wcbc.adapters.http.client import USER_AGENT, HttpClient
from wcbc.adapters.http.decode import default_error_decoder, default_route, json_of, path_of
from wcbc.core.errors import AmbiguousWriteError

__all__ = [
    "DEFAULT_MAX_TOTAL_WAIT", "DEFAULT_RETRY_AFTER_CAP", "IDEMPOTENT_METHODS", "NOT_PROCESSED_STATUSES",
    "RETRY_STATUSES", "USER_AGENT", "AmbiguousWriteError", "ErrorDecoder", "HttpClient", "Outcome", "Verdict",
    "classify", "default_error_decoder", "default_route", "describe_exception", "error_class", "json_of",
    "parse_retry_after", "path_of",
]
