"""Status changes and customer notes over HTTPS (woocommerce.md §8.2, §8.4)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wcbc.sandbox.core import SandboxServer
from wcbc.sandbox.woo.app import WooStore, seed_sample


@pytest.fixture
def shop(woo_store: WooStore, woo_server: SandboxServer) -> dict[str, int]:
    return seed_sample(woo_store)


def _paid_order(woo_api: Any) -> dict[str, Any]:
    response = woo_api.post(
        "/orders",
        {
            "set_paid": True,
            "payment_method": "cod",
            "billing": {"first_name": "Ann", "email": "ann@example.test"},
            "line_items": [{"sku": "MUG-001", "quantity": 4}, {"sku": "HOODIE-M", "quantity": 1}],
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def _hook(woo_api: Any, receiver: Any, topic: str, path: str) -> None:
    body = {"topic": topic, "delivery_url": receiver.url(path), "secret": "s3cret"}
    assert woo_api.post("/webhooks", body).status_code == 201


def _stock(woo_api: Any, product_id: int) -> int:
    return int(woo_api.get(f"/products/{product_id}").json()["stock_quantity"])


def test_cancel_restocks_and_fires_order_updated_built_at_delivery(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    order = _paid_order(woo_api)
    assert (_stock(woo_api, shop["mug"]), _stock(woo_api, shop["hoodie_m"])) == (21, 4)
    woo_store.flush_webhooks(5)
    _hook(woo_api, woo_receiver, "order.updated", "/u")
    _hook(woo_api, woo_receiver, "product.updated", "/p")
    woo_store.webhook_delay = 5  # both changes land before the delivery job runs
    woo_store.clock.advance(3)
    response = woo_api.put(f"/orders/{order['id']}", {"status": "cancelled"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    woo_api.put(f"/orders/{order['id']}", {"meta_data": [{"key": "_wcbc_note", "value": "x"}]})
    assert woo_store.flush_webhooks(5)
    assert (_stock(woo_api, shop["mug"]), _stock(woo_api, shop["hoodie_m"])) == (25, 5)
    bodies = [json.loads(r["body"]) for r in woo_receiver.of(path="/u", kind="json")]
    assert len(bodies) == 1  # merged: one delivery, rendered at delivery time (shows the later meta too)
    assert bodies[0]["status"] == "cancelled"
    assert any(m["key"] == "_wcbc_note" for m in bodies[0]["meta_data"])
    assert bodies[0]["refunds"] == []  # cancelling creates no refund
    assert sorted(json.loads(r["body"])["id"] for r in woo_receiver.of(path="/p", kind="json")) == sorted(
        [shop["mug"], shop["hoodie_m"]]
    )
    meta = [m["key"] for li in bodies[0]["line_items"] for m in li["meta_data"]]
    assert "_reduced_stock" not in meta


def test_cancel_after_a_restocked_refund_puts_back_only_the_rest(
    shop: dict[str, int], woo_api: Any, woo_store: WooStore
) -> None:
    order = _paid_order(woo_api)
    mug = order["line_items"][0]
    refund = woo_api.post(
        f"/orders/{order['id']}/refunds",
        {"api_refund": False, "line_items": [{"id": mug["id"], "quantity": 3, "refund_total": "37.50"}]},
    )
    assert refund.status_code == 201 and _stock(woo_api, shop["mug"]) == 24
    woo_api.put(f"/orders/{order['id']}", {"status": "cancelled"})
    assert _stock(woo_api, shop["mug"]) == 25  # not 28


def test_completed_sets_date_completed_and_back_to_processing_keeps_stock(
    shop: dict[str, int], woo_api: Any
) -> None:
    order = _paid_order(woo_api)
    done = woo_api.put(f"/orders/{order['id']}", {"status": "completed"}).json()
    assert done["status"] == "completed" and done["date_completed"] is not None
    assert _stock(woo_api, shop["mug"]) == 21  # reduced once only


def test_status_refunded_creates_a_refund_without_lines_and_a_private_note(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    order = _paid_order(woo_api)
    woo_api.post(f"/orders/{order['id']}/refunds", {"amount": "5.00", "api_refund": False})
    woo_store.flush_webhooks(5)
    _hook(woo_api, woo_receiver, "order.updated", "/u")
    after = woo_api.put(f"/orders/{order['id']}", {"status": "refunded"}).json()
    assert after["status"] == "refunded" and after["total"] == order["total"]
    rest = float(order["total"]) - 5.0
    assert [r["reason"] for r in after["refunds"]] == ["Order fully refunded.", ""]
    assert after["refunds"][0]["total"] == f"-{rest:.2f}"
    refund = woo_api.get(f"/orders/{order['id']}/refunds/{after['refunds'][0]['id']}").json()
    assert refund["line_items"] == [] and refund["refunded_payment"] is False
    assert _stock(woo_api, shop["mug"]) == 21  # no restock
    notes = woo_api.get(f"/orders/{order['id']}/notes").json()
    assert notes[0]["note"].startswith("Order status set to refunded.") and notes[0]["customer_note"] is False
    assert notes[0]["author"] == "system"
    assert woo_store.flush_webhooks(5)
    assert len(woo_receiver.of(path="/u", kind="json")) == 1


def test_failed_status_changes_no_stock(shop: dict[str, int], woo_api: Any) -> None:
    order = _paid_order(woo_api)
    assert woo_api.put(f"/orders/{order['id']}", {"status": "failed"}).json()["status"] == "failed"
    assert _stock(woo_api, shop["mug"]) == 21
    bad = woo_api.put(f"/orders/{order['id']}", {"status": "shipped"})
    assert (bad.status_code, bad.json()["code"]) == (400, "rest_invalid_param")


def test_customer_note_is_stored_listed_mailed_and_fires_nothing(
    shop: dict[str, int], woo_api: Any, woo_receiver: Any, woo_store: WooStore
) -> None:
    order = _paid_order(woo_api)
    woo_store.flush_webhooks(5)
    _hook(woo_api, woo_receiver, "order.updated", "/u")
    woo_store.clock.advance(5)
    note = woo_api.post(
        f"/orders/{order['id']}/notes", {"note": "Shipped with UPS 1Z999", "customer_note": True}
    )
    assert note.status_code == 201
    assert list(note.json()) == [
        "id",
        "author",
        "date_created",
        "date_created_gmt",
        "note",
        "customer_note",
        "_links",
    ]
    assert (note.json()["customer_note"], note.json()["author"]) == (True, "system")
    mine = woo_api.post(f"/orders/{order['id']}/notes", {"note": "internal", "added_by_user": True}).json()
    assert (mine["customer_note"], mine["author"]) == (False, "admin")
    assert [
        n["note"] for n in woo_api.get(f"/orders/{order['id']}/notes", params={"type": "customer"}).json()
    ] == ["Shipped with UPS 1Z999"]
    assert [
        n["note"] for n in woo_api.get(f"/orders/{order['id']}/notes", params={"type": "internal"}).json()
    ] == ["internal"]
    assert len(woo_api.get(f"/orders/{order['id']}/notes").json()) == 2
    bad = woo_api.get(f"/orders/{order['id']}/notes", params={"type": "private"})
    assert (bad.status_code, bad.json()["code"]) == (400, "rest_invalid_param")
    assert woo_store.flush_webhooks(5)
    assert woo_receiver.of(kind="json") == []
    assert woo_api.get(f"/orders/{order['id']}").json()["date_modified"] == order["date_modified"]
    assert [(e["to"], e["template"], e["note"]) for e in woo_store.sent_emails()] == [
        ("ann@example.test", "customer_note", "Shipped with UPS 1Z999")
    ]
    missing = woo_api.post("/orders/999999/notes", {"note": "x", "customer_note": True})
    assert (missing.status_code, missing.json()["code"]) == (404, "woocommerce_rest_order_invalid_id")
