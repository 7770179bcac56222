"""``wcbc serve``'s webhook receiver: the WSGI routing (served by waitress, see :mod:`wcbc.webhooks.service`).

Run it behind a reverse proxy that terminates TLS on 443: WordPress only delivers webhooks to ports 80,
443 and 8080, and Business Central only to https. The receiver does the least possible work per request:
check, store in the state inbox (one committed transaction), answer. A background worker drains the
inbox by calling the caller's ``processor`` whenever something was stored and every ``interval`` seconds.

Routes
======

``POST /webhooks/woocommerce``
    * body limit: ``Content-Length`` above ``max_body`` -> 413; no ``Content-Length`` -> 411 (RFC 9110's
      "Length Required"; waitress turns a chunked body into a counted one before we see it, and a
      garbled ``Content-Length`` is refused by waitress with 400). Nothing is stored.
    * the ping (unsigned form ``webhook_id=N``, no ``X-WC-Webhook-*`` header) -> 200: WooCommerce only
      counts a ping as passed on exactly 200 and re-pings after every failed delivery until one passes.
    * otherwise the signature is checked over the raw bytes, in constant time, before any parsing.
      Missing, forged, truncated -> 401, nothing stored, one WARNING line (never the body, never the
      signature).
    * **A correctly signed body that is not JSON (or has no ``id``) is stored and answered 200.** The
      signature proves WooCommerce sent it; WooCommerce never redelivers, so a 4xx would lose nothing
      less, but every non-2xx counts toward auto-disabling the webhook after 7 in a row. It is stored
      with ``resource_id = None`` so that it can be inspected, and the processor falls back to the poll.
    * a byte-identical body for the same topic that was already stored in the last 24 hours (a replay)
      is answered 200 and not stored again. WooCommerce's signature carries no timestamp and the
      delivery id is not unique, so replays cannot be refused outright; processing is idempotent anyway
      (the processor re-reads the resource), this only keeps a replay flood out of the inbox.
    * **backlog at or above ``max_backlog`` -> 503 with ``Retry-After``.** Trade-off: WooCommerce does
      not retry and counts the 503 as a failure (7 in a row disable the webhook: ``wcbc webhooks check
      --repair`` recreates it), but accepting more would let the state file grow without bound while the
      worker is stuck. The orders poll (``modified_after``) recovers every change that was refused.
    * stored with ``source="woocommerce"``, the topic header, the body's ``id`` and the request headers
      minus the signature; 200 is sent only after ``State.inbox_add`` has committed.

``POST /webhooks/business-central`` (and ``GET`` for the handshake)
    * ``?validationToken=...`` on any method -> 200 ``text/plain`` with the (URL-decoded) token, at once,
      without touching the state: BC gives the handshake 5 seconds, on creation and on every renewal.
    * otherwise a notification ``{"value": [...]}``. Each entry's ``clientState`` is compared in constant
      time with ours; the matching entries are stored in one transaction (``source="business_central"``,
      topic = ``changeType``, resource_id = ``resource``, body = the entry without its ``clientState``),
      and the answer is 202.
    * **A wrong or missing clientState, malformed JSON or an unexpected shape: 202, nothing stored, one
      WARNING.** BC treats any 4xx other than 408/429 as fatal and deletes *every* subscription that
      shares the notification URL, with their pending notifications, because it sends one merged POST per
      URL. A genuine BC POST can legitimately carry an entry we do not recognise (a leftover subscription
      from an older install or from before a clientState rotation, on the same URL): refusing it would
      make BC delete our good subscriptions too. A forged request gains nothing from a 202 (nothing is
      stored, and it learns nothing it could not learn from a 401).
    * backlog full -> 503 with ``Retry-After``: BC retries 5xx (at +1, +1, +10, +100, +1000 minutes),
      then deletes the subscription; ``wcbc renew-subscriptions`` recreates it.
    * a BC body may be up to ``max(max_body, 4 MiB)``: one POST merges the notifications of every
      subscription on the URL (up to 1,000 entries each before BC collapses them).

Where: the WooCommerce route in :mod:`wcbc.webhooks.woo`, the BC routes in :mod:`wcbc.webhooks.bc`, the
service and its worker thread in :mod:`wcbc.webhooks.service`.

``GET /healthz``
    ``{"status": "ok", "backlog": n, "last_processed_at": iso|null, "oldest_pending_age_s": s|null}``.

Anything else: 404; a known path with the wrong method: 405 with ``Allow``. A state DB that cannot store
(disk full, read-only file: :data:`~wcbc.webhooks.reply.STATE_ERRORS`) -> 503 with ``Retry-After``, one
ERROR line naming the cause, nothing stored. Other unexpected errors are logged and answered 500 (BC
retries a 5xx): no input crashes the service. Connection limits and timeouts: :mod:`wcbc.webhooks.guard`.

Headers are not authenticated by either system: the WooCommerce signature covers the body only, and a BC
notification carries no data at all. Stored rows are hints ("resource N changed"); the processor always
re-reads the resource before acting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from wcbc.core.errors import WcbcError
from wcbc.core.time import age_s
from wcbc.sync.common.cursors import SERVE_LAST_PROCESSED
from wcbc.webhooks import bc, woo
from wcbc.webhooks.bc import BC_MIN_MAX_BODY
from wcbc.webhooks.reply import REASONS, RETRY_AFTER_S, Reply, printable, read_body
from wcbc.webhooks.urls import BC_PATH, HEALTH_PATH, WOO_PATH

if TYPE_CHECKING:
    from wcbc.core.state import State

log = logging.getLogger("wcbc.server")


__all__ = ["BC_MIN_MAX_BODY", "BC_PATH", "HEALTH_PATH", "RETRY_AFTER_S", "WOO_PATH",
           "WebhookApp", "make_app", "oldest_pending_age_s"]

SecretProvider = Callable[[], Mapping[str, Any]]
StateFactory = Callable[[], "State"]
WSGIApp = Callable[[dict, Callable[..., Any]], Iterable[bytes]]


class _StateAccess:
    """One State per thread (sqlite connections belong to the thread that opened them), or one shared
    State behind a lock when the caller gave a single object."""

    def __init__(self, factory: StateFactory | None, shared: State | None) -> None:
        if factory is None and shared is None:
            raise ValueError("make_app needs state_factory= or state=")
        self._factory = factory
        self._shared = shared
        self._lock = threading.RLock()
        self._local = threading.local()
        self._opened: list[State] = []

    @contextmanager
    def use(self) -> Iterator[State]:
        if self._factory is None:
            assert self._shared is not None
            with self._lock:
                yield self._shared
            return
        state = getattr(self._local, "state", None)
        if state is None:
            state = self._factory()
            self._local.state = state
            with self._lock:
                self._opened.append(state)
        yield state

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for state in opened:
            try:
                state.close()
            except Exception:  # noqa: S110 - a connection owned by another (finished) thread
                pass


class _RecentBodies:
    """(source, topic, sha256(body)) seen in the last ``window_s`` seconds, bounded in size."""

    def __init__(self, window_s: float = 86_400.0, max_entries: int = 100_000) -> None:
        self._window = window_s
        self._max = max_entries
        self._seen: OrderedDict[tuple[str, str, bytes], float] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, key: tuple[str, str, bytes]) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._seen:
                oldest_key, at = next(iter(self._seen.items()))
                if now - at <= self._window and len(self._seen) <= self._max:
                    break
                del self._seen[oldest_key]
            return key in self._seen

    def add(self, key: tuple[str, str, bytes]) -> None:
        with self._lock:
            self._seen[key] = time.monotonic()
            self._seen.move_to_end(key)


def oldest_pending_age_s(state: State, now: datetime | None = None) -> float | None:
    """Age in seconds of the oldest inbox row not yet done, or None (empty, or not knowable)."""
    age = age_s(state.inbox_oldest_pending(), now)
    return None if age is None else round(max(age, 0.0), 1)


class WebhookApp:
    """The WSGI callable. Build it with :func:`make_app`."""

    def __init__(
        self,
        *,
        state_factory: StateFactory | None,
        state: State | None,
        secret_provider: SecretProvider,
        max_body: int,
        max_backlog: int,
        on_stored: Callable[[], None] | None,
        health_extra: Callable[[], Mapping[str, Any]] | None,
    ) -> None:
        if max_body < 1:
            raise ValueError("max_body must be positive")
        self.states = _StateAccess(state_factory, state)
        self.secret_provider = secret_provider
        self.max_body = max_body
        self.bc_max_body = max(max_body, BC_MIN_MAX_BODY)
        self.max_backlog = max_backlog
        self.on_stored = on_stored
        self.health_extra = health_extra
        self.recent = _RecentBodies()
        # The backlog is counted at most once a second (COUNT grows with the inbox) and kept up to
        # date in between by counting what this process stores.
        self._backlog: tuple[float, int] = (0.0, 0)
        self._backlog_lock = threading.Lock()

    # ------------------------------------------------------------------ WSGI entry point

    def __call__(self, environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO", "") or "/")
        if len(path) > 1:
            path = path.rstrip("/")
        try:
            reply = self._route(method, path, environ)
        except Exception:
            log.exception("internal error answering %s %s", method, printable(path))
            reply = Reply.text(500, "internal error\n")
        body = b"" if method == "HEAD" else reply.body
        headers = [*reply.headers, ("Content-Length", str(len(reply.body)))]
        start_response(f"{reply.status} {REASONS.get(reply.status, 'Unknown')}", headers)
        return [body]

    def _route(self, method: str, path: str, environ: dict) -> Reply:
        if path == WOO_PATH:
            if method != "POST":
                return Reply.method_not_allowed("POST")
            body = read_body(environ, self.max_body)
            return body if isinstance(body, Reply) else woo.receive(self, environ, body)
        if path == BC_PATH:
            query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
            if "validationToken" in query and method in ("GET", "POST"):
                return bc.handshake(query["validationToken"][0])
            if method != "POST":
                return Reply.method_not_allowed("POST")
            body = read_body(environ, self.bc_max_body)
            return body if isinstance(body, Reply) else bc.receive(self, environ, body)
        if path == HEALTH_PATH:
            if method not in ("GET", "HEAD"):
                return Reply.method_not_allowed("GET, HEAD")
            return self._health()
        return Reply.text(404, "not found\n")

    # ------------------------------------------------------------------ what the routes share

    def secrets(self) -> Mapping[str, Any]:
        """The webhook secrets, read per request (a rotation needs no restart)."""
        try:
            return self.secret_provider() or {}
        except WcbcError as exc:
            log.error("cannot read the webhook secrets: %s", exc)
            return {}

    def backlog_full(self, state: State) -> bool:
        now = time.monotonic()
        with self._backlog_lock:
            counted_at, count = self._backlog
            if now - counted_at >= 1.0:
                count = state.inbox_backlog()
                self._backlog = (now, count)
        return count >= self.max_backlog

    def state_failed(self, exc: Exception, what: str) -> Reply:
        """The state DB refused to store ``what`` (disk full, read-only file, locked too long...): 503
        with Retry-After, logged as ours. Not 500: both count toward WooCommerce disabling the webhook,
        but a 503 says "retry" (BC does) and names the state DB as the cause in our log."""
        message = exc.message if isinstance(exc, WcbcError) else f"{type(exc).__name__}: {exc}"
        log.error("cannot store %s: state DB error: %s (answered 503; the poll recovers it)", what,
                  message[:500])
        return Reply.state_unavailable()

    def stored(self, count: int) -> None:
        """``count`` deliveries were committed: count them and wake the worker."""
        with self._backlog_lock:
            counted_at, backlog = self._backlog
            self._backlog = (counted_at, backlog + count)
        if self.on_stored is not None:
            try:
                self.on_stored()
            except Exception:
                log.exception("on_stored callback failed")

    # ------------------------------------------------------------------ health

    def _health(self) -> Reply:
        try:
            with self.states.use() as state:
                backlog = state.inbox_backlog()
                oldest = oldest_pending_age_s(state)
                last = state.cursor_get(SERVE_LAST_PROCESSED)
        except Exception:
            log.exception("health check cannot read the state")
            return Reply.json(503, {"status": "error", "error": "state unreadable"})
        data: dict[str, Any] = {"status": "ok", "backlog": backlog, "last_processed_at": last,
                                "oldest_pending_age_s": oldest}
        if self.health_extra is not None:
            try:
                data.update(self.health_extra())
            except Exception:
                log.exception("health_extra callback failed")
        return Reply.json(200, data)

    def close(self) -> None:
        self.states.close()


def make_app(
    *,
    state_factory: StateFactory | None = None,
    state: State | None = None,
    secret_provider: SecretProvider,
    max_body: int = 1_048_576,
    max_backlog: int = 100_000,
    on_stored: Callable[[], None] | None = None,
    health_extra: Callable[[], Mapping[str, Any]] | None = None,
) -> WebhookApp:
    """Build the WSGI app.

    ``state_factory`` (preferred) opens one State per serving thread; ``state`` is one shared State,
    used under a lock (it must then tolerate use from several threads). ``secret_provider()`` is called
    per request and returns ``{"woo_webhook_secret": str | list[str] | None, "bc_client_state": str |
    None}`` (a list of WooCommerce secrets is accepted during a rotation). ``on_stored()`` is called after
    each committed store (the Service uses it to wake its worker).
    """
    return WebhookApp(state_factory=state_factory, state=state, secret_provider=secret_provider,
                      max_body=max_body, max_backlog=max_backlog, on_stored=on_stored,
                      health_extra=health_extra)


def __getattr__(name: str) -> Any:
    """``Service`` and ``inbox_processor`` live in :mod:`wcbc.webhooks.service` (imported lazily: it
    imports this module)."""
    if name in ("Service", "inbox_processor", "service_from_context"):
        from wcbc.webhooks import service

        return getattr(service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
