"""BC webhook subscriptions (/api/v2.0/subscriptions) and the notification sender (business-central.md §4
and its errata): validation handshake on create and renewal, 3-day expiry on the sandbox Clock, changes
merged per notificationUrl after a delay, `collection` above a threshold, retries on 408/429/5xx/no answer
(+1, +1, +10, +100, +1000 minutes, scaled), deletion on the 6th consecutive failure or on any other 4xx.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import requests

from wcbc.sandbox.bc.odata import BCError, format_dt, parse_dt
from wcbc.sandbox.bc.schema import SUBSCRIPTION, WEBHOOK_SETS
from wcbc.sandbox.bc.store import Store, coerce_value, dialog
from wcbc.sandbox.core import Clock

RETRY_MINUTES = (1, 1, 10, 100, 1000)
MAX_FAILURES = 6
_RESOURCE = re.compile(
    r"^(?:https?://[^/]+(?:/v2\.0(?:/[^/]+){1,2})?)?/?api/v2\.0/companies\(([0-9a-fA-F-]{36})\)/([A-Za-z]+)$"
)


def _sub_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Webhooks:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        delay: float = 0.3,
        collection_threshold: int = 1000,
        retry_scale: float = 0.001,
        handshake_timeout: float = 5.0,
        send_timeout: float = 30.0,
        verify: bool | str = True,
        max_subscriptions: int = 200,
        lifetime_days: float = 3.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.delay = delay
        self.collection_threshold = collection_threshold
        self.retry_scale = retry_scale
        self.handshake_timeout = handshake_timeout
        self.send_timeout = send_timeout
        self.verify = verify
        self.max_subscriptions = max_subscriptions
        self.lifetime_days = lifetime_days
        self.subs: dict[str, dict[str, Any]] = {}
        self._pending: dict[str, list[dict[str, Any]]] = {}  # subscriptionId -> changes
        self._first: dict[str, float] = {}  # notificationUrl -> monotonic time of the first pending change
        self._failures: dict[str, int] = {}
        self._next_try: dict[str, float] = {}
        self._log: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._stop = False
        self._force = False
        self._busy = False
        self._thread: threading.Thread | None = None
        self.handshakes: list[dict[str, Any]] = []
        self.session = requests.Session()
        self.session.trust_env = False

    # ------------------------------------------------------------------ subscriptions

    def _handshake(self, url: str) -> None:
        token = secrets.token_urlsafe(24)
        sep = "&" if urlsplit(url).query else "?"
        outcome: dict[str, Any] = {"url": url, "ok": False, "status": None}
        try:
            resp = self.session.post(
                f"{url}{sep}validationToken={token}",
                data=b"",
                timeout=self.handshake_timeout,
                verify=self.verify,
                headers={"Content-Length": "0"},
            )
            outcome["status"] = resp.status_code
            outcome["ok"] = resp.status_code == 200 and resp.text == token
        except requests.RequestException as exc:
            outcome["error"] = type(exc).__name__
        self.handshakes.append(outcome)
        if not outcome["ok"]:
            # UNDOCUMENTED: the exact error for a failed handshake (sandbox choice: 400 dialog error).
            raise dialog(
                "The subscription could not be validated: the notification URL did not answer the "
                "validation request with status 200 and the validation token."
            )

    def _parse_resource(self, resource: str) -> tuple[str, str]:
        m = _RESOURCE.match(unquote(resource.strip()))
        if not m:
            raise BCError(400, "BadRequest_ResourceNotFound", f"The resource '{resource}' is not valid.")
        company_id, set_name = m.group(1).lower(), m.group(2)
        self.store.company(company_id)
        if set_name not in WEBHOOK_SETS:
            raise BCError(
                400,
                "BadRequest_ResourceNotFound",
                f"The entity '{set_name}' does not support webhook subscriptions.",
            )
        return company_id, set_name

    def _fields(self, body: Any, *, create: bool) -> dict[str, Any]:
        values, _ = self.store.coerce(SUBSCRIPTION, body)
        values.pop("_ro", None)
        if create:
            for key in ("notificationUrl", "resource"):
                if not values.get(key):
                    raise BCError(400, "BadRequest_RequiredParamNotProvided", f'A "{key}" must be provided.')
        url = values.get("notificationUrl")
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise dialog(f"The notification URL '{url}' is not valid.")
        if "clientState" in values:
            coerce_value(SUBSCRIPTION, "clientState", "str", values["clientState"], 2048, ())
        return values

    def create(self, body: Any, user_id: str) -> dict[str, Any]:
        values = self._fields(body, create=True)
        company_id, set_name = self._parse_resource(values["resource"])
        with self._cond:
            self._purge_expired()
            if len(self.subs) >= self.max_subscriptions:
                raise dialog(
                    f"The maximum number of webhook subscriptions ({self.max_subscriptions}) is reached."
                )
        self._handshake(values["notificationUrl"])
        now = self.clock.now()
        sub = {
            "subscriptionId": uuid.uuid4().hex,
            "notificationUrl": values["notificationUrl"],
            "resource": values["resource"],
            "userId": user_id,
            "lastModifiedDateTime": format_dt(now),
            "clientState": values.get("clientState", ""),
            "expirationDateTime": _sub_time(now + dt.timedelta(days=self.lifetime_days)),
            "systemCreatedAt": format_dt(now),
            "systemCreatedBy": user_id,
            "systemModifiedAt": format_dt(now),
            "systemModifiedBy": user_id,
            "_v": 1,
            "_company": company_id,
            "_set": set_name,
        }
        with self._cond:
            self.subs[sub["subscriptionId"]] = sub
        self._ensure_thread()
        return sub

    def get(self, sub_id: str) -> dict[str, Any]:
        with self._cond:
            self._purge_expired()
            sub = self.subs.get(sub_id)
        if sub is None:
            raise BCError(
                404,
                "Internal_RecordNotFound",
                "The API Webhook Subscription does not exist. "
                f"Identification fields and values: Subscription Id='{sub_id}'",
            )
        return sub

    def list(self) -> list[dict[str, Any]]:
        with self._cond:
            self._purge_expired()
            return list(self.subs.values())

    def renew(self, sub: dict[str, Any], body: Any) -> dict[str, Any]:
        """PATCH: repeats the handshake and moves expirationDateTime to now + 3 days."""
        values = self._fields(body or {}, create=False)
        target = {**sub, **values}
        company_id, set_name = self._parse_resource(target["resource"])
        self._handshake(target["notificationUrl"])
        now = self.clock.now()
        with self._cond:
            if sub["subscriptionId"] not in self.subs:
                raise BCError(404, "Internal_RecordNotFound", "The API Webhook Subscription does not exist.")
            sub.update(values)
            sub.update(
                {
                    "_company": company_id,
                    "_set": set_name,
                    "lastModifiedDateTime": format_dt(now),
                    "systemModifiedAt": format_dt(now),
                    "_v": sub["_v"] + 1,
                    "expirationDateTime": _sub_time(now + dt.timedelta(days=self.lifetime_days)),
                }
            )
        return sub

    def delete(self, sub_id: str) -> None:
        with self._cond:
            self.subs.pop(sub_id, None)
            self._pending.pop(sub_id, None)

    def _purge_expired(self) -> None:
        now = self.clock.now()
        for sub_id, sub in list(self.subs.items()):
            moment = parse_dt(sub["expirationDateTime"])
            if moment is not None and moment <= now:
                del self.subs[sub_id]
                self._pending.pop(sub_id, None)

    # ------------------------------------------------------------------ changes

    def record_change(self, company_id: str, set_name: str, entity_id: str, change: str, when: str) -> None:
        with self._cond:
            for sub in self.subs.values():
                if sub["_company"] != company_id or sub["_set"] != set_name:
                    continue
                pending = self._pending.setdefault(sub["subscriptionId"], [])
                merged = False
                if change == "updated":
                    for item in pending:
                        if item["id"] == entity_id and item["changeType"] in ("created", "updated"):
                            item["lastModifiedDateTime"] = when  # repeated updates merge into one
                            merged = True
                            break
                if not merged:
                    pending.append({"id": entity_id, "changeType": change, "lastModifiedDateTime": when})
                self._first.setdefault(sub["notificationUrl"], time.monotonic())
            self._cond.notify_all()

    def _payload(self, url: str) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        value: list[dict[str, Any]] = []
        taken: dict[str, list[dict[str, Any]]] = {}
        for sub_id, sub in self.subs.items():
            if sub["notificationUrl"] != url or not self._pending.get(sub_id):
                continue
            items = self._pending.pop(sub_id)
            taken[sub_id] = items
            base = {
                "subscriptionId": sub_id,
                "clientState": sub["clientState"],
                "expirationDateTime": sub["expirationDateTime"],
            }
            if len(items) >= self.collection_threshold:
                resource = sub["resource"]
                if not any(i["changeType"] == "deleted" for i in items):
                    first = min(parse_dt(i["lastModifiedDateTime"]) or self.clock.now() for i in items)
                    since = format_dt(first - dt.timedelta(milliseconds=50))
                    resource += f"?$filter=lastModifiedDateTime%20gt%20{since}"
                value.append(
                    {
                        **base,
                        "resource": resource,
                        "changeType": "collection",
                        "lastModifiedDateTime": max(i["lastModifiedDateTime"] for i in items),
                    }
                )
                continue
            for item in items:
                value.append(
                    {
                        **base,
                        "resource": f"{sub['resource']}({item['id']})",
                        "changeType": item["changeType"],
                        "lastModifiedDateTime": item["lastModifiedDateTime"],
                    }
                )
        return value, taken

    # ------------------------------------------------------------------ sender thread

    def _ensure_thread(self) -> None:
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._stop = False
                self._thread = threading.Thread(target=self._run, name="bc-webhooks", daemon=True)
                self._thread.start()

    def _due_urls(self) -> tuple[list[str], float | None]:
        now = time.monotonic()
        urls = {s["notificationUrl"] for sid, s in self.subs.items() if self._pending.get(sid)}
        due, wake = [], None
        for url in urls:
            at = max(self._first.get(url, now) + self.delay, self._next_try.get(url, 0.0))
            if self._force or at <= now:
                due.append(url)
            else:
                wake = at if wake is None else min(wake, at)
        return due, wake

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stop:
                    return
                self._purge_expired()
                due, wake = self._due_urls()
                self._force = False
                if not due:
                    self._busy = False
                    self._cond.notify_all()
                    self._cond.wait(timeout=None if wake is None else max(0.01, wake - time.monotonic()))
                    continue
                self._busy = True
                batches = []
                for url in due:
                    value, taken = self._payload(url)
                    self._first.pop(url, None)
                    if value:
                        batches.append((url, value, taken))
            for url, value, taken in batches:
                self._send(url, value, taken)

    def _send(self, url: str, value: list[dict[str, Any]], taken: dict[str, list[dict[str, Any]]]) -> None:
        corr = str(uuid.uuid4())
        status: int | None = None
        try:
            resp = self.session.post(
                url,
                json={"value": value},
                timeout=self.send_timeout,
                verify=self.verify,
                headers={"clientRequestId": corr, "x-ms-correlation-id": corr},
            )
            status = resp.status_code
        except requests.RequestException:
            status = None
        with self._cond:
            entry: dict[str, Any] = {
                "url": url,
                "status": status,
                "count": len(value),
                "value": value,
                "at": format_dt(self.clock.now()),
            }
            if status is not None and 200 <= status < 300:
                entry["outcome"] = "delivered"
                self._failures.pop(url, None)
                self._next_try.pop(url, None)
            elif status is None or status in (408, 429) or status >= 500:
                fails = self._failures.get(url, 0) + 1
                self._failures[url] = fails
                if fails >= MAX_FAILURES:
                    entry["outcome"] = "deleted"
                    self._delete_url(url)
                else:
                    entry["outcome"] = "retry"
                    self._next_try[url] = time.monotonic() + RETRY_MINUTES[fails - 1] * 60 * self.retry_scale
                    for sub_id, items in taken.items():
                        if sub_id in self.subs:
                            self._pending[sub_id] = items + self._pending.get(sub_id, [])
                    self._first.setdefault(url, time.monotonic() - self.delay)
            else:
                entry["outcome"] = "deleted"
                self._delete_url(url)
            entry["attempt"] = self._failures.get(url, 0)
            self._log.append(entry)
            self._cond.notify_all()

    def _delete_url(self, url: str) -> None:
        for sub_id in [s for s, sub in self.subs.items() if sub["notificationUrl"] == url]:
            self.subs.pop(sub_id, None)
            self._pending.pop(sub_id, None)
        self._failures.pop(url, None)
        self._next_try.pop(url, None)
        self._first.pop(url, None)

    # ------------------------------------------------------------------ admin

    def flush(self, timeout: float = 5.0) -> bool:
        """Send everything pending now (ignoring the delay); wait until nothing is pending or in flight."""
        deadline = time.monotonic() + timeout
        self._ensure_thread()
        with self._cond:
            self._force = True
            self._cond.notify_all()
            while True:
                idle = not any(self._pending.get(s) for s in self.subs) and not self._busy and not self._force
                if idle:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))

    def deliveries(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._log)

    def pending_count(self) -> int:
        with self._cond:
            return sum(len(v) for v in self._pending.values())

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.session.close()


OnChange = Callable[[str, str, str, str, str], None]
