"""WooCommerce webhook deliveries: signature check, ping recognition, minimal parsing.

What WooCommerce sends (contracts woocommerce.md section 1, confirmed by the real-store recordings):

* A delivery is a POST whose body is ``trim(wp_json_encode(payload))``: ``/`` is escaped as ``\\/`` and
  non-ASCII is written as ``\\uXXXX``. ``X-WC-Webhook-Signature`` is standard, padded base64 of the raw
  HMAC-SHA256 digest of **those exact bytes**, keyed by the webhook secret. The signature is therefore
  checked over the raw bytes, in constant time, before anything parses them; the body is never
  re-serialised.
* The signature covers the body only. The ``X-WC-Webhook-*`` headers (topic, id, delivery id) are *not*
  authenticated: a delivery is only ever a hint that "resource N changed"; the processor re-reads the
  resource from the REST API before acting on it.
* The ping sent when a webhook is created is an unsigned form POST ``webhook_id=<id>`` with no
  ``X-WC-Webhook-*`` header at all. It only counts as passed on exactly HTTP 200.
* ``X-WC-Webhook-Delivery-ID`` is ``wp_hash(webhook id . second)``: NOT unique. Never deduplicate on it.

Parsing decisions (see :func:`parse_delivery`):

* ``resource_id`` is the body's top-level ``"id"`` (an integer, or a string of digits), as a string.
* A body that is valid JSON but has no usable ``id`` -- WooCommerce signs and delivers a REST error object
  such as ``{"code": "woocommerce_rest_cannot_view", ...}`` when the webhook's owner may not read the
  resource, or ``{"action": ..., "arg": ...}`` for ``action.*`` topics -- is still a genuine delivery:
  it is kept with ``resource_id=None`` and ``error_code`` set from ``"code"`` when there is one. The
  processor must treat a ``None`` resource id as "something of this resource type changed: fall back to
  the modified-date poll".
* A signed body that is not JSON at all (or is nested too deeply to parse) is kept the same way, with
  ``parse_error`` saying why, so that it can be inspected; it is not a reason to answer an error.

Secrets: WooCommerce keys the HMAC with ``wp_specialchars_decode(secret, ENT_QUOTES)``. A secret that
contains ``&amp;``, ``&lt;``, ``&gt;``, ``&quot;`` or ``&#039;`` is therefore also tried decoded. wcbc
always creates webhooks with its own plain alphanumeric secret, so this only matters for hand-made ones.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wcbc.core.errors import SignatureError
from wcbc.webhooks.reply import STATE_ERRORS, Reply, printable, request_headers

if TYPE_CHECKING:
    from wcbc.webhooks.app import WebhookApp

log = logging.getLogger("wcbc.server")

SOURCE = "woocommerce"

SIGNATURE_HEADER = "x-wc-webhook-signature"
WC_HEADER_PREFIX = "x-wc-webhook-"
_DIGEST_SIZE = hashlib.sha256().digest_size  # 32 bytes
_B64_SIG_LEN = 44  # base64 of 32 bytes, padded
_PING_RE = re.compile(rb"webhook_id=([0-9]{1,18})")
_TOPIC_RE = re.compile(r"[a-z_]{1,40}\.[A-Za-z0-9_]{1,120}")
_DIGITS_RE = re.compile(r"[0-9]{1,18}")
_MAX_HEADER_VALUE = 512

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class Delivery:
    """The minimal, already-verified facts of one WooCommerce delivery."""

    topic: str                 # e.g. "order.updated"; "unknown" when the header is absent or garbled
    resource: str              # e.g. "order"
    event: str                 # e.g. "updated"
    resource_id: str | None    # the body's "id"; None for error bodies, action topics, unparsable bodies
    webhook_id: int | None     # X-WC-Webhook-ID (not authenticated)
    delivery_id: str | None    # X-WC-Webhook-Delivery-ID (not unique, not authenticated)
    source: str | None         # X-WC-Webhook-Source: the store's home URL with a trailing slash
    error_code: str | None = None   # "code" of a REST error body, when the body is one
    parse_error: str | None = None  # why the body could not be read as JSON, when it could not


def normalise_headers(headers: Headers | None) -> dict[str, str]:
    """Lower-case header names -> value (the last one wins). Accepts a mapping or (name, value) pairs."""
    if headers is None:
        return {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {str(name).lower(): str(value) for name, value in items}


def _secret_keys(secret: str) -> list[bytes]:
    keys = [secret.encode("utf-8")]
    decoded = (
        secret.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
        .replace("&#039;", "'").replace("&amp;", "&")
    )
    if decoded != secret:
        keys.append(decoded.encode("utf-8"))
    return keys


def compute_signature(raw_body: bytes, secret: str) -> str:
    """``X-WC-Webhook-Signature`` for ``raw_body``: base64(HMAC-SHA256(secret, body)), padded."""
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(raw_body: bytes, header: str | None, secret: str | Iterable[str]) -> None:
    """Check ``X-WC-Webhook-Signature`` over the raw body; raise :class:`SignatureError` if it fails.

    ``secret`` may be one secret or several (during a rotation: the new and the old one). The header
    must be padded standard base64 of a 32-byte digest; hex, unpadded or URL-safe forms are refused.
    The comparison is :func:`hmac.compare_digest` over the decoded digest bytes. Messages never hold
    the secret, the header value or the body.
    """
    if header is None or not header.strip():
        raise SignatureError("webhook signature missing (no X-WC-Webhook-Signature header)")
    value = header.strip()
    if len(value) != _B64_SIG_LEN:
        raise SignatureError("webhook signature malformed (not base64 of a SHA-256 digest)")
    try:
        given = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise SignatureError("webhook signature malformed (not base64 of a SHA-256 digest)") from None
    if len(given) != _DIGEST_SIZE:
        raise SignatureError("webhook signature malformed (not base64 of a SHA-256 digest)")
    secrets = [secret] if isinstance(secret, str) else [s for s in secret if s]
    if not secrets or not all(secrets):
        raise SignatureError("webhook signature cannot be checked: no webhook secret is configured")
    ok = False
    for one in secrets:
        for key in _secret_keys(one):
            expected = hmac.new(key, raw_body, hashlib.sha256).digest()
            # no early exit: every candidate key is always tried
            ok = hmac.compare_digest(expected, given) or ok
    if not ok:
        raise SignatureError("webhook signature does not match the body")


def has_wc_headers(headers: Headers | None) -> bool:
    """True when any ``X-WC-Webhook-*`` header is present."""
    return any(name.startswith(WC_HEADER_PREFIX) for name in normalise_headers(headers))


def is_ping(headers: Headers | None, body: bytes) -> int | None:
    """The webhook id if this request is WooCommerce's ping (unsigned form ``webhook_id=N``), else None.

    A request carrying any ``X-WC-Webhook-*`` header is never a ping: a delivery cannot skip its
    signature check by pretending to be one.
    """
    if has_wc_headers(headers):
        return None
    match = _PING_RE.fullmatch(body.strip())
    return int(match.group(1)) if match else None


def _clean_header(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > _MAX_HEADER_VALUE or not value.isprintable():
        return None
    return value


def _resource_id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return str(value)
    if isinstance(value, str) and _DIGITS_RE.fullmatch(value):
        return str(int(value))
    return None


def parse_delivery(headers: Headers | None, raw_body: bytes) -> Delivery:
    """Read the minimal fields of a delivery whose signature was ALREADY verified.

    Never raises on content: an unreadable body gives ``resource_id=None`` with ``parse_error`` set.
    """
    h = normalise_headers(headers)
    topic = _clean_header(h.get("x-wc-webhook-topic"))
    if topic is None or not _TOPIC_RE.fullmatch(topic):
        resource_h = _clean_header(h.get("x-wc-webhook-resource"))
        event_h = _clean_header(h.get("x-wc-webhook-event"))
        candidate = f"{resource_h}.{event_h}" if resource_h and event_h else ""
        topic = candidate if _TOPIC_RE.fullmatch(candidate) else "unknown"
    resource, _, event = topic.partition(".")
    webhook_id_h = _clean_header(h.get("x-wc-webhook-id"))
    webhook_id = int(webhook_id_h) if webhook_id_h and _DIGITS_RE.fullmatch(webhook_id_h) else None

    resource_id: str | None = None
    error_code: str | None = None
    parse_error: str | None = None
    try:
        payload = json.loads(raw_body)
    except RecursionError:
        parse_error = "body is nested too deeply"
    except (ValueError, UnicodeDecodeError) as exc:
        parse_error = f"body is not JSON: {type(exc).__name__}"
    else:
        if isinstance(payload, dict):
            resource_id = _resource_id(payload.get("id"))
            code = payload.get("code")
            if resource_id is None and isinstance(code, str):
                error_code = code[:200]
        else:
            parse_error = f"body is JSON but not an object ({type(payload).__name__})"
    return Delivery(
        topic=topic,
        resource=resource,
        event=event,
        resource_id=resource_id,
        webhook_id=webhook_id,
        delivery_id=_clean_header(h.get("x-wc-webhook-delivery-id")),
        source=_clean_header(h.get("x-wc-webhook-source")),
        error_code=error_code,
        parse_error=parse_error,
    )


def verify_and_parse(headers: Headers | None, raw_body: bytes, secret: str | Iterable[str]) -> Delivery:
    """:func:`verify_signature` with the request's signature header, then :func:`parse_delivery`."""
    h = normalise_headers(headers)
    verify_signature(raw_body, h.get(SIGNATURE_HEADER), secret)
    return parse_delivery(h, raw_body)


