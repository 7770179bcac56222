"""WooCommerce webhooks: install them, check them, repair them (``wcbc webhooks install|check``).

Facts (contracts woocommerce.md 1.4-1.8, confirmed on the real store):

* A webhook's ``secret`` is never returned by the API, and when none is sent WooCommerce invents a
  50-character one with special characters. wcbc always sends its own secret (the vault's
  ``woo_webhook_secret``).
* Creating a webhook pings its URL at once (unsigned ``webhook_id=N``), so ``wcbc serve`` should already run.
* WooCommerce never retries a delivery; the 7th failure in a row sets the webhook to ``disabled``.
  ``paused`` is only ever set by a person. Neither delivers anything.
* Re-activating a disabled webhook (``PUT status=active``) does NOT reset its failure count: if the receiver
  is still failing, the very next failure disables it again. So ``--repair`` **recreates** a disabled or
  paused webhook (delete + create with our secret: a fresh failure count of 0). ``reactivate=True`` (the
  CLI's ``--reactivate``) only flips the status, keeping the webhook's id and name, for a person who knows
  the receiver is healthy again.
* WooCommerce hides failure counts, so a dying webhook is only visible once disabled. The "gone quiet"
  check catches the rest: it compares the newest WooCommerce delivery in the inbox with the newest order
  ``date_modified`` the poll has seen (state cursor ``orders.last_seen_modified``, ISO-8601 UTC, written by
  the orders sync). Orders that keep changing with no delivery for longer than ``quiet_minutes`` mean the
  webhooks are not reaching us (proxy, DNS, firewall, a plugin, or WP-Cron not running).

Only webhooks pointing at our own ``{public_url}/webhooks/woocommerce`` are ever changed or deleted. One for
our topic pointing anywhere else is reported ("elsewhere") and left alone: it may belong to another tool or
to another wcbc install (staging) on the same store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from wcbc.core.errors import UsageError
from wcbc.core.time import parse, utcnow
from wcbc.sync.common.cursors import ORDERS_LAST_SEEN
from wcbc.webhooks.urls import WOO_PATH, endpoint, url_key

if TYPE_CHECKING:
    from wcbc.adapters.woo.client import WooClient
    from wcbc.core.state import State

log = logging.getLogger("wcbc.woo.webhook_health")

DEFAULT_TOPICS = ("order.created", "order.updated")
DEFAULT_QUIET_MINUTES = 60
_QUIET_LOOKBACK = timedelta(days=7)
_RISKY_SECRET_CHARS = "&<>\"'"  # noqa: S105 - characters, not a secret


def delivery_url_for(public_url: str) -> str:
    """``{public_url}/webhooks/woocommerce`` (the route ``wcbc serve`` answers)."""
    return endpoint(public_url, WOO_PATH)


def _check_secret(secret: str) -> None:
    if not secret:
        raise UsageError("no webhook secret (woo_webhook_secret) is configured",
                         hint="`wcbc credentials set woocommerce` generates one (leave the webhook secret "
                              "empty); wcbc never lets WooCommerce pick it")
    if any(ch in secret for ch in _RISKY_SECRET_CHARS):
        log.warning("the webhook secret contains & < > \" or ': WooCommerce HTML-decodes secrets before "
                    "signing; a plain alphanumeric secret avoids any mismatch")


def _create(woo: WooClient, url: str, topic: str, secret: str) -> dict:
    return woo.create_webhook({"name": f"wcbc {topic}", "topic": topic, "delivery_url": url,
                               "secret": secret, "status": "active"})


def _ours(hooks: list[dict], url: str, topic: str) -> list[dict]:
    return [h for h in hooks if url_key(h.get("delivery_url")) == url_key(url) and h.get("topic") == topic]


def _id(hook: dict) -> int | str:
    return hook.get("id")  # type: ignore[return-value]


def install_webhooks(
    woo: WooClient,
    *,
    public_url: str,
    secret: str,
    topics: Iterable[str] = DEFAULT_TOPICS,
    sync_secret: bool = True,
) -> list[dict]:
    """Make sure one active webhook per topic delivers to ``{public_url}/webhooks/woocommerce``, signed
    with ``secret``. Idempotent: returns one ``{"topic", "id", "action"}`` per topic, where action is

    * ``"created"``: none was there;
    * ``"exists"``: an active one was there (with ``sync_secret``, its secret is set to ours with a PUT,
      because WooCommerce never shows which secret a webhook signs with: after a secret rotation an old
      webhook would otherwise sign with the old one and every delivery would be refused);
    * ``"recreated"``: ours was disabled or paused: deleted and created anew (fresh failure count).

    Extra active copies for the same topic and URL (each would deliver every event twice) are deleted:
    ``{"topic", "id", "action": "deleted_duplicate"}``.
    """
    _check_secret(secret)
    url = delivery_url_for(public_url)
    hooks = woo.list_webhooks()
    results: list[dict] = []
    for topic in dict.fromkeys(topics):
        ours = _ours(hooks, url, topic)
        active = [h for h in ours if h.get("status") == "active"]
        if active:
            keep = active[0]
            if sync_secret:
                woo.update_webhook(_id(keep), {"secret": secret})
            results.append({"topic": topic, "id": _id(keep), "action": "exists"})
            for extra in active[1:]:
                woo.delete_webhook(_id(extra))
                results.append({"topic": topic, "id": _id(extra), "action": "deleted_duplicate"})
            for stale in (h for h in ours if h.get("status") != "active"):
                woo.delete_webhook(_id(stale))
                results.append({"topic": topic, "id": _id(stale), "action": "deleted_duplicate"})
            continue
        for stale in ours:
            woo.delete_webhook(_id(stale))
        created = _create(woo, url, topic, secret)
        results.append({"topic": topic, "id": _id(created), "action": "recreated" if ours else "created"})
    for result in results:
        log.info("webhook %s (%s): %s", result["id"], result["topic"], result["action"])
    return results


@dataclass
class WebhookProblem:
    kind: str                      # "missing" | "disabled" | "paused" | "elsewhere" | "quiet"
    topic: str | None
    webhook_id: int | str | None
    detail: str
    repaired: str | None = None    # what --repair did ("recreated as 31", "reactivated", "created as 32")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "topic": self.topic, "webhook_id": self.webhook_id, "detail": self.detail,
                "repaired": self.repaired}


@dataclass
class HealthReport:
    delivery_url: str
    webhooks: list[dict] = field(default_factory=list)   # ours: {id, topic, status}
    problems: list[WebhookProblem] = field(default_factory=list)
    last_delivery_at: str | None = None
    last_order_modified_at: str | None = None

    @property
    def ok(self) -> bool:
        """True when nothing is left to fix (repaired problems count as fixed, "elsewhere" is advice)."""
        return all(p.repaired or p.kind == "elsewhere" for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {"delivery_url": self.delivery_url, "ok": self.ok, "webhooks": list(self.webhooks),
                "problems": [p.to_dict() for p in self.problems], "last_delivery_at": self.last_delivery_at,
                "last_order_modified_at": self.last_order_modified_at}


def check_quiet(state: State, *, quiet_minutes: float = DEFAULT_QUIET_MINUTES,
                now: datetime | None = None) -> tuple[WebhookProblem | None, str | None, str | None]:
    """(problem or None, last delivery, last order modification): orders change, webhooks are silent."""
    now = now or utcnow()
    last_delivery_text = state.inbox_newest("woocommerce")
    last_modified_text = state.cursor_get(ORDERS_LAST_SEEN)
    last_delivery = parse(last_delivery_text)
    last_modified = parse(last_modified_text)
    if last_modified is None or now - last_modified > _QUIET_LOOKBACK:
        return None, last_delivery_text, last_modified_text
    threshold = timedelta(minutes=quiet_minutes)
    if last_delivery is None:
        if now - last_modified <= threshold:
            return None, last_delivery_text, last_modified_text  # too early to tell
        detail = (f"orders changed (newest at {last_modified_text}) but no WooCommerce webhook was ever "
                  "received: check that `wcbc serve` is reachable and the webhooks exist")
        return WebhookProblem("quiet", None, None, detail), last_delivery_text, last_modified_text
    if last_modified - last_delivery > threshold:
        minutes = int((last_modified - last_delivery).total_seconds() // 60)
        detail = (f"orders keep changing (newest at {last_modified_text}) but the last webhook arrived at "
                  f"{last_delivery_text}, {minutes} minutes earlier: deliveries are not reaching "
                  "`wcbc serve` (reverse proxy, firewall, DNS, WP-Cron not running?). The poll is covering "
                  "for them.")
        return WebhookProblem("quiet", None, None, detail), last_delivery_text, last_modified_text
    return None, last_delivery_text, last_modified_text


def check_webhooks(
    woo: WooClient,
    state: State,
    *,
    public_url: str,
    repair: bool = False,
    reactivate: bool = False,
    secret: str | None = None,
    topics: Iterable[str] = DEFAULT_TOPICS,
    quiet_minutes: float = DEFAULT_QUIET_MINUTES,
    now: datetime | None = None,
) -> HealthReport:
    """List what is wrong with our webhooks; with ``repair`` fix it.

    Problems: ``missing`` (no webhook of ours for a topic), ``disabled`` (auto-disabled after failed
    deliveries), ``paused``, ``elsewhere`` (a webhook for our topic delivering to another URL: reported,
    never touched), ``quiet`` (see module doc). ``repair`` recreates disabled/paused ones (or only
    re-activates them with ``reactivate``) and creates missing ones; it needs ``secret`` for creating.
    """
    url = delivery_url_for(public_url)
    if repair and not reactivate:
        _check_secret(secret or "")
    hooks = woo.list_webhooks()
    report = HealthReport(delivery_url=url)
    wanted = list(dict.fromkeys(topics))
    for topic in wanted:
        ours = _ours(hooks, url, topic)
        for hook in ours:
            report.webhooks.append({"id": _id(hook), "topic": topic, "status": hook.get("status")})
        elsewhere = [h for h in hooks if h.get("topic") == topic and url_key(h.get("delivery_url"))
                     != url_key(url) and h.get("status") == "active"]
        for hook in elsewhere:
            report.problems.append(WebhookProblem(
                "elsewhere", topic, _id(hook),
                f"webhook {_id(hook)} ({topic}) delivers to {hook.get('delivery_url')}, not to {url}: "
                "delete it in WooCommerce if it is an old address of this connector"))
        active = [h for h in ours if h.get("status") == "active"]
        if active:
            continue
        if not ours:
            problem = WebhookProblem("missing", topic, None, f"no webhook delivers {topic} to {url}")
            if repair:
                _check_secret(secret or "")
                created = _create(woo, url, topic, secret or "")
                problem.repaired = f"created as {_id(created)}"
            report.problems.append(problem)
            continue
        hook = ours[0]
        status = str(hook.get("status"))
        why = ("disabled by WooCommerce after 7 failed deliveries in a row" if status == "disabled"
               else "paused by a person" if status == "paused" else f"status {status}")
        problem = WebhookProblem(status if status in ("disabled", "paused") else "disabled", topic, _id(hook),
                                 f"webhook {_id(hook)} ({topic}) is {why}: it delivers nothing")
        if repair:
            if reactivate:
                woo.update_webhook(_id(hook), {"status": "active"})
                problem.repaired = ("reactivated (its failure count is NOT reset: one more failed delivery "
                                    "disables it again)")
            else:
                for stale in ours:
                    woo.delete_webhook(_id(stale))
                created = _create(woo, url, topic, secret or "")
                problem.repaired = f"recreated as {_id(created)}"
        report.problems.append(problem)

    quiet, report.last_delivery_at, report.last_order_modified_at = check_quiet(
        state, quiet_minutes=quiet_minutes, now=now)
    if quiet is not None:
        report.problems.append(quiet)
    for problem in report.problems:
        log.log(logging.INFO if problem.repaired else logging.WARNING, "webhook check: %s%s", problem.detail,
                f" -> {problem.repaired}" if problem.repaired else "")
    return report
