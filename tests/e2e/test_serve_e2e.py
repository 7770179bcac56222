"""`wcbc serve` as a real process: webhooks in, BC documents and product updates out, health checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.conftest import E2E
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
