"""``wcbc serve``: the webhook receiver (plain WSGI, served by waitress) and its inbox worker.

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
      time with ours; each matching entry is stored (``source="business_central"``, topic =
      ``changeType``, resource_id = ``resource``, body = the entry without its ``clientState``), and the
      answer is 202.
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

``GET /healthz``
    ``{"status": "ok", "backlog": n, "last_processed_at": iso|null, "oldest_pending_age_s": s|null}``.

Anything else: 404; a known path with the wrong method: 405 with ``Allow``. Unexpected errors are logged
and answered 500 (BC retries a 5xx): no input crashes the service.

Headers are not authenticated by either system: the WooCommerce signature covers the body only, and a BC
notification carries no data at all. Stored rows are hints ("resource N changed"); the processor always
re-reads the resource before acting.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from wcbc.core.errors import SignatureError, WcbcError
from wcbc.webhooks.woo import headers_to_store, is_ping, parse_delivery, verify_signature

if TYPE_CHECKING:
    from wcbc.core.state import State

log = logging.getLogger("wcbc.server")

WOO_PATH = "/webhooks/woocommerce"
BC_PATH = "/webhooks/business-central"
HEALTH_PATH = "/healthz"
LAST_PROCESSED_CURSOR = "serve.last_processed_at"
RETRY_AFTER_S = 60
BC_MIN_MAX_BODY = 4 * 1024 * 1024
MAX_VALIDATION_TOKEN = 4096
BC_CHANGE_TYPES = ("created", "updated", "deleted", "collection")
_BC_KEPT_HEADERS = ("content-type", "user-agent", "clientrequestid", "x-ms-correlation-id")

SecretProvider = Callable[[], Mapping[str, Any]]
Processor = Callable[["State"], dict]
StateFactory = Callable[[], "State"]
WSGIApp = Callable[[dict, Callable[..., Any]], Iterable[bytes]]

_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            405: "Method Not Allowed", 411: "Length Required", 413: "Content Too Large",
            500: "Internal Server Error", 503: "Service Unavailable"}


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _printable(value: str | None, limit: int = 120) -> str:
    """A header value made safe for a log line (attackers choose these)."""
    if value is None:
        return "-"
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in value[:limit])
    return cleaned + ("..." if len(value) > limit else "")


class _Reply:
    __slots__ = ("status", "body", "headers")

    def __init__(self, status: int, body: bytes = b"", content_type: str = "text/plain; charset=utf-8",
                 headers: list[tuple[str, str]] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers = [("Content-Type", content_type), ("X-Content-Type-Options", "nosniff"),
                        ("Cache-Control", "no-store"), *(headers or [])]

    @classmethod
    def json(cls, status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> _Reply:
        return cls(status, json.dumps(data).encode(), "application/json", headers)

    @classmethod
    def text(cls, status: int, text: str, headers: list[tuple[str, str]] | None = None) -> _Reply:
        return cls(status, text.encode("utf-8"), headers=headers)


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


def _request_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = str(value)
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


def oldest_pending_age_s(state: State, now: datetime | None = None) -> float | None:
    """Age in seconds of the oldest inbox row not yet done, or None (empty, or not knowable)."""
    finder = getattr(state, "inbox_oldest_pending", None)
    received: Any = finder() if callable(finder) else _oldest_pending_from_db(state)
    if not received:
        return None
    try:
        if isinstance(received, int | float):
            at = datetime.fromtimestamp(float(received), UTC)
        else:
            at = datetime.fromisoformat(str(received).replace("Z", "+00:00"))
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    age = ((now or datetime.now(UTC)) - at).total_seconds()
    return round(max(age, 0.0), 1)


def _oldest_pending_from_db(state: State) -> Any:
    """State has no accessor for the oldest pending row: read the inbox table directly (read-only)."""
    db = getattr(state, "db", None)
    if db is None or "inbox" not in db.table_names():
        return None
    columns = {c.name for c in db["inbox"].columns}
    time_col = next((c for c in ("received_at", "created_at", "received") if c in columns), None)
    if time_col is None or "status" not in columns:
        return None
    row = db.execute(
        f"select min({time_col}) from inbox where status not in ('done', 'failed', 'on_hold')"  # noqa: S608
    ).fetchone()
    return row[0] if row else None


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
            log.exception("internal error answering %s %s", method, _printable(path))
            reply = _Reply.text(500, "internal error\n")
        body = b"" if method == "HEAD" else reply.body
        headers = [*reply.headers, ("Content-Length", str(len(reply.body)))]
        start_response(f"{reply.status} {_REASONS.get(reply.status, 'Unknown')}", headers)
        return [body]

    def _route(self, method: str, path: str, environ: dict) -> _Reply:
        if path == WOO_PATH:
            if method != "POST":
                return _Reply.text(405, "method not allowed\n", [("Allow", "POST")])
            return self._woocommerce(environ)
        if path == BC_PATH:
            query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
            if "validationToken" in query and method in ("GET", "POST"):
                return self._bc_handshake(query["validationToken"][0])
            if method != "POST":
                return _Reply.text(405, "method not allowed\n", [("Allow", "POST")])
            return self._business_central(environ)
        if path == HEALTH_PATH:
            if method not in ("GET", "HEAD"):
                return _Reply.text(405, "method not allowed\n", [("Allow", "GET, HEAD")])
            return self._health()
        return _Reply.text(404, "not found\n")

    # ------------------------------------------------------------------ helpers

    def _read_body(self, environ: dict, limit: int) -> bytes | _Reply:
        raw_length = str(environ.get("CONTENT_LENGTH", "") or "").strip()
        if not raw_length:
            return _Reply.text(411, "Content-Length required\n")
        if not raw_length.isdigit() or not raw_length.isascii():
            return _Reply.text(400, "bad Content-Length\n")
        length = int(raw_length)
        if length > limit:
            log.warning("refused a %d-byte body on %s from %s (limit %d)", length,
                        environ.get("PATH_INFO"), environ.get("REMOTE_ADDR", "?"), limit)
            return _Reply.text(413, "body too large\n")
        stream = environ.get("wsgi.input")
        body = stream.read(length) if (stream is not None and length) else b""
        if len(body) != length:
            return _Reply.text(400, "incomplete body\n")
        return body

    def _secrets(self) -> Mapping[str, Any]:
        try:
            return self.secret_provider() or {}
        except WcbcError as exc:
            log.error("cannot read the webhook secrets: %s", exc)
            return {}

    def _backlog_full(self, state: State) -> bool:
        now = time.monotonic()
        with self._backlog_lock:
            counted_at, count = self._backlog
            if now - counted_at >= 1.0:
                count = state.inbox_backlog()
                self._backlog = (now, count)
        return count >= self.max_backlog

    def _stored(self) -> None:
        with self._backlog_lock:
            counted_at, count = self._backlog
            self._backlog = (counted_at, count + 1)
        if self.on_stored is not None:
            try:
                self.on_stored()
            except Exception:
                log.exception("on_stored callback failed")

    # ------------------------------------------------------------------ WooCommerce

    def _woocommerce(self, environ: dict) -> _Reply:
        body = self._read_body(environ, self.max_body)
        if isinstance(body, _Reply):
            return body
        headers = _request_headers(environ)
        remote = environ.get("REMOTE_ADDR", "?")
        ping_id = is_ping(headers, body)
        if ping_id is not None:
            log.info("WooCommerce ping for webhook %d from %s", ping_id, remote)
            return _Reply.text(200, "ok\n")

        secret = self._secrets().get("woo_webhook_secret")
        secrets: list[str] = [secret] if isinstance(secret, str) else list(secret or [])
        try:
            verify_signature(body, headers.get("x-wc-webhook-signature"), secrets)
        except SignatureError as exc:
            level = logging.ERROR if not [s for s in secrets if s] else logging.WARNING
            log.log(level, "rejected WooCommerce delivery from %s: %s (topic %s, webhook %s, %d bytes)",
                    remote, exc.message, _printable(headers.get("x-wc-webhook-topic")),
                    _printable(headers.get("x-wc-webhook-id")), len(body))
            return _Reply.text(401, "invalid signature\n")

        delivery = parse_delivery(headers, body)
        key = ("woocommerce", delivery.topic, hashlib.sha256(body).digest())
        if self.recent.seen(key):
            log.info("WooCommerce delivery %s for %s %s repeats one already stored: not stored again",
                     delivery.topic, delivery.resource, delivery.resource_id)
            return _Reply.json(200, {"status": "duplicate"})
        if delivery.parse_error or delivery.resource_id is None:
            log.warning("WooCommerce delivery %s (webhook %s) has no readable resource id (%s): stored "
                        "for inspection", delivery.topic, delivery.webhook_id,
                        delivery.parse_error or f"error body {delivery.error_code}")
        with self.states.use() as state:
            if self._backlog_full(state):
                log.warning("inbox backlog at its limit (%d): refusing WooCommerce delivery %s %s",
                            self.max_backlog, delivery.topic, delivery.resource_id)
                return _Reply.text(503, "backlog full\n", [("Retry-After", str(RETRY_AFTER_S))])
            inbox_id = state.inbox_add("woocommerce", delivery.topic, delivery.resource_id, body,
                                       headers_to_store(headers))
        self.recent.add(key)
        log.info("stored WooCommerce %s for %s %s as inbox:%s", delivery.topic, delivery.resource,
                 delivery.resource_id, inbox_id)
        self._stored()
        return _Reply.json(200, {"status": "stored"})

    # ------------------------------------------------------------------ Business Central

    def _bc_handshake(self, token: str) -> _Reply:
        if len(token) > MAX_VALIDATION_TOKEN:
            return _Reply.text(400, "validationToken too long\n")
        log.info("answered a Business Central validation handshake")
        return _Reply.text(200, token)

    def _business_central(self, environ: dict) -> _Reply:
        body = self._read_body(environ, self.bc_max_body)
        if isinstance(body, _Reply):
            return body
        remote = environ.get("REMOTE_ADDR", "?")
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as exc:
            log.warning("ignored a Business Central notification from %s: body is not JSON (%s)",
                        remote, type(exc).__name__)
            return _Reply(202)
        entries = payload.get("value") if isinstance(payload, dict) else None
        if not isinstance(entries, list):
            log.warning("ignored a Business Central notification from %s: no \"value\" list", remote)
            return _Reply(202)

        expected = self._secrets().get("bc_client_state")
        expected_b = expected.encode("utf-8") if isinstance(expected, str) and expected else None
        accepted: list[dict] = []
        refused = 0
        for entry in entries:
            given = entry.get("clientState") if isinstance(entry, dict) else None
            given_b = given.encode("utf-8", "surrogatepass") if isinstance(given, str) else b""
            if expected_b is not None and isinstance(given, str) and hmac.compare_digest(given_b, expected_b):
                accepted.append(entry)
            else:
                refused += 1
        if refused:
            if expected_b is None:
                log.error("ignored %d Business Central notification(s): no clientState is configured",
                          refused)
            else:
                log.warning("ignored %d Business Central notification(s) from %s with a wrong or missing "
                            "clientState", refused, remote)
        if not accepted:
            return _Reply(202)

        headers = _request_headers(environ)
        kept_headers = {k: v for k, v in headers.items() if k in _BC_KEPT_HEADERS}
        with self.states.use() as state:
            if self._backlog_full(state):
                log.warning("inbox backlog at its limit (%d): refusing %d Business Central notification(s)",
                            self.max_backlog, len(accepted))
                return _Reply.text(503, "backlog full\n", [("Retry-After", str(RETRY_AFTER_S))])
            for entry in accepted:
                change = entry.get("changeType")
                topic = change.lower() if isinstance(change, str) and change.lower() in BC_CHANGE_TYPES \
                    else "unknown"
                resource = entry.get("resource")
                resource_id = resource[:4096] if isinstance(resource, str) and resource else None
                stored = {k: v for k, v in entry.items() if k != "clientState"}
                state.inbox_add("business_central", topic, resource_id,
                                json.dumps(stored, ensure_ascii=False, sort_keys=True).encode("utf-8"),
                                kept_headers)
        log.info("stored %d Business Central notification(s)", len(accepted))
        self._stored()
        return _Reply(202)

    # ------------------------------------------------------------------ health

    def _health(self) -> _Reply:
        try:
            with self.states.use() as state:
                backlog = state.inbox_backlog()
                oldest = oldest_pending_age_s(state)
                last = state.cursor_get(LAST_PROCESSED_CURSOR)
        except Exception:
            log.exception("health check cannot read the state")
            return _Reply.json(503, {"status": "error", "error": "state unreadable"})
        data: dict[str, Any] = {"status": "ok", "backlog": backlog, "last_processed_at": last,
                                "oldest_pending_age_s": oldest}
        if self.health_extra is not None:
            try:
                data.update(self.health_extra())
            except Exception:
                log.exception("health_extra callback failed")
        return _Reply.json(200, data)

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


# ---------------------------------------------------------------------------- inbox processing


def inbox_processor(
    handlers: Mapping[str, Callable[[State, dict], Any]],
    *,
    worker: str,
    limit: int = 100,
    lease_seconds: int = 300,
) -> Processor:
    """A processor that claims inbox rows per source (atomically, with a lease) and hands each to its
    handler: ``handlers = {"woocommerce": fn(state, row), "business_central": fn(state, row)}``.

    A handler that returns marks the row done; one that raises marks it failed with the error's message
    (WcbcError messages are secret-free by contract; other exceptions are logged with their traceback).
    If the process dies mid-row, the row stays claimed until its lease expires and is then claimable
    again (by serve or by a cron run). Returns ``{"claimed": n, "done": n, "failed": n}``.
    """

    def process(state: State) -> dict:
        summary = {"claimed": 0, "done": 0, "failed": 0}
        for source, handler in handlers.items():
            rows = state.inbox_claim(source, limit=limit, worker=worker, lease_seconds=lease_seconds)
            summary["claimed"] += len(rows)
            for row in rows:
                inbox_id = int(row["id"])
                try:
                    handler(state, row)
                except WcbcError as exc:
                    state.inbox_fail(inbox_id, exc.message[:1000])
                    summary["failed"] += 1
                    log.warning("inbox:%d (%s) failed: %s", inbox_id, source, exc.message)
                except Exception as exc:
                    state.inbox_fail(inbox_id, f"unexpected {type(exc).__name__}")
                    summary["failed"] += 1
                    log.exception("inbox:%d (%s) failed unexpectedly", inbox_id, source)
                else:
                    state.inbox_done(inbox_id)
                    summary["done"] += 1
        return summary

    return process


# ---------------------------------------------------------------------------- the service


class Service:
    """waitress serving :class:`WebhookApp` + one worker thread calling ``processor(state)``.

    The worker runs at start (a backlog left by a previous run is drained first), whenever a request
    stored something, and every ``interval`` seconds. When the processor's result says ``claimed > 0``
    it is called again at once (up to ``max_rounds`` times in a row) so that a large backlog drains
    without waiting for the interval. Exceptions from the processor are logged; the worker carries on.
    """

    def __init__(
        self,
        *,
        state_factory: StateFactory,
        secret_provider: SecretProvider,
        processor: Processor | None,
        host: str = "127.0.0.1",
        port: int = 0,
        workers: int = 4,
        max_body: int = 1_048_576,
        max_backlog: int = 100_000,
        interval: float = 60.0,
        channel_timeout: int = 30,
        trusted_proxy: str | None = None,
        max_rounds: int = 50,
    ) -> None:
        self.host = host
        self.port = port
        self.workers = max(1, workers)
        self.interval = interval
        self.channel_timeout = channel_timeout
        self.trusted_proxy = trusted_proxy
        self.max_rounds = max(1, max_rounds)
        self.processor = processor
        self.state_factory = state_factory
        self.app = make_app(state_factory=state_factory, secret_provider=secret_provider,
                            max_body=max_body, max_backlog=max_backlog, on_stored=self.trigger,
                            health_extra=self._health_extra)
        self.runs = 0
        self.last_result: dict | None = None
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._server: Any = None
        self._server_thread: threading.Thread | None = None
        self._worker_thread: threading.Thread | None = None
        self._bound: tuple[str, int] | None = None
        self._worker_state: State | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Service:
        """Open the state (raising StateError here, not in a thread), bind, start serving and working."""
        import waitress

        # Opened before any thread: a fresh state file is created and migrated exactly once.
        self._worker_state = self.state_factory()

        kwargs: dict[str, Any] = {
            "host": self.host, "port": self.port, "threads": self.workers,
            "max_request_body_size": self.app.bc_max_body, "channel_timeout": self.channel_timeout,
            "ident": "wcbc", "clear_untrusted_proxy_headers": True,
        }
        if self.trusted_proxy:
            kwargs.update(trusted_proxy=self.trusted_proxy, trusted_proxy_headers={"x-forwarded-for"})
        self._server = waitress.create_server(self.app, **kwargs)
        if hasattr(self._server, "effective_port"):
            self._bound = (str(self._server.effective_host), int(self._server.effective_port))
        else:  # several sockets (a host name resolving to IPv4 and IPv6): report the first
            host, port = self._server.effective_listen[0][:2]
            self._bound = (str(host), int(port))
        self._server_thread = threading.Thread(target=self._serve, name="wcbc-serve", daemon=True)
        self._server_thread.start()
        self._worker_thread = threading.Thread(target=self._work, name="wcbc-worker", daemon=True)
        self._worker_thread.start()
        log.info("serving webhooks on %s", self.url)
        return self

    @property
    def url(self) -> str:
        if self._bound is None:
            raise RuntimeError("Service not started")
        host, port = self._bound
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def _serve(self) -> None:
        try:
            self._server.run()
        except Exception:
            if not self._stopping.is_set():
                log.exception("the HTTP server stopped unexpectedly")

    def trigger(self) -> None:
        """Wake the worker (called after each stored delivery)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting requests, let the worker finish its current round, close the states."""
        if self._server is None:
            return
        self._stopping.set()
        self._wake.set()
        from waitress import wasyncore

        server, self._server = self._server, None
        try:
            server.task_dispatcher.shutdown(timeout=timeout)
        except Exception:
            log.debug("waitress task dispatcher shutdown", exc_info=True)
        socket_map = getattr(server, "_map", None) or getattr(server, "map", None)

        def close_sockets() -> None:
            try:
                if socket_map is not None:
                    wasyncore.close_all(socket_map)
                else:
                    server.close()
            except Exception:
                log.debug("closing waitress sockets", exc_info=True)

        trigger = getattr(server, "trigger", None)
        if trigger is not None and self._server_thread is not None and self._server_thread.is_alive():
            # run the close inside the event loop thread: its loop then ends at once (empty socket map)
            trigger.pull_trigger(close_sockets)
            self._server_thread.join(timeout)
        if self._server_thread is not None and self._server_thread.is_alive():
            close_sockets()
            self._server_thread.join(timeout)
        if self._worker_thread is not None:
            self._worker_thread.join(timeout)
        self.app.close()
        log.info("webhook server stopped")

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """For ``wcbc serve``: start, block until SIGINT/SIGTERM, stop cleanly."""
        import signal

        done = threading.Event()

        def _stop(signum: int, frame: Any) -> None:
            done.set()

        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            while not done.wait(1.0):
                if self._worker_thread is not None and not self._worker_thread.is_alive():
                    log.error("the inbox worker died; stopping")
                    break
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # ------------------------------------------------------------------ worker

    def _health_extra(self) -> dict[str, Any]:
        alive = self._worker_thread is not None and self._worker_thread.is_alive()
        return {"worker": "running" if alive else "stopped", "worker_runs": self.runs,
                "last_error": self.last_error}

    def _work(self) -> None:
        state: State | None = self._worker_state
        try:
            if state is None:
                state = self.state_factory()
            first = True
            while not self._stopping.is_set():
                if not first:
                    self._wake.wait(self.interval)
                first = False
                self._wake.clear()
                if self._stopping.is_set():
                    break
                self._run_rounds(state)
        except Exception:
            log.exception("the inbox worker cannot start")
        finally:
            if state is not None:
                try:
                    state.close()
                except Exception:
                    log.debug("closing the worker's state", exc_info=True)

    def _run_rounds(self, state: State) -> None:
        if self.processor is None:
            return
        for _ in range(self.max_rounds):
            try:
                result = self.processor(state) or {}
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"[:500] if isinstance(exc, WcbcError) \
                    else type(exc).__name__
                log.exception("inbox processing failed")
                return
            self.runs += 1
            self.last_result = result
            self.last_error = None
            try:
                state.cursor_set(LAST_PROCESSED_CURSOR, utcnow_iso())
            except Exception:
                log.exception("cannot record the last processing time")
            claimed = result.get("claimed", 0) if isinstance(result, Mapping) else 0
            if not isinstance(claimed, int) or claimed <= 0 or self._stopping.is_set():
                return

