"""Webhook queue and delivery worker of the WooCommerce simulator.

What the real store does (contracts/woocommerce.md section 1, real-store recordings):

- a change queues one job per (webhook, resource id); a job already pending absorbs later changes, and the
  body is rendered when the job runs (so it shows the latest state);
- jobs run on a background thread after ``store.webhook_delay`` seconds, never inside the request;
- one attempt, no retry; success is a status in 200..302 (redirects not followed) and resets
  ``failure_count``; a failure disables the webhook when ``failure_count > max_delivery_failures``,
  otherwise increments the count (so the 7th consecutive failure disables, count stays 6);
- after each delivery the webhook is saved; an active webhook whose ping never got exactly 200
  (``pending_delivery``) is pinged again with an unsigned form body ``webhook_id=N``;
- headers in the recorded wire order; signature = base64(HMAC-SHA256(secret, raw body));
  Delivery-ID = a 32-hex hash of webhook id + the unix second (repeats within a second).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from wcbc.sandbox.woo.money import php_json

if TYPE_CHECKING:
    from wcbc.sandbox.woo.app import WooStore
    from wcbc.sandbox.woo.model import Webhook

SAFE_PORTS = (80, 443, 8080)


def sign(secret: str, body: bytes) -> str:
    """X-WC-Webhook-Signature for ``body`` (the key is the secret with HTML entities decoded, as WP does)."""
    key = secret
    for entity, char in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#039;", "'"), ("&amp;", "&")):
        key = key.replace(entity, char)
    return base64.b64encode(hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


@dataclass
class _Job:
    webhook_id: int
    arg: int
    due: float
    seq: int


class Dispatcher:
    def __init__(self, store: WooStore) -> None:
        self.store = store
        self._cond = threading.Condition()
        self._queue: dict[tuple[int, int], _Job] = {}
        self._inflight = 0
        self._flushing = 0
        self._seq = 0
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._salt = secrets.token_bytes(32)
        self._log_lock = threading.Lock()
        self.entries: list[dict[str, Any]] = []
        self.duplicates = 0

    # ------------------------------------------------------------------ queue

    def enqueue(self, webhook_id: int, arg: int) -> None:
        with self._cond:
            key = (webhook_id, arg)
            if key in self._queue:
                return  # an identical job is pending: it will render the latest state anyway
            self._seq += 1
            self._queue[key] = _Job(webhook_id, arg, time.monotonic() + self.store.webhook_delay, self._seq)
            if self._thread is None or not self._thread.is_alive():
                self._stopped = False
                self._thread = threading.Thread(target=self._run, name="woo-webhooks", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def pending_count(self) -> int:
        with self._cond:
            return len(self._queue) + self._inflight

    def flush(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                while self._queue or self._inflight:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._cond.wait(min(left, 0.05))
                return True
            finally:
                self._flushing -= 1

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._queue.clear()
            self._cond.notify_all()

    def _next_job(self) -> _Job | None:
        with self._cond:
            while not self._stopped:
                if self._queue:
                    job = min(self._queue.values(), key=lambda j: (j.due, j.seq))
                    wait = job.due - time.monotonic()
                    if wait <= 0 or self._flushing:
                        del self._queue[(job.webhook_id, job.arg)]
                        self._inflight += 1
                        return job
                    self._cond.wait(wait)
                else:
                    self._cond.wait(0.5)
            return None

    def _run(self) -> None:
        while True:
            job = self._next_job()
            if job is None:
                return
            try:
                self._deliver(job)
            except Exception:  # a broken receiver must never kill the worker
                import traceback

                traceback.print_exc()
            finally:
                with self._cond:
                    self._inflight -= 1
                    self._cond.notify_all()

    # ------------------------------------------------------------------ delivery

    def _deliver(self, job: _Job) -> None:
        store = self.store
        with store.lock:
            webhook = store.webhooks.get(job.webhook_id)
            if webhook is None or webhook.status != "active":
                return
            topic, url, secret = webhook.topic, webhook.delivery_url, webhook.secret
            body = php_json(store.webhook_payload(webhook, job.arg)).strip()
            source = store.base_url + "/"
        resource, _, event = topic.partition(".")
        second = int(store.clock.time())
        delivery_id = hmac.new(self._salt, f"{webhook.id}{second}".encode(), "md5").hexdigest()
        headers = [
            ("User-Agent", self.user_agent),
            ("Accept", "*/*"),
            ("Accept-Encoding", "deflate, gzip, br, zstd"),
            ("Content-Type", "application/json"),
            ("X-WC-Webhook-Source", source),
            ("X-WC-Webhook-Topic", topic),
            ("X-WC-Webhook-Resource", resource),
            ("X-WC-Webhook-Event", event),
            ("X-WC-Webhook-Signature", sign(secret, body)),
            ("X-WC-Webhook-ID", str(webhook.id)),
            ("X-WC-Webhook-Delivery-ID", delivery_id),
            ("Connection", "close"),
        ]
        times = 1
        with self._cond:
            if self.duplicates > 0:
                self.duplicates -= 1
                times = 2
        for _ in range(times):
            status, error, sent = self._post(url, body, headers)
            self._record("delivery", webhook.id, topic, job.arg, url, status, error, body, sent)
            with store.lock:
                ok = status is not None and 200 <= status < 303
                if ok:
                    webhook.failure_count = 0
                elif webhook.failure_count > store.max_delivery_failures:
                    webhook.status = "disabled"
                else:
                    webhook.failure_count += 1
                webhook.date_modified = store.now()
                ping_again = webhook.status == "active" and webhook.pending_delivery
            if ping_again:
                self.ping(webhook)

    @property
    def user_agent(self) -> str:
        return f"WooCommerce/{self.store.wc_version} Hookshot (WordPress/{self.store.wp_version})"

    def ping(self, webhook: Webhook) -> bool:
        """The unsigned form ping; passes only on exactly 200 (then pending_delivery is cleared)."""
        with self.store.lock:
            url, webhook_id = webhook.delivery_url, webhook.id
        body = f"webhook_id={webhook_id}".encode()
        headers = [
            ("User-Agent", self.user_agent),
            ("Accept", "*/*"),
            ("Accept-Encoding", "deflate, gzip, br, zstd"),
            ("Connection", "close"),
        ]
        status, error, sent = self._post(url, body, headers, form=True)
        self._record("ping", webhook_id, None, None, url, status, error, body, sent)
        with self.store.lock:
            if status == 200:
                webhook.pending_delivery = False
        return status == 200

    def _post(
        self, url: str, body: bytes, headers: list[tuple[str, str]], *, form: bool = False
    ) -> tuple[int | None, str | None, list[tuple[str, str]]]:
        store = self.store
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None, "A valid URL was not provided.", headers
        if store.enforce_safe_ports:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            own = urlsplit(store.base_url)
            own_port = own.port or (443 if own.scheme == "https" else 80)
            if port not in SAFE_PORTS and not (parts.hostname == own.hostname and port == own_port):
                return None, "A valid URL was not provided.", headers
        prepared = requests.Request("POST", url, data=body, headers=dict(headers)).prepare()
        if form:
            prepared.headers["Content-Type"] = "application/x-www-form-urlencoded"
        sent = [("Host", parts.netloc), *prepared.headers.items()]
        try:
            with requests.Session() as session:
                response = session.send(
                    prepared,
                    timeout=store.delivery_timeout,
                    verify=store.delivery_verify,
                    allow_redirects=False,
                )
                response.close()
                return response.status_code, None, sent
        except requests.RequestException as exc:
            return None, type(exc).__name__, sent

    def _record(
        self,
        kind: str,
        webhook_id: int,
        topic: str | None,
        arg: int | None,
        url: str,
        status: int | None,
        error: str | None,
        body: bytes,
        headers: list[tuple[str, str]],
    ) -> None:
        entry = {
            "kind": kind,
            "webhook_id": webhook_id,
            "topic": topic,
            "resource_id": arg,
            "url": url,
            "status": status,
            "error": error,
            "body": body,
            "headers": list(headers),
            "time": time.time(),
        }
        with self._log_lock:
            entry["seq"] = len(self.entries) + 1
            self.entries.append(entry)

    def log(self, *, webhook_id: int | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        with self._log_lock:
            return [
                dict(e)
                for e in self.entries
                if (webhook_id is None or e["webhook_id"] == webhook_id)
                and (kind is None or e["kind"] == kind)
            ]