def headers_to_store(headers: Headers | None) -> dict[str, str]:
    """The headers worth keeping with a stored delivery: never the signature, auth or cookies."""
    dropped = {SIGNATURE_HEADER, "authorization", "proxy-authorization", "cookie"}
    return {name: value for name, value in normalise_headers(headers).items() if name not in dropped}


# ----------------------------------------------------------------------------- the route


def receive(app: WebhookApp, environ: dict, body: bytes) -> Reply:
    """``POST /webhooks/woocommerce`` after the body limit: the ping -> 200; a bad signature -> 401, nothing
    stored; a replay -> 200, not stored again; a full backlog -> 503; else stored (committed), then 200."""
    headers = request_headers(environ)
    remote = environ.get("REMOTE_ADDR", "?")
    ping_id = is_ping(headers, body)
    if ping_id is not None:
        log.info("WooCommerce ping for webhook %d from %s", ping_id, remote)
        return Reply.text(200, "ok\n")

    secret = app.secrets().get("woo_webhook_secret")
    secrets: list[str] = [secret] if isinstance(secret, str) else list(secret or [])
    try:
        delivery = verify_and_parse(headers, body, secrets)
    except SignatureError as exc:
        level = logging.ERROR if not [s for s in secrets if s] else logging.WARNING
        log.log(level, "rejected WooCommerce delivery from %s: %s (topic %s, webhook %s, %d bytes)",
                remote, exc.message, printable(headers.get("x-wc-webhook-topic")),
                printable(headers.get("x-wc-webhook-id")), len(body))
        return Reply.text(401, "invalid signature\n")

    key = (SOURCE, delivery.topic, hashlib.sha256(body).digest())
    if app.recent.seen(key):
        log.info("WooCommerce delivery %s for %s %s repeats one already stored: not stored again",
                 delivery.topic, delivery.resource, delivery.resource_id)
        return Reply.json(200, {"status": "duplicate"})
    if delivery.parse_error or delivery.resource_id is None:
        log.warning("WooCommerce delivery %s (webhook %s) has no readable resource id (%s): stored "
                    "for inspection", delivery.topic, delivery.webhook_id,
                    delivery.parse_error or f"error body {delivery.error_code}")
    try:
        with app.states.use() as state:
            if app.backlog_full(state):
                log.warning("inbox backlog at its limit (%d): refusing WooCommerce delivery %s %s",
                            app.max_backlog, delivery.topic, delivery.resource_id)
                return Reply.backlog_full()
            inbox_id = state.inbox_add(SOURCE, delivery.topic, delivery.resource_id, body,
                                       headers_to_store(headers))
    except STATE_ERRORS as exc:
        return app.state_failed(exc, f"WooCommerce delivery {delivery.topic} {delivery.resource_id}")
    app.recent.add(key)
    log.info("stored WooCommerce %s for %s %s as inbox:%s", delivery.topic, delivery.resource,
             delivery.resource_id, inbox_id)
    app.stored(1)
    return Reply.json(200, {"status": "stored"})
