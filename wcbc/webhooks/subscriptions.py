"""Business Central webhook subscriptions: create, renew, recreate (``wcbc renew-subscriptions``).

Facts (contracts business-central.md section 4 and its fact-check):

* Subscriptions live at the API root: ``{base_url}/subscriptions``; one is addressed as
  ``subscriptions('<id>')`` (a string key, single-quoted). PATCH and DELETE need ``If-Match``.
* Creating one (POST) and renewing one (PATCH) both make BC call ``notificationUrl?validationToken=...``
  and wait up to 5 seconds for the token back: ``wcbc serve`` must be running and reachable from the
  internet (through its reverse proxy) *before* this runs.
* A subscription expires 3 days after creation or renewal and is then deleted by BC. BC also deletes every
  subscription on a URL that answered a notification with a 4xx (other than 408/429), or failed 6 times in a
  row. So: renew anything expiring within ``renew_before`` (default 24 h; run this at least daily), and
  recreate what BC deleted.
* A notification carries our ``clientState`` back: it is the shared secret ``wcbc serve`` checks. A
  subscription whose clientState is not the current one (after a rotation) is PATCHed with the new one.

What this module touches: only subscriptions whose ``notificationUrl`` is our own
``{public_url}/webhooks/business-central``. Subscriptions of other tools on other URLs are listed in the
report (``others``) and never changed. Several of ours for the same resource (left by an interrupted run)
are reduced to the newest one; the extra copies are deleted because each would double every notification.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wcbc.adapters.bc import odata
from wcbc.adapters.http import HttpClient
from wcbc.core.errors import (
    AmbiguousWriteError,
    AuthError,
    NotFoundError,
    RemoteError,
    ThrottledError,
    UnreachableError,
    UsageError,
    ValidationError,
)
from wcbc.core.time import parse, utcnow
from wcbc.webhooks.urls import BC_PATH, endpoint, url_key

if TYPE_CHECKING:
    from wcbc.adapters.bc.client import BCClient
    from wcbc.core.state import State

log = logging.getLogger("wcbc.bc.subscriptions")

SYSTEM = "business_central"
DEFAULT_RESOURCES = ("items",)
_HANDSHAKE_WORDS = re.compile(
    r"handshake|validation ?token|notification ?url|could not (be )?reach|unreachable|not reachable|"
    r"timed? ?out|did not respond|no response|failed to respond",
    re.IGNORECASE,
)


@dataclass
class SubscriptionStatus:
    """What happened to one wanted subscription."""

    resource: str                 # e.g. "/api/v2.0/companies(<id>)/items"
    subscription_id: str | None
    action: str                   # "ok" | "created" | "renewed" | "recreated" | "failed"
    expires_at: str | None        # BC's expirationDateTime
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"resource": self.resource, "subscription_id": self.subscription_id, "action": self.action,
                "expires_at": self.expires_at, "error": self.error}


@dataclass
class SubscriptionReport:
    notification_url: str
    subscriptions: list[SubscriptionStatus] = field(default_factory=list)
    removed_duplicates: list[str] = field(default_factory=list)
    others: int = 0               # subscriptions on other URLs: listed, never touched
    warnings: list[str] = field(default_factory=list)

    def _with(self, action: str) -> list[SubscriptionStatus]:
        return [s for s in self.subscriptions if s.action == action]

    @property
    def created(self) -> list[SubscriptionStatus]:
        return self._with("created") + self._with("recreated")

    @property
    def renewed(self) -> list[SubscriptionStatus]:
        return self._with("renewed")

    @property
    def ok(self) -> list[SubscriptionStatus]:
        return self._with("ok")

    @property
    def next_expiry(self) -> str | None:
        dates = [s.expires_at for s in self.subscriptions if s.expires_at]
        return min(dates, key=_sort_key) if dates else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "notification_url": self.notification_url,
            "subscriptions": [s.to_dict() for s in self.subscriptions],
            "created": len(self.created), "renewed": len(self.renewed), "ok": len(self.ok),
            "removed_duplicates": list(self.removed_duplicates), "others": self.others,
            "next_expiry": self.next_expiry, "warnings": list(self.warnings),
        }


# ----------------------------------------------------------------------------- helpers


def _sort_key(value: str) -> datetime:
    return parse(value) or datetime.max.replace(tzinfo=UTC)


def notification_url_for(public_url: str) -> str:
    """``{public_url}/webhooks/business-central`` (the route ``wcbc serve`` answers)."""
    return endpoint(public_url, BC_PATH)


def resource_path(company_id: str, resource: str) -> str:
    """The subscription ``resource`` for an entity of the configured company."""
    return f"/api/v2.0/companies({company_id})/{resource.strip('/')}"


def _resource_key(resource: Any) -> str:
    """A comparable form: 'v2.0|companies(<lower id>)/<entity>' whatever form BC echoes it in."""
    if not isinstance(resource, str):
        return ""
    text = resource.strip()
    lower = text.lower()
    at = lower.find("companies(")
    if at < 0:
        return lower.strip("/")
    prefix, rest = lower[:at], lower[at:]
    version = re.findall(r"v\d+\.\d+", prefix)
    close = rest.find(")")
    company = rest[len("companies("):close].strip("'{}\" ") if close > 0 else ""
    tail = rest[close + 1:].strip("/") if close > 0 else rest
    return f"{version[-1] if version else ''}|companies({company})/{tail}"


def _sub_path(subscription_id: str) -> str:
    return f"subscriptions({odata.quote(subscription_id)})"


def _etag(sub: dict) -> str:
    etag = sub.get("@odata.etag")
    return etag if isinstance(etag, str) and etag else "*"


def _handshake_error(exc: RemoteError, url: str) -> RemoteError:
    return RemoteError(
        f"BC could not reach {url}: is `wcbc serve` running and reachable from the internet?",
        system=SYSTEM, call=exc.call, status=exc.status, code=exc.code,
        hint=("BC calls the notification URL with ?validationToken=... and needs the token back within 5 "
              "seconds. Start `wcbc serve`, check the reverse proxy forwards "
              f"{BC_PATH} over https, then run this again. BC said: {exc.detail[:300]}"),
    )


def _looks_like_handshake_failure(exc: RemoteError, preflight_failed: bool) -> bool:
    if isinstance(exc, AuthError | ThrottledError | NotFoundError):
        return False
    if isinstance(exc, UnreachableError) and exc.status is None:
        return False  # we could not reach BC: not BC failing to reach us
    if exc.status is not None and not 400 <= exc.status < 500:
        return False
    if _HANDSHAKE_WORDS.search(f"{exc.code or ''} {exc.detail}"):
        return True
    # BC's wording for a failed handshake is not documented: when our own test handshake failed too,
    # any 4xx that is not plainly about the request itself is taken for one
    return preflight_failed and not (exc.code or "").startswith("BadRequest_")


def preflight(url: str, *, verify: str | bool = True, timeout: float = 5.0,
              http: HttpClient | None = None) -> str | None:
    """Do the handshake BC will do, from here: None if ``url`` echoes a token, else why not.

    Passing from here does not prove BC can reach the URL (firewalls), and failing from here does not
    prove it cannot (a NAT without hairpinning): the result is only used to word the error and warn.
    Sent through :class:`~wcbc.adapters.http.HttpClient` (system "serve", no retry: BC does not retry
    either); the handshake is safe to repeat, so the POST counts as idempotent.
    """
    import secrets as _secrets

    token = "wcbc-preflight-" + _secrets.token_hex(8)
    http = http or HttpClient("serve", verify=verify, timeout=timeout, max_retries=0)
    try:
        response = http.request("POST", url, params={"validationToken": token}, idempotent=True,
                                check=False)
    except RemoteError as exc:
        return f"{exc.detail} calling {url}"
    if response.status_code != 200 or response.text != token:
        return f"{url} answered HTTP {response.status_code} without echoing the validation token"
    return None


# ----------------------------------------------------------------------------- the job


def ensure_subscriptions(
    bc: BCClient,
    state: State,
    *,
    public_url: str,
    client_state: str,
    resources: Iterable[str] | None = None,
    renew_before: timedelta = timedelta(hours=24),
    now: datetime | None = None,
    verify: str | bool = True,
    check_reachable: bool = True,
) -> SubscriptionReport:
    """Make BC's subscriptions for ``resources`` (default ``["items"]``) of the configured company point
    at ``{public_url}/webhooks/business-central`` and stay valid for longer than ``renew_before``.

    Creates missing ones, renews (PATCH + If-Match; BC repeats the handshake) those expiring within
    ``renew_before`` or carrying an old clientState, recreates those BC deleted, stores id / expiration /
    etag in the state, and deletes nothing that is not ours. A failed handshake raises a RemoteError that
    says BC could not reach the URL. ``check_reachable`` first tries the handshake from this machine
    (``verify`` is the CA bundle for it) and adds a warning if it fails.
    """
    if not client_state:
        raise UsageError("no clientState configured (secret bc_client_state)",
                         hint="`wcbc credentials set business-central` generates one: the shared secret BC "
                              "echoes in notifications")
    url = notification_url_for(public_url)
    now = now or utcnow()
    wanted = [resource_path(bc.company_id, r) for r in (resources or DEFAULT_RESOURCES)]
    report = SubscriptionReport(notification_url=url)
    if urlsplit(url).scheme != "https":
        report.warnings.append("public_url is not https: Business Central only calls https URLs")

    preflight_problem = preflight(url, verify=verify) if check_reachable else None
    if preflight_problem:
        report.warnings.append(f"handshake from this machine failed: {preflight_problem}")
        log.warning("the notification URL did not answer a test handshake from here: %s", preflight_problem)

    remote = list(bc.root_iter("subscriptions"))
    ours = [s for s in remote if url_key(s.get("notificationUrl")) == url_key(url)]
    report.others = len(remote) - len(ours)
    stored = {str(s.get("id") or s.get("subscription_id") or ""): s for s in state.subscriptions()}
    remote_ids = {str(s.get("subscriptionId")) for s in remote}

    for resource in wanted:
        key = _resource_key(resource)
        matches = sorted((s for s in ours if _resource_key(s.get("resource")) == key),
                         key=lambda s: _sort_key(str(s.get("expirationDateTime") or "")), reverse=True)
        for extra in matches[1:]:
            extra_id = str(extra.get("subscriptionId"))
            try:
                bc.root_delete(_sub_path(extra_id), _etag(extra))
                report.removed_duplicates.append(extra_id)
                state.subscription_delete(extra_id)
            except NotFoundError:
                report.removed_duplicates.append(extra_id)
                state.subscription_delete(extra_id)
        try:
            if matches:
                status = _keep_or_renew(bc, state, matches[0], resource, url, client_state, renew_before,
                                        now, bool(preflight_problem))
            else:
                was_known = any(_resource_key(s.get("resource")) == key
                                and url_key(s.get("notification_url")) == url_key(url)
                                for s in stored.values())
                status = _create(bc, state, resource, url, client_state, bool(preflight_problem),
                                 action="recreated" if was_known else "created")
        except (ValidationError, NotFoundError) as exc:
            # this resource alone was refused (e.g. an entity BC cannot subscribe to): report, carry on.
            # A failed handshake was already raised as a RemoteError of its own; auth, throttling and
            # unreachable errors propagate: they concern every resource.
            log.error("subscription for %s refused: %s", resource, exc.message)
            status = SubscriptionStatus(resource, matches[0].get("subscriptionId") if matches else None,
                                        "failed", None, exc.message)
        report.subscriptions.append(status)

    # forget local rows BC no longer has (recreated ones were replaced above)
    kept = {s.subscription_id for s in report.subscriptions}
    for sub_id, row in stored.items():
        if sub_id and sub_id not in kept and sub_id not in remote_ids:
            state.subscription_delete(sub_id)
        elif sub_id and sub_id not in kept and url_key(row.get("notification_url")) != url_key(url):
            state.subscription_delete(sub_id)  # points elsewhere (public_url changed): no longer ours
    for status in report.subscriptions:
        log.info("subscription %s for %s: %s (expires %s)", status.subscription_id, status.resource,
                 status.action, status.expires_at)
    return report


def _store(state: State, sub: dict, resource: str, url: str) -> tuple[str, str | None]:
    sub_id = str(sub.get("subscriptionId") or "")
    expires = sub.get("expirationDateTime")
    state.subscription_put(sub_id, str(sub.get("resource") or resource),
                           str(sub.get("notificationUrl") or url), str(expires or ""), sub.get("@odata.etag"))
    return sub_id, (str(expires) if expires else None)


def _body(resource: str, url: str, client_state: str) -> dict[str, str]:
    return {"notificationUrl": url, "resource": resource, "clientState": client_state}


def _keep_or_renew(bc: BCClient, state: State, sub: dict, resource: str, url: str, client_state: str,
                   renew_before: timedelta, now: datetime, preflight_failed: bool) -> SubscriptionStatus:
    expires = parse(sub.get("expirationDateTime"))
    remote_state = sub.get("clientState")
    stale_state = isinstance(remote_state, str) and remote_state != client_state
    if expires is not None and expires - now > renew_before and not stale_state:
        sub_id, expires_at = _store(state, sub, resource, url)
        return SubscriptionStatus(resource, sub_id, "ok", expires_at)
    sub_id = str(sub.get("subscriptionId"))
    try:
        renewed = bc.root_patch(_sub_path(sub_id), _body(str(sub.get("resource") or resource), url,
                                                          client_state), _etag(sub))
    except NotFoundError:
        # deleted (expired) between the list and the PATCH: create it again
        state.subscription_delete(sub_id)
        return _create(bc, state, resource, url, client_state, preflight_failed, action="recreated")
    except RemoteError as exc:
        if _looks_like_handshake_failure(exc, preflight_failed):
            raise _handshake_error(exc, url) from exc
        raise
    if not renewed.get("subscriptionId"):
        renewed = {**sub, **renewed, "subscriptionId": sub_id}
    new_id, expires_at = _store(state, renewed, resource, url)
    return SubscriptionStatus(resource, new_id, "renewed", expires_at)


def _create(bc: BCClient, state: State, resource: str, url: str, client_state: str, preflight_failed: bool,
            *, action: str) -> SubscriptionStatus:
    try:
        created = bc.root_post("subscriptions", _body(resource, url, client_state))
    except AmbiguousWriteError:
        # the answer was lost: the subscription may exist now; look before creating another
        key = _resource_key(resource)
        found = [s for s in bc.root_iter("subscriptions")
                 if url_key(s.get("notificationUrl")) == url_key(url)
                 and _resource_key(s.get("resource")) == key]
        if not found:
            raise
        created = found[0]
    except RemoteError as exc:
        if _looks_like_handshake_failure(exc, preflight_failed):
            raise _handshake_error(exc, url) from exc
        raise
    sub_id, expires_at = _store(state, created, resource, url)
    return SubscriptionStatus(resource, sub_id, action, expires_at)
