"""`wcbc serve` as a real process: webhooks in, BC documents and product updates out, health checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.conftest import E2E
from wcbc.core.state import State
from wcbc.core.vault import Vault, generate_client_state
from wcbc.ops.demo import free_port, wait_until


@pytest.fixture
def served(e2e: E2E) -> Iterator[tuple[E2E, str, subprocess.Popen]]:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    e2e.write_config(public_url=public, serve_port=port)
    Vault.open(e2e.vault_path).set("bc_client_state", generate_client_state())
    proc = subprocess.Popen(
        [sys.executable, "-m", "wcbc", "--config", str(e2e.config_path), "serve"],
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    def healthy() -> bool:
        try:
            return requests.get(f"{public}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    assert wait_until(healthy, 20), "wcbc serve did not come up"
    try:
        yield e2e, public, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_webhooks_and_subscription_through_a_running_serve(served) -> None:
    e2e, public, proc = served
    code, out, err = e2e.cli("webhooks", "install")
    assert code == 0, out + err
    code, out, err = e2e.cli("renew-subscriptions")
    assert code == 0, out + err
    assert len(e2e.bc.subscriptions()) == 1
    # A web order reaches BC through order.created -> serve -> inbox -> worker, with no cron run.
    jane = next(c["id"] for c in e2e.woo.customers_list() if c["email"] == "jane.doe@example.test")
    order = e2e.woo.create_order(customer_id=jane, line_items=[{"sku": "MUG-001", "quantity": 2}])
    assert wait_until(lambda: len(e2e.documents(order["number"])) == 1, 30)
    # A BC price change reaches the store through the BC notification, read back from BC.
    e2e.bc.set_price("CAP-001", "11.25")
    assert wait_until(lambda: e2e.woo.get_product_by_sku("CAP-001")["regular_price"] == "11.25", 30)
    health = requests.get(f"{public}/healthz", timeout=5).json()
    assert health["status"] == "ok"
    # The write-back's order.updated echo may still be arriving: the worker drains it too.
    assert wait_until(lambda: requests.get(f"{public}/healthz", timeout=5).json()["backlog"] == 0, 30)
    # Replays of every delivery so far book nothing twice.
    e2e.woo.deliver_duplicate(3)
    assert e2e.woo.flush_webhooks(10)
    # Every delivery has been answered, so each is stored or refused: the worker has drained them all.
    assert wait_until(lambda: requests.get(f"{public}/healthz", timeout=5).json()["backlog"] == 0, 30)
    assert len(e2e.documents(order["number"])) == 1


def test_disabled_webhook_is_detected_and_repaired(served) -> None:
    e2e, public, proc = served
    assert e2e.cli("webhooks", "install")[0] == 0
    proc.terminate()
    proc.wait(10)
    # serve is down: WooCommerce's deliveries fail; the 7th failure in a row disables the webhook.
    jane = next(c["id"] for c in e2e.woo.customers_list() if c["email"] == "jane.doe@example.test")
    for _ in range(8):
        e2e.woo.create_order(customer_id=jane, line_items=[{"sku": "CAP-001", "quantity": 1}])
        e2e.woo.flush_webhooks(10)
    assert any(w["status"] == "disabled" for w in e2e.woo.state()["webhooks"])
    code, out, err = e2e.cli("--json", "webhooks", "check")
    assert code == 1
    assert "disabled" in out
    status = json.loads(e2e.cli("--json", "status")[1])
    assert status["webhooks"].startswith("PROBLEM") and "disabled" in status["webhooks"]
    code, out, err = e2e.cli("webhooks", "check", "--repair")
    assert code == 0, out + err
    assert all(w["status"] == "active" for w in e2e.woo.state()["webhooks"])
    # The orders that arrived while serve was down are recovered by the poll.
    code, out, err = e2e.cli("sync-orders")
    assert code == 0, out + err
    assert "booked" in out


def test_renew_subscriptions_says_plainly_when_serve_is_unreachable(e2e: E2E) -> None:
    port = free_port()  # nothing listens there
    e2e.write_config(public_url=f"http://127.0.0.1:{port}", serve_port=port)
    Vault.open(e2e.vault_path).set("bc_client_state", generate_client_state())
    code, out, err = e2e.cli("renew-subscriptions")
    assert code != 0
    assert "wcbc serve" in err


# ----------------------------------------------------------------------------- serve's logs stay clean


class _EchoingStore(http.server.BaseHTTPRequestHandler):
    """A store answering every call 401 with our request's Authorization header echoed back (bare, as
    the Basic header, and URL-safe base64), as some proxies and debugging plugins do."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        auth = self.headers.get("Authorization", "")
        token = auth.split(" ", 1)[-1]
        url_safe = base64.urlsafe_b64encode(base64.b64decode(token)).decode().rstrip("=") if token else ""
        body = json.dumps({"code": "rest_forbidden",
                           "message": f"Sorry, not allowed with {token} ({url_safe}); you sent {auth}",
                           "data": {"status": 401, "headers": {"authorization": auth}}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_GET

    def log_message(self, *args: object) -> None:
        pass


def test_serve_logs_and_health_hold_no_secret_when_the_store_echoes_them(e2e: E2E) -> None:
    """A signed delivery makes serve's worker read the order from a store that echoes our credentials:
    the worker's log lines, /healthz and the run summary show the error, never the key, the secret or
    their base64 pair (bare, in the Basic header, URL-safe)."""
    store = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EchoingStore)
    threading.Thread(target=store.serve_forever, daemon=True).start()
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    e2e.write_config(public_url=public, serve_port=port)
    text = re.sub(r'(?m)^url = "https://127\.0\.0\.1:\d+"$',
                  f'url = "http://127.0.0.1:{store.server_port}"\nallow_http = true',
                  e2e.config_path.read_text(), count=1)
    e2e.config_path.write_text(text)
    creds = e2e.sandbox.credentials
    Vault.open(e2e.vault_path).set("bc_client_state", generate_client_state())
    proc = subprocess.Popen([sys.executable, "-m", "wcbc", "--config", str(e2e.config_path), "serve"],
                            env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_until(lambda: _health(public) is not None, 20), "wcbc serve did not come up"
        body = json.dumps({"id": 4242, "status": "processing"}).encode()
        signature = base64.b64encode(hmac.new(creds.webhook_secret.encode(), body, hashlib.sha256).digest())
        answer = requests.post(f"{public}/webhooks/woocommerce", data=body, timeout=10, headers={
            "Content-Type": "application/json", "X-WC-Webhook-Topic": "order.created",
            "X-WC-Webhook-Signature": signature.decode()})
        assert answer.status_code == 200
        assert wait_until(lambda: bool((_health(public) or {}).get("last_error")), 30)
        health = json.dumps(_health(public))
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=20)
        store.shutdown()
        store.server_close()
    pair = f"{creds.consumer_key}:{creds.consumer_secret}".encode()
    forms = {"key": creds.consumer_key, "secret": creds.consumer_secret,
             "basic": base64.b64encode(pair).decode(),
             "url-safe": base64.urlsafe_b64encode(pair).decode().rstrip("="),
             "webhook secret": creds.webhook_secret}
    with State(e2e.state_path) as state:
        runs = json.dumps(state.last_runs(), default=str)
    assert "Sorry, not allowed with ***" in output  # the echo really reached serve's log, masked
    assert "rest_forbidden" in health or "Sorry" in health
    for where, text in {"serve's output": output, "/healthz": health, "run summaries": runs}.items():
        for name, value in forms.items():
            assert value not in text, f"{name} in {where}"


def _health(public: str) -> dict | None:
    try:
        response = requests.get(f"{public}/healthz", timeout=1)
    except requests.RequestException:
        return None
    return response.json() if response.status_code == 200 else None
