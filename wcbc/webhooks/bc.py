"""Business Central on ``/webhooks/business-central``: the validation handshake and notifications.

The routes' behaviour is specified in :mod:`wcbc.webhooks.app`. Here: the handshake echoes the token at
once without touching the state; each notification entry's ``clientState`` is compared in constant time
with ours; the accepted entries of one POST are stored in ONE transaction (``State.batch()``), so that a
POST is stored whole or not at all; anything unexpected is answered 202 and not stored (a 4xx would make
BC delete every subscription on the URL).
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import TYPE_CHECKING, Any

from wcbc.webhooks.reply import STATE_ERRORS, Reply, request_headers

if TYPE_CHECKING:
    from wcbc.core.state import State
    from wcbc.webhooks.app import WebhookApp

log = logging.getLogger("wcbc.server")

SOURCE = "business_central"
BC_MIN_MAX_BODY = 4 * 1024 * 1024
MAX_VALIDATION_TOKEN = 4096
BC_CHANGE_TYPES = ("created", "updated", "deleted", "collection")
_BC_KEPT_HEADERS = ("content-type", "user-agent", "clientrequestid", "x-ms-correlation-id")


def handshake(token: str) -> Reply:
    """``?validationToken=...``: 200 ``text/plain`` with the (URL-decoded) token."""
    if len(token) > MAX_VALIDATION_TOKEN:
        return Reply.text(400, "validationToken too long\n")
    log.info("answered a Business Central validation handshake")
    return Reply.text(200, token)


def accepted_entries(entries: list[Any], expected: Any, remote: str) -> list[dict]:
    """The entries whose ``clientState`` equals ours (compared in constant time); the rest are logged."""
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
            log.error("ignored %d Business Central notification(s): no clientState is configured", refused)
        else:
            log.warning("ignored %d Business Central notification(s) from %s with a wrong or missing "
                        "clientState", refused, remote)
    return accepted


def store_notifications(state: State, accepted: list[dict], headers: dict[str, str]) -> None:
    """Store the accepted entries of one POST in one transaction (all or none)."""
    kept_headers = {k: v for k, v in headers.items() if k in _BC_KEPT_HEADERS}
    with state.batch():
        for entry in accepted:
            change = entry.get("changeType")
            topic = change.lower() if isinstance(change, str) and change.lower() in BC_CHANGE_TYPES \
                else "unknown"
            resource = entry.get("resource")
            resource_id = resource[:4096] if isinstance(resource, str) and resource else None
            stored = {k: v for k, v in entry.items() if k != "clientState"}
            body = json.dumps(stored, ensure_ascii=False, sort_keys=True).encode("utf-8")
            state.inbox_add(SOURCE, topic, resource_id, body, kept_headers)


def receive(app: WebhookApp, environ: dict, body: bytes) -> Reply:
    """A notification POST ``{"value": [...]}``: store what carries our clientState, answer 202."""
    remote = environ.get("REMOTE_ADDR", "?")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        log.warning("ignored a Business Central notification from %s: body is not JSON (%s)",
                    remote, type(exc).__name__)
        return Reply(202)
    entries = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(entries, list):
        log.warning("ignored a Business Central notification from %s: no \"value\" list", remote)
        return Reply(202)

    accepted = accepted_entries(entries, app.secrets().get("bc_client_state"), remote)
    if not accepted:
        return Reply(202)
    try:
        with app.states.use() as state:
            if app.backlog_full(state):
                log.warning("inbox backlog at its limit (%d): refusing %d Business Central "
                            "notification(s)", app.max_backlog, len(accepted))
                return Reply.backlog_full()
            store_notifications(state, accepted, request_headers(environ))
    except STATE_ERRORS as exc:
        return app.state_failed(exc, f"{len(accepted)} Business Central notification(s)")
    log.info("stored %d Business Central notification(s)", len(accepted))
    app.stored(len(accepted))
    return Reply(202)
