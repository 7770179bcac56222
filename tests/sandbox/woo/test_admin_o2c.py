"""Admin knobs for order-to-cash flows over /__admin/ (HTTPS): refunds as a shop manager makes them in
wp-admin, cancellations, marking paid, the extension switch, the e-mail outbox and the refund fault."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from wcbc.sandbox.core import SandboxServer, TLSFiles
from wcbc.sandbox.woo.app import WooStore, seed_sample


@pytest.fixture
def shop(woo_store: WooStore, woo_server: SandboxServer) -> dict[str, int]:
    return seed_sample(woo_store)


class Admin:
    def __init__(self, server: SandboxServer, tls: TLSFiles) -> None:
        self.base, self.verify = server.url + "/__admin", str(tls.ca_path)

    def post(self, path: str, body: Any = None) -> requests.Response:
        return requests.post(self.base + path, json=body or {}, verify=self.verify, timeout=30)

    def get(self, path: str) -> requests.Response:
        return requests.get(self.base + path, verify=self.verify, timeout=30)


@pytest.fixture
def admin(woo_server: SandboxServer, woo_tls: TLSFiles) -> Admin:
    return Admin(woo_server, woo_tls)


def _unpaid_order(admin: Admin, payment_method: str = "bacs") -> dict[str, Any]:
    response = admin.post(
        "/orders",
        {
            "status": "on-hold",
            "set_paid": False,
            "payment_method": payment_method,
            "billing": {"first_name": "Bo", "email": "bo@example.test"},
            "line_items": [{"sku": "MUG-001", "quantity": 2}, {"sku": "TSHIRT-001", "quantity": 1}],
            "shipping_lines": [{"method_id": "flat_rate", "total": "5.00"}],
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_mark_paid_sets_date_paid_transaction_and_processing(
    shop: dict[str, int], admin: Admin, woo_api: Any
) -> None:
    order = _unpaid_order(admin)
    assert order["date_paid"] is None and order["status"] == "on-hold"
    paid = admin.post(
        f"/orders/{order['id']}/paid",
        {
            "transaction_id": "ch_3Nabc",
            "payment_method": "stripe",
            "payment_method_title": "Credit card (Stripe)",
            "date_paid": "2026-12-01T10:00:00+00:00",
        },
    )
    assert paid.status_code == 200, paid.text
    seen = woo_api.get(f"/orders/{order['id']}").json()
    assert (seen["status"], seen["transaction_id"], seen["payment_method"]) == (
        "processing",
        "ch_3Nabc",
        "stripe",
    )
    assert (seen["payment_method_title"], seen["date_paid_gmt"]) == (
        "Credit card (Stripe)",
        "2026-12-01T10:00:00",
    )
    assert (
        int(woo_api.get(f"/products/{shop['mug']}").json()["stock_quantity"]) == 23
    )  # on-hold reduced it once


def test_admin_refund_with_and_without_restock(shop: dict[str, int], admin: Admin, woo_api: Any) -> None:
    order = _unpaid_order(admin)
    admin.post(f"/orders/{order['id']}/paid", {"transaction_id": "t1"})
    kept = admin.post(
        f"/orders/{order['id']}/refunds",
        {"reason": "kept", "line_items": [{"sku": "MUG-001", "quantity": 1}], "restock": False},
    )
    assert kept.status_code == 201, kept.text
    assert (kept.json()["amount"], kept.json()["refunded_payment"]) == (
        "13.41",
        False,
    )  # pre-filled 12.50+0.91
    assert int(woo_api.get(f"/products/{shop['mug']}").json()["stock_quantity"]) == 23
    back = admin.post(
        f"/orders/{order['id']}/refunds",
        {"reason": "back", "line_items": [{"sku": "MUG-001", "quantity": 1}]},
    )
    assert back.status_code == 201
    assert int(woo_api.get(f"/products/{shop['mug']}").json()["stock_quantity"]) == 24
    listed = admin.get(f"/orders/{order['id']}/refunds").json()
    assert [r["reason"] for r in listed] == ["back", "kept"]
    assert woo_api.get(f"/orders/{order['id']}/refunds").json() == listed
    shipping = admin.post(
        f"/orders/{order['id']}/refunds",
        {"line_items": [{"id": order["shipping_lines"][0]["id"], "refund_total": "5.00"}], "reason": "ship"},
    )
    assert shipping.json()["shipping_lines"][0]["total"] == "-5.00"
    # the gateway way refuses for an offline gateway, as REST does
    refused = admin.post(f"/orders/{order['id']}/refunds", {"amount": "1.00", "refund_payment": True})
    assert (
        refused.status_code == 500 and refused.json()["code"] == "woocommerce_rest_cannot_create_order_refund"
    )


def test_admin_cancel_restocks_and_fires_order_updated(
    shop: dict[str, int], admin: Admin, woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    order = _unpaid_order(admin)
    woo_store.flush_webhooks(5)
    hook = {"topic": "order.updated", "delivery_url": woo_receiver.url("/u"), "secret": "s"}
    assert woo_api.post("/webhooks", hook).status_code == 201
    cancelled = admin.post(f"/orders/{order['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert int(woo_api.get(f"/products/{shop['mug']}").json()["stock_quantity"]) == 25
    assert woo_store.flush_webhooks(5)
    assert [json.loads(r["body"])["status"] for r in woo_receiver.of(path="/u", kind="json")] == ["cancelled"]
    status = admin.post(f"/orders/{order['id']}/status", {"status": "completed"})
    assert status.json()["status"] == "completed" and status.json()["date_completed"] is not None
    bad = admin.post(f"/orders/{order['id']}/status", {"status": "shipped"})
    assert bad.status_code == 400


def test_extension_switch_outbox_and_refund_fault(shop: dict[str, int], admin: Admin, woo_api: Any) -> None:
    assert admin.post("/extensions", {"shipment_tracking": True}).json() == {"shipment_tracking": True}
    order = _unpaid_order(admin, payment_method="stripe")
    woo_api.post(f"/orders/{order['id']}/notes", {"note": "On its way", "customer_note": True})
    assert [(e["to"], e["note"]) for e in admin.get("/emails").json()] == [("bo@example.test", "On its way")]
    providers = woo_api.session.get(
        woo_api.base.replace("/wc/v3", "/wc-shipment-tracking/v3") + "/shipment-trackings/providers",
        verify=woo_api.verify,
        timeout=30,
    )
    assert providers.status_code == 200
    faults = admin.post("/faults", {"refund_error": "Gateway timeout"}).json()
    assert faults["refund_error"] == "Gateway timeout"
    refused = woo_api.post(f"/orders/{order['id']}/refunds", {"amount": "1.00"})
    assert (refused.status_code, refused.json()["message"]) == (500, "Gateway timeout")
    admin.post("/faults", {"refund_error": None})
    ok = woo_api.post(f"/orders/{order['id']}/refunds", {"amount": "1.00"})
    assert ok.status_code == 201 and ok.json()["refunded_payment"] is True
    state = admin.get("/state").json()
    assert (state["refunds"], state["shipment_tracking"], state["emails"]) == (1, True, 1)
    unknown = admin.post("/orders/999999/cancel")
    assert unknown.status_code == 400
